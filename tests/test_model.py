"""CharLSTM shapes, one-step sampling equals the full forward, config validation."""

from __future__ import annotations

import pytest
import torch

from musicrnn.model import CharLSTM, ModelConfig


def _model(**kw) -> CharLSTM:
    torch.manual_seed(0)
    return CharLSTM(ModelConfig(vocab_size=11, hidden=16, layers=2, embed=8, dropout=0.2, **kw)).eval()


def test_forward_shapes_and_state():
    m = _model()
    idx = torch.randint(0, 11, (3, 7))
    logits, (h, c) = m(idx)
    assert logits.shape == (3, 7, 11)
    assert h.shape == c.shape == (2, 3, 16)
    h0, c0 = m.init_state(3, "cpu")
    assert h0.shape == (2, 3, 16) and not h0.any() and not c0.any()
    # a zero state is the same as no state
    assert torch.allclose(m(idx, (h0, c0))[0], logits)
    assert m.num_params() == m.config.num_params()


def test_step_equals_forward():
    m = _model()
    idx = torch.randint(0, 11, (4, 9))
    full, (h_full, c_full) = m(idx)
    state = m.init_state(4, "cpu")
    for t in range(idx.shape[1]):
        logits, state = m.step(idx[:, t], state)
        assert logits.shape == (4, 11)
        assert torch.allclose(logits, full[:, t], atol=1e-5)
    assert torch.allclose(state[0], h_full, atol=1e-5) and torch.allclose(state[1], c_full, atol=1e-5)


def test_state_carries_across_windows():
    m = _model()
    idx = torch.randint(0, 11, (2, 12))
    full, _ = m(idx)
    a, state = m(idx[:, :5])
    b, _ = m(idx[:, 5:], state)
    assert torch.allclose(torch.cat([a, b], 1), full, atol=1e-5)


def test_config_round_trip_and_validation():
    c = ModelConfig(vocab_size=90, hidden=256, layers=3, embed=32, dropout=0.0)
    assert ModelConfig.from_dict(c.to_dict()) == c
    assert ModelConfig.from_dict({"vocab_size": 5, "dropout": 0}).dropout == 0.0
    bad = [
        [],  # not an object
        {"hidden": 8},  # no vocab_size
        {"vocab_size": "90"},  # wrong type
        {"vocab_size": 90, "layers": True},  # bool is not an int here
        {"vocab_size": 90, "hidden": 2.5},
        {"vocab_size": 90, "hidden": 10**9},  # out of range
        {"vocab_size": 0},
        {"vocab_size": 90, "dropout": 1.5},
        {"vocab_size": 90, "heads": 4},  # unknown key
    ]
    for d in bad:
        with pytest.raises(ValueError):
            ModelConfig.from_dict(d)
