"""Introspection arrays for the viewer, and the vanishing-gradient demonstration (notes 003)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from lecture_rl.nets import make_backbone
from lecture_rl.nets.introspection import trace_backbone
from lecture_rl.nets.vanishing_gradient import measure_gradient_norms, run_demo

SPACE = spaces.Discrete(4)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_trace_matches_the_fast_module(cell):
    torch.manual_seed(0)
    bb = make_backbone(cell, SPACE, hidden_size=6, num_layers=2)
    obs = torch.randint(0, 4, (9, 3))
    starts = torch.zeros(9, 3, dtype=torch.bool)
    starts[5, 1] = True
    trace = trace_backbone(bb, obs, starts)
    feats, _ = bb.forward_sequence(obs, bb.initial_state(3), starts)
    np.testing.assert_allclose(trace["features"], feats.detach().numpy(), atol=1e-5)
    assert trace["hidden"].shape == (9, 3, 2, 6)
    gates = {
        "lstm": ["forget_gate", "input_gate", "candidate", "output_gate", "cell"],
        "gru": ["reset_gate", "update_gate", "candidate"],
        "rnn": [],
    }[cell]
    for key in gates:
        assert trace[key].shape == (9, 3, 2, 6)
    for key in ("forget_gate", "input_gate", "output_gate", "reset_gate", "update_gate"):
        if key in trace:  # sigmoid gates live in (0, 1)
            assert np.all((trace[key] > 0) & (trace[key] < 1))
    if cell == "lstm":  # h^(t) = o_t ⊙ tanh(C^(t))
        np.testing.assert_allclose(
            trace["hidden"], trace["output_gate"] * np.tanh(trace["cell"]), atol=1e-6
        )


def test_trace_transformer_attention_per_head():
    torch.manual_seed(0)
    bb = make_backbone("transformer", SPACE, d_model=8, num_heads=2, num_layers=2, context=4)
    obs = torch.randint(0, 4, (7, 2))
    starts = torch.zeros(7, 2, dtype=torch.bool)
    starts[3, 0] = True
    trace = trace_backbone(bb, obs, starts)
    att = trace["attention"]
    assert att.shape == (2, 2, 2, 7, 7)  # layers, batch, heads, query step, key step
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(np.ones((7, 7)), k=1)[None, None, None] * att == 0)  # causal
    assert np.all(att[:, 0, :, 3:, :3] == 0)  # env 0 restarted at step 3
    assert np.all(att[:, :, :, 6, :3] == 0)  # context 4: step 6 sees steps 3..6 only
    feats, _ = bb.forward_sequence(obs, bb.initial_state(2), starts)
    np.testing.assert_allclose(trace["features"], feats.detach().numpy(), atol=1e-5)


def test_rnn_gradient_vanishes_much_faster_than_lstm():
    norms = {
        c: measure_gradient_norms(c, seq_len=60, hidden_size=16, trials=4) for c in ("rnn", "lstm")
    }
    for values in norms.values():
        assert values.shape == (60,) and np.all(np.isfinite(values))
        assert values[0] < values[-1]  # farther from the loss: smaller gradient
    far = 40  # ||dL/dh_k|| 40 steps back, relative to the last step
    rnn_ratio = norms["rnn"][-1 - far] / norms["rnn"][-1]
    lstm_ratio = norms["lstm"][-1 - far] / norms["lstm"][-1]
    assert rnn_ratio < 1e-3 * lstm_ratio
    # same seed, same numbers
    np.testing.assert_array_equal(norms["rnn"], measure_gradient_norms("rnn", 60, 16, trials=4))


def test_large_recurrent_weights_explode_instead():
    """Notes 003: "Exploding gradient -> scaling down works -> Gradient clipping"."""
    norms = measure_gradient_norms("rnn", seq_len=40, hidden_size=16, trials=4, recurrent_scale=4)
    assert norms[0] > 100 * norms[-1]


def test_run_demo_writes_the_plot(tmp_path):
    out = tmp_path / "plots" / "vg.png"
    norms = run_demo(seq_len=30, hidden_size=8, seed=1, out_path=out)
    assert set(norms) == {"rnn", "gru", "lstm"}
    assert out.exists() and out.read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp file left
    with pytest.raises(ValueError, match="cell must be one of"):
        measure_gradient_norms("lstn")
