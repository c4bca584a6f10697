"""Baselines a char-LSTM must beat: a smoothed character n-gram, and xz.

Both answer "how many bits per character does this predictor need for the
held-out text, having seen the training text?", the same number
`evaluate.model_bits_per_char` gives for a model.

The n-gram is interpolated Kneser-Ney with modified discounts (Chen & Goodman,
1998), for every order at once:

    P_k(c | h) = (count(h c) - D(count(h c))) / count(h .)
                 + gamma(h) * P_{k-1}(c | h minus its first char)
    gamma(h)   = (D1 * N1(h .) + D2 * N2(h .) + D3 * N3+(h .)) / count(h .)

where the top order uses raw counts and every lower order uses continuation
counts (how many different characters precede the n-gram), and N1/N2/N3+ count
the characters that follow h once, twice, three or more times.  A context never
seen gives way to the next lower order.  Under order 1 sits a uniform
distribution over the training alphabet plus one escape symbol, which every
character unseen in training maps to: such characters cost many bits but the
total stays finite.

Speed: n-grams are integer codes in numpy arrays (exact base-(V+1) numbers
while they fit in 64 bits, a multiplicative hash beyond), counted with
np.unique and looked up with np.searchsorted, one order at a time, so a 5 MB
training text takes seconds per order and memory stays a few arrays of its
length.  `best_ngram` scores all orders in one pass.
"""

from __future__ import annotations

import lzma
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from encoders import UsageError

__all__ = ["ngram_bits_per_char", "best_ngram", "xz_bits_per_char", "xz_alone_bits_per_char"]

_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd, 64-bit golden ratio: mixes well when codes overflow


# ---------------------------------------------------------------------------
# characters -> ids -> n-gram codes


def _ids(text: str, index: dict[str, int], unknown: int) -> np.ndarray:
    """Character ids of a text; characters outside `index` get `unknown`."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    alphabet = np.array(sorted(ord(ch) for ch in index), dtype=np.uint32)
    pos = np.searchsorted(alphabet, points)
    pos = np.minimum(pos, len(alphabet) - 1)
    return np.where(alphabet[pos] == points, pos, unknown).astype(np.uint64)


def _next_codes(codes: np.ndarray, ids: np.ndarray, k: int, mult: np.uint64) -> np.ndarray:
    """Codes of the k-grams from those of the (k-1)-grams: code * mult + next id.

    With codes[i] the (k-1)-gram starting at i (len(ids) - k + 2 of them), the
    result has len(ids) - k + 1 entries, the k-gram starting at i."""
    with np.errstate(over="ignore"):
        return codes[:-1] * mult + ids[k - 1 :]


@dataclass
class _Level:
    """One order's statistics, sorted by code for searchsorted."""

    grams: np.ndarray  # codes of the n-grams (context + char)
    counts: np.ndarray  # their counts (raw or continuation)
    contexts: np.ndarray  # codes of the contexts
    totals: np.ndarray  # sum of counts of each context's n-grams
    gammas: np.ndarray  # back-off weight numerator D1*N1 + D2*N2 + D3*N3+ per context
    discounts: np.ndarray  # [0, D1, D2, D3]


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Modified Kneser-Ney discounts from the count-of-counts n1..n4 (clamped sane for tiny data)."""
    n = [int(np.count_nonzero(counts == r)) for r in (1, 2, 3, 4)]
    if min(n[:3]) == 0:
        return np.array([0.0, 0.5, 1.0, 1.5])  # too little data for estimates: plain, safe values
    y = n[0] / (n[0] + 2 * n[1])
    d = [1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]]
    return np.array([0.0] + [min(max(x, 0.05), r) for r, x in zip((1, 2, 3), d)])


def _level(grams_at: np.ndarray, counts: np.ndarray, contexts_of: np.ndarray) -> _Level:
    """Group n-grams (sorted unique codes with counts) by their context codes."""
    disc = _discounts(counts)
    d_of_count = disc[np.minimum(counts, 3)]
    contexts, inverse = np.unique(contexts_of, return_inverse=True)
    totals = np.bincount(inverse, weights=counts, minlength=len(contexts))
    gammas = np.bincount(inverse, weights=d_of_count, minlength=len(contexts))
    return _Level(grams_at, counts, contexts, totals, gammas, disc)


def _raw_level(ctx_codes: np.ndarray, gram_codes: np.ndarray) -> _Level:
    """Top order: raw counts of every k-gram of the training text."""
    grams, first, counts = np.unique(gram_codes, return_index=True, return_counts=True)
    return _level(grams, counts, ctx_codes[first])


def _continuation_level(ctx_codes: np.ndarray, gram_codes: np.ndarray, longer_codes: np.ndarray) -> _Level:
    """Lower order: a k-gram's count is how many different characters precede it.

    longer_codes are the (k+1)-grams; the one starting at i ends with the
    k-gram starting at i + 1."""
    _, first_longer = np.unique(longer_codes, return_index=True)
    suffix_pos = first_longer + 1
    grams, first, counts = np.unique(gram_codes[suffix_pos], return_index=True, return_counts=True)
    return _level(grams, counts, ctx_codes[suffix_pos[first]])


def _lookup(sorted_codes: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of queries in sorted_codes, and which were found."""
    if len(sorted_codes) == 0:
        return np.zeros(len(queries), dtype=np.int64), np.zeros(len(queries), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_codes, queries), len(sorted_codes) - 1)
    return pos, sorted_codes[pos] == queries


