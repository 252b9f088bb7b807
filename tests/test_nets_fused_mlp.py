"""The hand-written MLP forward/backward (nets/fused_mlp.py) against autograd."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from lecture_rl.nets import make_backbone
from lecture_rl.nets.fused_mlp import FusedMLP


@pytest.mark.parametrize(
    ("space", "kwargs"),
    [
        (gym.spaces.Discrete(7), {"hidden_size": 16}),
        (gym.spaces.Box(-1.0, 1.0, (5,)), {"hidden_sizes": (12, 9, 6), "activation": "tanh"}),
        (gym.spaces.Box(-1.0, 1.0, (3,)), {"hidden_sizes": (8,), "activation": "relu"}),
    ],
)
def test_fused_forward_and_gradients_equal_autograd(space, kwargs):
    torch.manual_seed(0)
    backbone = make_backbone("mlp", space, **kwargs)
    head = nn.Linear(backbone.output_dim, 4)
    fused = FusedMLP.of(backbone, head)
    assert fused is not None
    obs = torch.as_tensor(np.array([space.sample() for _ in range(10)]))
    x = backbone.preprocess(obs)
    weights = torch.randn(6, 4)  # a loss reading only the first 6 rows, as DQN's s rows

    out = head(backbone.step(obs)[0])
    (out[:6] * weights).sum().backward()
    expected = [p.grad.clone() for p in fused.parameters()]

    fused_out, trace = fused.forward(x)
    fused.backward(trace, weights)  # ∂L/∂out of that loss
    torch.testing.assert_close(fused_out, out.detach(), rtol=1e-5, atol=1e-6)
    for got, want in zip([p.grad for p in fused.parameters()], expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)

    for p in fused.parameters():
        p.grad = None
    numpy_out, numpy_trace = fused.forward_numpy(x.numpy())  # the numpy twin: same numbers
    views = fused.backward_numpy(numpy_trace, weights.numpy())
    torch.testing.assert_close(torch.from_numpy(numpy_out), out.detach(), rtol=1e-5, atol=1e-6)
    for p, view, want in zip(fused.parameters(), views, expected):
        torch.testing.assert_close(p.grad, want, rtol=1e-5, atol=1e-6)
        assert np.shares_memory(view, p.grad.numpy())  # clipping the view clips .grad


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_several_heads_on_one_mlp_equal_autograd(activation):
    """PPO's actor and critic on one backbone: outputs side by side, gradients summed."""
    torch.manual_seed(1)
    space = gym.spaces.Box(-1.0, 1.0, (5,))
    backbone = make_backbone("mlp", space, hidden_sizes=(12, 9), activation=activation)
    actor, critic = nn.Linear(9, 3), nn.Linear(9, 1)
    fused = FusedMLP.of(backbone, [actor, critic])
    assert fused is not None and len(fused.parameters()) == 8
    obs = torch.randn(11, 5)
    features = backbone.step(obs)[0]
    out = torch.cat([actor(features), critic(features)], 1)
    weights = torch.randn(11, 4)
    (out * weights).sum().backward()
    expected = [p.grad.clone() for p in fused.parameters()]
    for p in fused.parameters():
        p.grad = None
    x = backbone.preprocess(obs)
    fused_out, trace = fused.forward(x)
    fused.backward(trace, weights.clone())
    torch.testing.assert_close(fused_out, out.detach(), rtol=1e-5, atol=1e-6)
    for p, want in zip(fused.parameters(), expected):
        torch.testing.assert_close(p.grad, want, rtol=1e-5, atol=1e-6)
    numpy_out, numpy_trace = fused.forward_numpy(x.numpy())
    fused.backward_numpy(numpy_trace, weights.numpy().copy())
    torch.testing.assert_close(torch.from_numpy(numpy_out), out.detach(), rtol=1e-5, atol=1e-6)
    for p, want in zip(fused.parameters(), expected):
        torch.testing.assert_close(p.grad, want, rtol=1e-5, atol=1e-6)


def test_fused_reads_the_live_parameters_and_refuses_other_nets():
    space = gym.spaces.Discrete(3)
    backbone = make_backbone("mlp", space, hidden_size=8)
    head = nn.Linear(8, 2)
    fused = FusedMLP.of(backbone, head)
    x = backbone.preprocess(torch.arange(3))
    with torch.no_grad():
        head.bias.add_(5.0)  # an optimizer step changes the weights in place
    torch.testing.assert_close(fused.forward(x)[0], head(backbone.step(torch.arange(3))[0]))
    assert FusedMLP.of(make_backbone("gru", space, hidden_size=8), head) is None
    image = gym.spaces.Box(0, 255, (12, 12, 3), dtype="uint8")
    assert FusedMLP.of(make_backbone("cnn", image, hidden_size=8), head) is None
