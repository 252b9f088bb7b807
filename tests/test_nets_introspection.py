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


# ------------------------------------------------------------------------------ the CNN


def hand_set_cnn(space):
    """One 3x3 filter that reads only its centre pixel (weight 2, bias 0.1), ReLU, 2x2 max
    pooling, global average pooling, then y = the pooled mean: ∂y/∂x is known by hand."""
    from lecture_rl.nets.cnn import CNNBackbone

    bb = CNNBackbone(space, channels=(1,), output_dim=1, global_pool="avg", first_stride=1)
    with torch.no_grad():
        conv = bb.body.blocks[0]
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1] = 2.0
        conv.bias.fill_(0.1)
        bb.body.dense.weight.fill_(1.0)
        bb.body.dense.bias.zero_()
    head = torch.nn.Linear(1, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0], [-3.0]]))
        head.bias.zero_()
    return bb, head


def test_cnn_saliency_is_the_gradient_of_the_chosen_score():
    space = spaces.Box(0, 255, (4, 6, 1), np.uint8)  # 2 x 3 cells of 2 x 2 pixels
    bb, head = hand_set_cnn(space)
    rng = np.random.default_rng(0)
    obs = rng.permutation(256)[: 3 * 24].reshape(3, 1, 4, 6, 1).astype(np.uint8)  # distinct
    actions = np.array([[0], [1], [0]])
    trace = trace_backbone(bb, obs, head=head, actions=actions, cells=(2, 3))
    assert trace["saliency"].shape == (3, 1, 4, 6)
    np.testing.assert_array_equal(trace["saliency_action"], actions)
    # by hand: y = mean over the 6 pooling blocks of max(2x + 0.1), x = obs / 255, so
    # |∂y/∂x| = 2/6 at each block's largest pixel (times |head weight| of the action), else 0:
    # "max pooling backprop: gradient passes only to the max-value unit" (notes 000 §1.b)
    for t in range(3):
        image = obs[t, 0, :, :, 0].astype(float)
        blocks = image.reshape(2, 2, 3, 2).transpose(0, 2, 1, 3).reshape(6, 4)
        expected = np.zeros((6, 4))
        expected[np.arange(6), blocks.argmax(1)] = 2.0 / 6 * (1.0 if actions[t, 0] == 0 else 3.0)
        expected = expected.reshape(2, 3, 2, 2).transpose(0, 2, 1, 3).reshape(4, 6)
        np.testing.assert_allclose(trace["saliency"][t, 0], expected, atol=1e-6)
        # a grid cell's saliency is the sum over its pixels (here a cell = a pooling block)
        np.testing.assert_allclose(
            trace["saliency_cells"][t, 0], expected.reshape(2, 2, 3, 2).sum((1, 3)), atol=1e-6
        )
    # the same numbers from autograd, one image at a time, through the module's own forward
    for t in range(3):
        x = (torch.as_tensor(obs[t], dtype=torch.float32) / 255).permute(0, 3, 1, 2)
        x.requires_grad_(True)
        y = head(bb.body(x))[0, int(actions[t, 0])]
        (grad,) = torch.autograd.grad(y, x)
        np.testing.assert_allclose(trace["saliency"][t, 0], grad.abs().sum(1)[0].numpy(), 1e-6)


def test_cnn_trace_maps_and_saliency_per_grid_cell():
    import gymnasium as gym

    import lecture_rl.envs  # noqa: F401

    env = gym.make("LectureRL/GridWorld-v0", map_name="maze", obs_mode="image")  # 7 x 7, 42 px
    torch.manual_seed(0)
    bb = make_backbone("cnn", env.observation_space, hidden_size=16, channels=(5, 8))
    head = torch.nn.Linear(16, 4)
    frames = [env.reset(seed=0)[0]] + [env.step(a)[0] for a in (1, 1, 2, 2)]
    obs = np.stack(frames).reshape(5, 1, 42, 42, 3)
    params = [p.detach().clone() for p in bb.parameters()]
    trace = trace_backbone(bb, obs, head=head, cells=(7, 7))
    assert trace["conv1"].shape == (5, 1, 5, 21, 21)  # conv1's 5 channels, stride 2
    assert trace["conv1_cells"].shape == (5, 1, 5, 7, 7)  # ... at the grid's resolution
    assert trace["saliency"].shape == (5, 1, 42, 42)
    assert trace["saliency_cells"].shape == (5, 1, 7, 7)
    feats, _ = bb.forward_sequence(obs)
    np.testing.assert_allclose(trace["features"], feats.detach().numpy(), atol=1e-6)
    first = torch.relu(bb.body.blocks[0](bb.preprocess(torch.as_tensor(obs[:, 0]))))
    np.testing.assert_allclose(trace["conv1"][:, 0], first.detach().numpy(), atol=1e-6)
    # a cell is 3 x 3 conv1 outputs and 6 x 6 pixels: its mean and its sum
    np.testing.assert_allclose(
        trace["conv1_cells"], trace["conv1"].reshape(5, 1, 5, 7, 3, 7, 3).mean((4, 6)), atol=1e-6
    )
    np.testing.assert_allclose(
        trace["saliency_cells"], trace["saliency"].reshape(5, 1, 7, 6, 7, 6).sum((3, 5)), 1e-5
    )
    greedy = head(feats[:, 0]).argmax(-1).numpy()  # no actions given: the greedy one
    np.testing.assert_array_equal(trace["saliency_action"][:, 0], greedy)
    for before, after in zip(params, bb.parameters()):  # tracing changes no weight ...
        assert torch.equal(before, after) and after.grad is None  # ... and leaves no gradient
    no_head = trace_backbone(bb, obs)  # without a head: maps only
    assert "saliency" not in no_head
    np.testing.assert_array_equal(no_head["conv1"], trace["conv1"])
