"""The multilayer perceptron: stacked fully connected layers, h = f(W x + b).

Description:
    Each hidden layer computes `h = f(W h_prev + b)` (the fully connected layer of notes 000
    §1.a, `H·W + b` before the activation; the MLP of notes 004). The MLP has no memory: it
    sees only the current observation, which is why it cannot solve Parity or Copy.

Arguments:
    hidden_sizes: widths of the hidden layers (default `(64, 64)`); `hidden_size` with
        `num_layers` is accepted as a shorthand.
    activation: `"relu"` (default) or `"tanh"`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from gymnasium import spaces
from torch import nn

from lecture_rl.nets.backbone import Backbone, _check_positive

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


def activation_layer(name: str) -> nn.Module:
    """`"relu"` / `"tanh"` / `"gelu"` -> a fresh activation module."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


def mlp(input_dim: int, hidden_sizes: Sequence[int], activation: str = "relu") -> nn.Sequential:
    """`Linear -> activation` for each hidden size; output width is `hidden_sizes[-1]`."""
    layers: list[nn.Module] = []
    width = input_dim
    for size in hidden_sizes:
        layers += [nn.Linear(width, size), activation_layer(activation)]  # h = f(W x + b)
        width = size
    return nn.Sequential(*layers)


class MLPBackbone(Backbone):
    """Feed-forward backbone: flattened observation -> MLP features (no state)."""

    name = "mlp"
    is_recurrent = False

    def __init__(
        self,
        observation_space: spaces.Space,
        hidden_sizes: Sequence[int] | None = None,
        activation: str = "relu",
        hidden_size: int | None = None,
        num_layers: int = 2,
    ):
        super().__init__(observation_space)
        if hidden_sizes is None:
            width = _check_positive("hidden_size", 64 if hidden_size is None else hidden_size)
            hidden_sizes = (width,) * _check_positive("num_layers", num_layers)
        hidden_sizes = tuple(_check_positive("hidden_sizes entry", h) for h in hidden_sizes)
        if not hidden_sizes:
            raise ValueError("hidden_sizes must name at least one hidden layer, e.g. (64, 64)")
        self.body = mlp(self.encoder.input_dim, hidden_sizes, activation)
        self.output_dim = hidden_sizes[-1]

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))
