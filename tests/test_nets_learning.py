"""The notes 003 parity example, supervised: "RNN is not good for this — need LSTM".

Each backbone reads a bit stream and a linear head predicts the XOR of all bits so far, trained
with BPTT over whole sequences (`forward_sequence`). Fixed seeds, 300 Adam steps, T = 10.
"""

from __future__ import annotations

import pytest
import torch
from gymnasium import spaces

from lecture_rl.nets import make_backbone


def parity_accuracy(name: str, seed: int = 0, steps: int = 300, t_len: int = 10, **kw) -> float:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = make_backbone(name, spaces.Discrete(2), **kw)
    head = torch.nn.Linear(net.output_dim, 2)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=3e-3)
    for _ in range(steps):
        bits = torch.randint(0, 2, (t_len, 64), generator=gen)
        parity = torch.cumsum(bits, 0) % 2  # the XOR of all bits so far, this one included
        features, _ = net.forward_sequence(bits, net.initial_state(64))
        loss = torch.nn.functional.cross_entropy(head(features).flatten(0, 1), parity.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
    bits = torch.randint(0, 2, (t_len, 512), generator=gen)
    with torch.no_grad():
        features, _ = net.forward_sequence(bits, net.initial_state(512))
        predicted = head(features).argmax(-1)
    return float((predicted == torch.cumsum(bits, 0) % 2).float().mean())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_memory_learns_parity(cell):
    assert parity_accuracy(cell, hidden_size=32) >= 0.98


def test_plain_rnn_and_mlp_do_not():
    lstm = parity_accuracy("lstm", hidden_size=32)
    rnn = parity_accuracy("rnn", hidden_size=32)
    mlp = parity_accuracy("mlp", hidden_size=32)
    assert rnn < 0.9 < lstm
    assert mlp < 0.62  # memoryless: right on the first bit, a coin flip after it


def test_cnn_finds_the_agent_on_an_open_grid():
    """The CNN backbone tells the agent's cell from GridWorld's picture (cliff map, 37 cells,
    most of them look alike: only *where* the agent is differs)."""
    import gymnasium as gym
    import numpy as np

    import lecture_rl.envs  # noqa: F401

    env = gym.make("LectureRL/GridWorld-v0", map_name="cliff", obs_mode="image")
    images, cells = [], []
    for s in range(env.unwrapped.nS):
        try:
            obs, _ = env.reset(options={"start": s})
        except Exception:  # cells the agent cannot stand on
            continue
        images.append(obs)
        cells.append(s)
    x, y = torch.as_tensor(np.stack(images)), torch.tensor(cells)
    torch.manual_seed(0)
    net = make_backbone("cnn", env.observation_space)
    head = torch.nn.Linear(net.output_dim, env.unwrapped.nS)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=1e-3)
    for _ in range(200):
        features, _ = net.step(x)
        loss = torch.nn.functional.cross_entropy(head(features), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        accuracy = (head(net.step(x)[0]).argmax(-1) == y).float().mean()
    assert len(cells) >= 30 and accuracy >= 0.95
