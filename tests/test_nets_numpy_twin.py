"""The numpy twin used by act() (nets/numpy_twin.py) against the torch modules."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.nets import make_backbone
from lecture_rl.nets.numpy_twin import NumpyTwin


@pytest.mark.parametrize(
    ("net", "space", "kwargs"),
    [
        ("mlp", gym.spaces.Discrete(5), {"hidden_size": 16}),
        ("mlp", gym.spaces.Box(-1.0, 1.0, (4,)), {"hidden_sizes": (8, 6), "activation": "tanh"}),
        ("lstm", gym.spaces.Discrete(3), {"hidden_size": 12, "num_layers": 2}),
        ("gru", gym.spaces.Box(-1.0, 1.0, (4,)), {"hidden_size": 10}),
        ("rnn", gym.spaces.Discrete(4), {"hidden_size": 9}),
    ],
)
def test_twin_scores_and_state_equal_torch_over_a_sequence(net, space, kwargs):
    torch.manual_seed(1)
    backbone = make_backbone(net, space, **kwargs)
    head = nn.Linear(backbone.output_dim, 3)
    twin = NumpyTwin.of(backbone, head)
    assert twin is not None
    state_t = backbone.initial_state(1)
    state_n = twin.initial_state()
    space.seed(0)
    for _ in range(6):  # the memory carries over steps
        obs = space.sample()
        with torch.no_grad():
            features, state_t = backbone.step(torch.as_tensor(np.asarray(obs)[None]), state_t)
            want = head(features)[0].numpy()
        got, state_n = twin.scores(obs, state_n)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        for a, b in zip(state_n, state_t):
            np.testing.assert_allclose(a, b[0].numpy(), rtol=1e-5, atol=1e-6)


def test_twin_declines_what_it_does_not_cover():
    image = gym.spaces.Box(0, 255, (12, 12, 3), dtype=np.uint8)
    head = nn.Linear(8, 2)
    assert NumpyTwin.of(make_backbone("cnn", image, hidden_size=8), head) is None
    embedded = make_backbone("lstm", gym.spaces.Discrete(3), hidden_size=8, embed_size=4)
    assert NumpyTwin.of(embedded, head) is None
    assert NumpyTwin.of(make_backbone("mlp", gym.spaces.Discrete(3), hidden_size=8), None) is None


@pytest.mark.parametrize("name,net", [("dqn", "mlp"), ("ppo", "mlp"), ("ppo", "lstm")])
def test_act_in_numpy_gives_the_torch_actions_and_sees_training(name, net):
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make(name, env, net=net, seed=0, device="cpu", num_envs=4)
    assert agent._numpy_twin() is not None
    obs_seq = [0, 1, 1, 0, 1, 0, 0, 1]

    def actions_and_scores():
        agent.reset()
        fast = [agent.act(o) for o in obs_seq]
        agent.reset()
        state = agent.backbone.initial_state(1)
        slow, scores = [], []
        with torch.no_grad():
            for o in obs_seq:
                features, state = agent.backbone.step(torch.tensor([o]), state)
                s = agent._action_scores(features)
                scores.append(s[0])
                slow.append(int(s.argmax()) + agent.action_start)
        return fast, slow

    fast, slow = actions_and_scores()
    assert fast == slow
    with torch.no_grad():  # a changed weight (as an optimizer step makes) is seen at once
        agent.heads[agent.score_head].bias.copy_(torch.tensor([5.0, -5.0]))
    fast, slow = actions_and_scores()
    assert fast == slow == [0] * len(obs_seq)