def _interpolate(level: _Level, test_ctx: np.ndarray, test_grams: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """P_k for the test positions that have a full context (the last len(test_grams) ones).

    `lower` holds P_{k-1} for those positions; unseen contexts keep it."""
    cpos, cfound = _lookup(level.contexts, test_ctx)
    gpos, gfound = _lookup(level.grams, test_grams)
    count = np.where(gfound, level.counts[gpos], 0)
    total = level.totals[cpos]
    cfound &= total > 0
    safe_total = np.where(cfound, total, 1.0)
    own = np.maximum(count - level.discounts[np.minimum(count, 3)], 0.0) / safe_total
    gamma = level.gammas[cpos] / safe_total
    return np.where(cfound, own + gamma * lower, lower)


# ---------------------------------------------------------------------------
# scoring


def _bits_by_order(train_text: str, test_text: str, orders: Iterable[int]) -> Iterator[tuple[int, float]]:
    """(order, bits per char) for each wanted order, all from one pass over the orders."""
    wanted = sorted(set(orders))
    if not wanted or wanted[0] < 1:
        raise UsageError(f"n-gram orders must be >= 1, got {wanted}")
    if not train_text or not test_text:
        raise UsageError("n-gram needs a non-empty training text and test text")
    index = {ch: i for i, ch in enumerate(sorted(set(train_text)))}
    V = len(index)
    base = V + 1  # ids 0..V-1 are training chars, V is the escape
    top = wanted[-1]
    mult = np.uint64(base) if base**top < 2**63 else _HASH_MULTIPLIER

    tr = _ids(train_text, index, V)
    te = _ids(test_text, index, V)
    T = len(te)
    # Codes of the j-grams, j = 0 (the empty context, all zero) upward; "next" is one order above.
    tr_prev = np.zeros(len(tr) + 1, np.uint64)
    te_prev = np.zeros(T + 1, np.uint64)
    tr_cur = _next_codes(tr_prev, tr, 1, mult)
    te_cur = _next_codes(te_prev, te, 1, mult)

    p = np.full(T, 1.0 / base)  # P_0: uniform over the alphabet + escape
    for k in range(1, top + 1):
        # Test position i is predicted at order k when it has k - 1 chars before it.
        n_full = max(T - k + 1, 0)
        ctx_t, gram_t = te_prev[:n_full], te_cur[:n_full]
        if k in wanted and len(tr_cur):
            raw = _raw_level(tr_prev, tr_cur)
            p_top = p.copy()
            p_top[k - 1 :] = _interpolate(raw, ctx_t, gram_t, p[k - 1 :])
            del raw
            yield k, float(-np.log2(p_top).mean())
        elif k in wanted:
            yield k, float(-np.log2(p).mean())
        if k == top:
            break
        tr_next = _next_codes(tr_cur, tr, k + 1, mult)
        if len(tr_next):
            cont = _continuation_level(tr_prev, tr_cur, tr_next)
            p[k - 1 :] = _interpolate(cont, ctx_t, gram_t, p[k - 1 :])
            del cont
        tr_prev, tr_cur = tr_cur, tr_next
        te_prev, te_cur = te_cur, _next_codes(te_cur, te, k + 1, mult)


def ngram_bits_per_char(train_text: str, test_text: str, order: int) -> float:
    """Bits per character of test_text under an interpolated Kneser-Ney char n-gram of `order`
    (order 1 = unigram) trained on train_text.  Every test character is scored, the first
    ones with the shorter contexts they have."""
    return next(_bits_by_order(train_text, test_text, [order]))[1]


def best_ngram(
    train_text: str,
    test_text: str,
    orders: Iterable[int] = range(1, 9),
    on_order: Callable[[int], None] | None = None,
) -> tuple[int, float, dict[int, float]]:
    """(best order, its bits per char, {order: bits per char}) over `orders`; `on_order(k)` is
    told as each order is scored, lowest first."""
    by_order = {}
    for k, bits in _bits_by_order(train_text, test_text, orders):
        by_order[k] = bits
        if on_order is not None:
            on_order(k)
    best = min(by_order, key=by_order.get)
    return best, by_order[best], by_order


# ---------------------------------------------------------------------------
# xz


def _xz_len(data: bytes) -> int:
    return len(lzma.compress(data, format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME))


def xz_bits_per_char(train_text: str, test_text: str) -> float:
    """Conditional xz -9e: the extra compressed bits the test text costs after the
    training text, per test character (xz's 64 MiB window sees all of a few-MB train)."""
    if not test_text:
        raise UsageError("test text is empty")
    train = train_text.encode("utf-8")
    both = train + test_text.encode("utf-8")
    return (_xz_len(both) - _xz_len(train)) * 8 / len(test_text)


def xz_alone_bits_per_char(test_text: str) -> float:
    """Unconditional xz -9e of the test text alone, bits per character (container overhead included)."""
    if not test_text:
        raise UsageError("test text is empty")
    return _xz_len(test_text.encode("utf-8")) * 8 / len(test_text)


if __name__ == "__main__":  # python -m musicrnn.ngram TRAIN TEST: time the baselines
    import sys
    import time

    train, test = (open(p, encoding="utf-8").read() for p in sys.argv[1:3])
    t0 = time.perf_counter()
    order, bpc, table = best_ngram(train, test)
    print(
        f"n-gram: {', '.join(f'{k}:{v:.3f}' for k, v in table.items())}  best {order} {bpc:.3f}"
        f"  ({time.perf_counter() - t0:.1f} s)"
    )
    t0 = time.perf_counter()
    print(
        f"xz: conditional {xz_bits_per_char(train, test):.3f}, alone {xz_alone_bits_per_char(test):.3f}"
        f"  ({time.perf_counter() - t0:.1f} s)"
    )
