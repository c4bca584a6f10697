"""The character-level LSTM: embedding -> nn.LSTM -> dropout -> linear head.

    ids [B, T] --Embedding--> [B, T, embed] --LSTM x layers--> [B, T, hidden]
        --Dropout--> --Linear--> logits [B, T, vocab]

A model with `positions` also reads where each character stands in its piece (`where`
[B, T], a scheme's `GrammarState.position()` after that character: for ABC the bar of the
strain and of the tune), as a second embedding added to the character's.  The grammar says
it while sampling and the same grammar, run over the corpus, says it in training, so the
model learns where strains and tunes end instead of counting bars on its own.

nn.LSTM runs as one fused kernel (cuDNN on CUDA, oneDNN/ATen on CPU), so the
model adds no Python work per character.  The recurrent state is a (h, c)
pair of [layers, B, hidden] tensors that the caller carries from one window of
text to the next (training) or from one character to the next (sampling).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn as nn

from encoders import UsageError

__all__ = ["CharLSTM", "ModelConfig", "State", "needs_positions", "reads_positions"]

State = tuple[torch.Tensor, torch.Tensor]

# Sane ranges for configs read from files: (low, high) inclusive.
_LIMITS: dict[str, tuple[float, float]] = {
    "vocab_size": (1, 65536),
    "hidden": (1, 16384),
    "layers": (1, 32),
    "embed": (1, 16384),
    "dropout": (0.0, 0.99),
    "positions": (0, 4096),
}


@dataclass
class ModelConfig:
    vocab_size: int
    hidden: int = 512
    layers: int = 2
    embed: int = 64
    dropout: float = 0.1
    positions: int = 0
    """Positions the model reads beside each character (0: none; see the module docstring)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> ModelConfig:
        """A config from a JSON object; ValueError names any wrong key, type or value."""
        if not isinstance(d, dict):
            raise UsageError(f"model config must be a JSON object, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UsageError(f"model config has unknown keys: {', '.join(unknown)}")
        if "vocab_size" not in d:
            raise UsageError("model config lacks vocab_size")
        values: dict[str, Any] = {}
        for name, value in d.items():
            low, high = _LIMITS[name]
            if name == "dropout":
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                value = float(value) if ok else value
            else:
                ok = isinstance(value, int) and not isinstance(value, bool)
            if not ok:
                raise UsageError(f"model config {name} must be a number of the right kind, got {value!r}")
            if not low <= value <= high:
                raise UsageError(f"model config {name}={value!r} is out of range [{low}, {high}]")
            values[name] = value
        return cls(**values)

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every tensor in CharLSTM(self).state_dict(), computed
        without building the model (so a file's claims are checked before memory is spent)."""
        V, H, L, E = self.vocab_size, self.hidden, self.layers, self.embed
        shapes: dict[str, tuple[int, ...]] = {"embed.weight": (V, E)}
        if self.positions:
            shapes["where.weight"] = (self.positions, E)
        for k in range(L):
            shapes[f"lstm.weight_ih_l{k}"] = (4 * H, E if k == 0 else H)
            shapes[f"lstm.weight_hh_l{k}"] = (4 * H, H)
            shapes[f"lstm.bias_ih_l{k}"] = (4 * H,)
            shapes[f"lstm.bias_hh_l{k}"] = (4 * H,)
        shapes["head.weight"] = (V, H)
        shapes["head.bias"] = (V,)
        return shapes

    def num_params(self) -> int:
        """Parameter count, computed without building the model."""
        V, H, L, E = self.vocab_size, self.hidden, self.layers, self.embed
        lstm = 4 * H * (E + H + 2) + (L - 1) * 4 * H * (H + H + 2)
        return V * E + lstm + H * V + V + self.positions * E


def reads_positions(model: Any) -> bool:
    """Whether `model` reads each character's position in its piece (a CharLSTM with positions)."""
    return bool(getattr(getattr(model, "config", None), "positions", 0))


def needs_positions(model: Any, grammar: Any) -> bool:
    """Whether `model` reads each character's position in its piece; UsageError when it does and
    there is no `grammar` (a factory of the scheme's grammar states) to tell them."""
    if not reads_positions(model):
        return False
    if grammar is None:
        raise UsageError("this model reads where each character stands in its piece, which the scheme's grammar tells")
    return True


class CharLSTM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed)
        if c.positions:
            # zero at first: a model fine-tuned to read positions starts as its base was
            self.where = nn.Embedding(c.positions, c.embed)
            nn.init.zeros_(self.where.weight)
        self.lstm = nn.LSTM(
            input_size=c.embed,
            hidden_size=c.hidden,
            num_layers=c.layers,
            dropout=c.dropout if c.layers > 1 else 0.0,  # between layers only
            batch_first=True,
        )
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, c.vocab_size)
        self._init_weights()

    def _init_weights(self) -> None:
        # PyTorch's LSTM default (uniform +-1/sqrt(hidden)) is fine; a forget-gate
        # bias of 1 helps the cell remember across long pieces early in training.
        H = self.config.hidden
        for name, p in self.lstm.named_parameters():
            if name.startswith("bias_ih"):
                with torch.no_grad():
                    p[H : 2 * H].fill_(1.0)  # gate order: input, forget, cell, output
            elif name.startswith("bias_hh"):
                with torch.no_grad():
                    p[H : 2 * H].zero_()

    def init_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Zero (h, c), each [layers, batch_size, hidden]."""
        if device is None:
            device = self.head.weight.device
        shape = (self.config.layers, batch_size, self.config.hidden)
        return (torch.zeros(shape, device=device), torch.zeros(shape, device=device))

    def inputs(self, idx: torch.Tensor, where: torch.Tensor | None = None) -> torch.Tensor:
        """The LSTM's input for ids (and, for a model with positions, their positions `where`,
        the same shape: ValueError without them)."""
        x = self.embed(idx)
        if self.config.positions:
            if where is None:
                raise ValueError("this model reads each character's position in its piece: give `where`")
            x = x + self.where(where)
        return x

    def forward(
        self, idx: torch.Tensor, state: State | None = None, where: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        """Logits [B, T, vocab] for ids [B, T] (at positions `where` [B, T], for a model with
        positions), and the state after the last character."""
        out, state = self.lstm(self.inputs(idx, where), state)
        logits = self.head(self.drop(out))
        return logits, state

    def step(
        self, idx: torch.Tensor, state: State | None = None, where: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        """One character per stream: ids [B] (at positions `where` [B]) -> logits [B, vocab] and
        the new state."""
        logits, state = self.forward(idx[:, None], state, None if where is None else where[:, None])
        return logits[:, 0], state

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
