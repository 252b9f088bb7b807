"""The Backbone interface: make_backbone, preprocessing, state layout, sequence == stepping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from lecture_rl.nets import BACKBONE_NAMES, make_backbone

FLAT_SPACES = {
    "discrete": spaces.Discrete(5),
    "discrete_start": spaces.Discrete(4, start=-2),
    "box": spaces.Box(-1.0, 1.0, (3, 2), dtype=np.float32),
    "multidiscrete": spaces.MultiDiscrete([3, 4]),
}
IMAGE_SPACE = spaces.Box(0, 255, (12, 10, 3), dtype=np.uint8)


def sample_obs(space: spaces.Space, lead: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    space.seed(seed)
    items = [np.asarray(space.sample()) for _ in range(int(np.prod(lead)))]
    return torch.as_tensor(np.stack(items)).reshape(*lead, *np.asarray(items[0]).shape)


def backbone_kwargs(name: str) -> dict:
    if name == "mlp":
        return {"hidden_size": 16}
    if name == "transformer":
        return {"d_model": 16, "num_heads": 2, "num_layers": 2, "context": 6}
    if name == "cnn":
        return {"channels": (4, 8), "output_dim": 16}
    return {"hidden_size": 16, "num_layers": 2}


def step_loop(bb, obs, state, starts):
    outs = []
    for t in range(obs.shape[0]):
        y, state = bb.step(obs[t], state, None if starts is None else starts[t])
        outs.append(y)
    return torch.stack(outs), state


CASES = [(n, k) for n in ("mlp", "rnn", "lstm", "gru", "transformer") for k in FLAT_SPACES]
CASES += [("cnn", "image"), ("lstm", "image"), ("transformer", "image")]


@pytest.mark.parametrize("name,space_key", CASES)
def test_sequence_with_resets_equals_stepping(name, space_key):
    torch.manual_seed(1)
    space = IMAGE_SPACE if space_key == "image" else FLAT_SPACES[space_key]
    bb = make_backbone(name, space, **backbone_kwargs(name))
    t_len, batch = 13, 5
    obs = sample_obs(space, (t_len, batch))
    gen = torch.Generator().manual_seed(2)
    starts = torch.rand(t_len, batch, generator=gen) < 0.25
    starts[0, 0] = True  # an env that starts fresh, others carry state0
    starts[:, 1] = False  # an env with no reset at all (longer than the Transformer context)
    state0 = bb.initial_state(batch)
    if name != "transformer":  # a carried non-zero state, not just zeros
        state0 = tuple(torch.randn_like(s) for s in state0)
    else:  # a real carried cache: run a short prefix first
        _, state0 = bb.forward_sequence(sample_obs(space, (3, batch), seed=5), state0)
    seq, final = bb.forward_sequence(obs, state0, starts)
    ref, ref_final = step_loop(bb, obs, state0, starts)
    assert seq.shape == (t_len, batch, bb.output_dim)
    torch.testing.assert_close(seq, ref, atol=1e-5, rtol=1e-5)
    assert len(final) == len(ref_final)
    for a, b in zip(final, ref_final):
        assert a.shape[0] == batch
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru", "transformer"])
def test_episode_start_forgets_the_past(name):
    """After an episode start the features do not depend on what came before it."""
    torch.manual_seed(0)
    space = spaces.Discrete(3)
    bb = make_backbone(name, space, **backbone_kwargs(name))
    obs = sample_obs(space, (8, 2))
    obs[:, 1] = obs[:, 0]
    obs[:4, 1] = (obs[:4, 0] + 1) % 3  # env 1 differs from env 0 only before t = 4
    starts = torch.zeros(8, 2, dtype=torch.bool)
    starts[4] = True
    seq, _ = bb.forward_sequence(obs, bb.initial_state(2), starts)
    assert not torch.allclose(seq[3, 0], seq[3, 1])
    torch.testing.assert_close(seq[4:, 0], seq[4:, 1], atol=1e-6, rtol=1e-6)
    # and without the reset, memory networks do remember the difference
    seq_no_reset, _ = bb.forward_sequence(obs, bb.initial_state(2))
    assert not torch.allclose(seq_no_reset[4:, 0], seq_no_reset[4:, 1], atol=1e-4)


@pytest.mark.parametrize("name", BACKBONE_NAMES)
def test_interface_attributes_and_state_layout(name):
    space = IMAGE_SPACE if name == "cnn" else spaces.Discrete(6)
    bb = make_backbone(name, space, **backbone_kwargs(name))
    assert isinstance(bb.output_dim, int) and bb.output_dim > 0
    assert bb.is_recurrent == (name in ("rnn", "lstm", "gru", "transformer"))
    state = bb.initial_state(7, "cpu")
    assert isinstance(state, tuple)
    if not bb.is_recurrent:
        assert state == ()
    for s in state:
        assert s.shape[0] == 7
    # numpy observations straight from an env are accepted
    obs = np.stack([space.sample() for _ in range(7)])
    feats, new_state = bb.step(obs, state, np.zeros(7, dtype=bool))
    assert feats.shape == (7, bb.output_dim) and feats.dtype == torch.float32
    # storing one env's state and restoring it with indexing works on every tensor
    idx = torch.tensor([2, 5])
    picked = tuple(s[idx] for s in new_state)
    assert all(p.shape[0] == 2 for p in picked)


def test_image_preprocessing_scales_and_moves_channels():
    bb = make_backbone("mlp", IMAGE_SPACE, hidden_size=8)
    obs = torch.full((2, 12, 10, 3), 255, dtype=torch.uint8)
    obs[:, :, :, 1] = 0
    x = bb.preprocess(obs)
    assert x.shape == (2, 3, 12, 10)
    assert torch.all(x[:, 0] == 1.0) and torch.all(x[:, 1] == 0.0)


def test_discrete_is_one_hot_inside():
    bb = make_backbone("mlp", spaces.Discrete(4, start=1), hidden_size=8)
    x = bb.preprocess(torch.tensor([1, 4]))
    torch.testing.assert_close(x, torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1.0]]))


def test_bad_names_and_spaces_give_clear_errors():
    with pytest.raises(ValueError, match="did you mean 'lstm'.*valid names"):
        make_backbone("lstn", spaces.Discrete(3))
    with pytest.raises(ValueError, match="cnn.*image"):
        make_backbone("cnn", spaces.Discrete(3))
    with pytest.raises(ValueError, match="Dict"):
        make_backbone("mlp", spaces.Dict({"a": spaces.Discrete(2)}))
    bb = make_backbone("lstm", spaces.Discrete(3), hidden_size=4)
    with pytest.raises(ValueError, match="batch"):
        bb.step(torch.tensor(1), bb.initial_state(1))
    with pytest.raises(ValueError, match="initial_state"):
        bb.step(torch.tensor([1, 2]), bb.initial_state(3))


def test_gradients_flow_through_segmented_sequence():
    torch.manual_seed(0)
    bb = make_backbone("lstm", spaces.Box(-1, 1, (3,)), hidden_size=8)
    obs = torch.randn(10, 4, 3)
    starts = torch.zeros(10, 4, dtype=torch.bool)
    starts[5, 2] = True
    seq, _ = bb.forward_sequence(obs, bb.initial_state(4), starts)
    seq.pow(2).sum().backward()
    grads = [p.grad for p in bb.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


@pytest.mark.parametrize("mode", ["packed", "chunked"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_both_sequence_paths_equal_stepping(mode, cell):
    """The packed path (used on CUDA) and the chunked path (CPU) both equal stepping."""
    torch.manual_seed(3)
    bb = make_backbone(cell, spaces.Discrete(4), hidden_size=8, sequence_mode=mode)
    obs = sample_obs(spaces.Discrete(4), (11, 6))
    starts = torch.rand(11, 6, generator=torch.Generator().manual_seed(4)) < 0.3
    state0 = tuple(torch.randn_like(s) for s in bb.initial_state(6))
    seq, final = bb.forward_sequence(obs, state0, starts)
    ref, ref_final = step_loop(bb, obs, state0, starts)
    torch.testing.assert_close(seq, ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(final, ref_final):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["lstm", "gru", "mlp", "transformer"])
def test_episode_start_times_known_on_the_host_give_the_same_sequence_without_reading_it(name):
    """An agent that knows where episodes start passes `start_times`: the same features,
    and the recurrent core no longer reads the flags back (`nonzero` waits on a GPU)."""
    torch.manual_seed(3)
    bb = make_backbone(name, spaces.Discrete(4), **backbone_kwargs(name))
    obs = sample_obs(spaces.Discrete(4), (12, 5))
    starts = torch.zeros(12, 5, dtype=torch.bool)
    starts[[0, 4, 9], :] = True  # episodes that all end together (Parity, Copy)
    starts[6, 2] = True
    state0 = tuple(torch.randn_like(s) for s in bb.initial_state(5))
    times = torch.nonzero(starts[1:].any(dim=1)).add(1).flatten().tolist()
    assert times == [4, 6, 9]
    with torch.profiler.profile() as prof:
        given, final = bb.forward_sequence(obs, state0, starts, start_times=times)
    reads = [e.name for e in prof.events() if e.name in ("aten::nonzero", "aten::is_nonzero")
             or (e.name == "aten::item" and e.cpu_parent is None)]  # fmt: skip
    assert not reads  # (one_hot's range check on the CPU is an item inside an operator)
    read, read_final = bb.forward_sequence(obs, state0, starts)
    torch.testing.assert_close(given, read, rtol=0, atol=0)
    for a, b in zip(final, read_final):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    if bb.is_recurrent:  # an empty list: no episode starts inside, the one-call path
        first_only = starts.clone()
        first_only[1:] = False
        one_call, _ = bb.forward_sequence(obs, state0, first_only, start_times=[])
        torch.testing.assert_close(one_call, bb.forward_sequence(obs, state0, first_only)[0])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_one_hot_input_init_gives_each_symbol_weights_of_order_one(cell):
    torch.manual_seed(0)
    default = make_backbone(cell, spaces.Discrete(6), hidden_size=128)
    bound = 128**-0.5  # torch's U(±1/√n): a symbol moves a gate by at most 0.09
    assert default.core.weight_ih_l0.abs().max() <= bound
    wide = make_backbone(cell, spaces.Discrete(6), hidden_size=128, input_init="one_hot")
    assert 0.95 < wide.core.weight_ih_l0.abs().max() <= 1.0  # U(±1): one one-hot per obs
    pair = make_backbone(cell, spaces.MultiDiscrete([3, 4]), hidden_size=128, input_init="one_hot")
    assert 0.67 < pair.core.weight_ih_l0.abs().max() <= 2**-0.5  # U(±1/√2): two one-hots
    # inputs that are not one-hot keep torch's init, and the recurrent weights always do
    box = spaces.Box(-1.0, 1.0, (3,), dtype=np.float32)
    for bb in (
        make_backbone(cell, box, hidden_size=128, input_init="one_hot"),
        make_backbone(cell, spaces.Discrete(6), hidden_size=128, embed_size=8,
                      input_init="one_hot"),
    ):  # fmt: skip
        assert bb.core.weight_ih_l0.abs().max() <= bound
    assert wide.core.weight_hh_l0.abs().max() <= bound
    with pytest.raises(ValueError, match="input_init must be 'torch' or 'one_hot'"):
        make_backbone(cell, spaces.Discrete(6), input_init="big")
