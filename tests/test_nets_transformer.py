"""The Transformer backbone's mask: causal, bounded context, blind across episode starts."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

from lecture_rl.nets import make_backbone

BOX = spaces.Box(-1.0, 1.0, (3,), dtype=np.float32)


def build(num_layers=2, context=16, seed=0):
    torch.manual_seed(seed)
    return make_backbone(
        "transformer", BOX, d_model=16, num_heads=2, num_layers=num_layers, context=context
    )


def test_perturbing_a_later_input_leaves_earlier_outputs_unchanged():
    bb = build()
    obs = torch.randn(10, 3, 3)
    base, _ = bb.forward_sequence(obs, bb.initial_state(3))
    for t in (0, 4, 9):
        changed = obs.clone()
        changed[t] += 5.0 * torch.randn(3, 3)
        out, _ = bb.forward_sequence(changed, bb.initial_state(3))
        torch.testing.assert_close(out[:t], base[:t], atol=1e-6, rtol=0)  # the past: same
        assert (out[t] - base[t]).abs().max() > 1e-3  # the present does see its own input
        if t < 9:
            assert (out[t + 1 :] - base[t + 1 :]).abs().max() > 1e-3  # the future sees it too


def test_episode_start_blocks_attention_to_the_previous_episode():
    bb = build()
    obs = torch.randn(12, 2, 3)
    starts = torch.zeros(12, 2, dtype=torch.bool)
    starts[6] = True
    base, _ = bb.forward_sequence(obs, bb.initial_state(2), starts)
    changed = obs.clone()
    changed[:6] = torch.randn(6, 2, 3)  # rewrite the whole first episode
    out, _ = bb.forward_sequence(changed, bb.initial_state(2), starts)
    torch.testing.assert_close(out[6:], base[6:], atol=1e-6, rtol=0)
    assert (out[:6] - base[:6]).abs().max() > 1e-3
    # the weights themselves: no query of episode 2 puts mass on a key of episode 1
    _, _, weights = bb.forward_sequence(obs, bb.initial_state(2), starts, return_weights=True)
    c = bb.context
    for w in weights:  # [B, H, T, C + T]: cache slots, then the rollout's steps
        assert torch.all(w[:, :, 6:, c : c + 6] == 0)
        assert torch.all(w[:, :, :, :c] == 0)  # the empty initial cache is never attended
        torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)))


def test_context_bounds_what_a_query_sees():
    """One layer, context 4: the output at t depends on inputs t-3..t only."""
    bb = build(num_layers=1, context=4)
    obs = torch.randn(10, 1, 3)
    base, _ = bb.forward_sequence(obs, bb.initial_state(1))
    changed = obs.clone()
    changed[2] += 3.0
    out, _ = bb.forward_sequence(changed, bb.initial_state(1))
    diff = (out - base).abs().amax(dim=(1, 2))
    assert torch.all(diff[2:6] > 1e-4)  # t = 2..5 have step 2 in their window
    assert torch.all(diff[6:] < 1e-6) and torch.all(diff[:2] < 1e-6)
    # stepping with the key/value cache sees exactly the same window
    state = bb.initial_state(1)
    stepped = []
    for t in range(10):
        y, state = bb.step(changed[t], state)
        stepped.append(y)
    torch.testing.assert_close(torch.stack(stepped), out, atol=1e-5, rtol=1e-5)


def test_cache_state_shapes_and_positions():
    bb = build(context=5)
    state = bb.initial_state(4)
    keys, values, valid, position = state
    assert keys.shape == values.shape == (4, 2, 5, 16)
    assert valid.shape == (4, 5) and position.shape == (4,)
    starts = torch.zeros(7, 4, dtype=torch.bool)
    starts[3, 1] = True
    _, (keys, values, valid, position) = bb.forward_sequence(torch.randn(7, 4, 3), state, starts)
    torch.testing.assert_close(position, torch.tensor([7.0, 4.0, 7.0, 7.0]))
    torch.testing.assert_close(valid.sum(1), torch.tensor([5.0, 4.0, 5.0, 5.0]))


def test_long_rollout_in_blocks_equals_stepping():
    """T > 4·context runs in blocks that carry the cache; still equal to stepping."""
    bb = build(num_layers=2, context=2)
    obs = torch.randn(19, 2, 3)
    starts = torch.zeros(19, 2, dtype=torch.bool)
    starts[9, 0] = True
    seq, final = bb.forward_sequence(obs, bb.initial_state(2), starts)
    state, stepped = bb.initial_state(2), []
    for t in range(19):
        y, state = bb.step(obs[t], state, starts[t])
        stepped.append(y)
    torch.testing.assert_close(seq, torch.stack(stepped), atol=1e-5, rtol=1e-5)
    for a, b in zip(final, state):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
