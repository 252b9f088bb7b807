"""A numpy twin of a small backbone and its linear head, for acting on one observation.

Description:
    Acting on one observation is a few tiny matrix-vector products; in eager torch each costs
    a few microseconds of dispatch, so `act()` spends most of its time outside arithmetic.
    `NumpyTwin` reads the *same* parameters (numpy views of the torch tensors, no copy:
    an optimizer step is seen at once) and computes the same numbers:

    * `mlp`: h_l = f(W_l h_{l−1} + b_l) (notes 000 §1.a), a one-hot input read as the
      column W_1[:, s];
    * `rnn`: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh);
    * `lstm` (torch's gate order i, f, g, o): C_t = f ⊙ C_{t−1} + i ⊙ g,
      h_t = o ⊙ tanh(C_t);
    * `gru` (order r, z, n): n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
      h_t = (1 − z) ⊙ n + z ⊙ h_{t−1};

    then the head's scores W h + b. `tests/test_nets_numpy_twin.py` checks it against the
    torch modules. CPU only; `NumpyTwin.of` returns `None` for what it does not cover
    (images, embeddings, MultiDiscrete inputs, other heads), and the caller uses torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from lecture_rl.nets.fused_mlp import FusedMLP
from lecture_rl.nets.recurrent import RecurrentBackbone

NumpyState = tuple[np.ndarray, ...]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class NumpyTwin:
    """Scores `head(backbone(obs))` for one observation in numpy (see the module)."""

    def __init__(self, backbone: nn.Module, head: nn.Linear, params: list[nn.Parameter]):
        self.backbone = backbone
        self.space = backbone.observation_space
        self.discrete = isinstance(self.space, spaces.Discrete)
        self.recurrent = isinstance(backbone, RecurrentBackbone)
        self.cell = backbone.cell if self.recurrent else "mlp"
        self.activations: list[str] = []
        if not self.recurrent:
            fused = FusedMLP.of(backbone, head)
            assert fused is not None
            self.activations = fused.activations
        self._params = params
        self._ptrs: list[int] = []
        self._arrays: list[np.ndarray] = []

    @classmethod
    def of(cls, backbone: nn.Module, head: nn.Module) -> NumpyTwin | None:
        """The twin of `backbone` + `head` on the CPU, or `None` if not covered."""
        if not isinstance(head, nn.Linear) or head.bias is None:
            return None
        space = backbone.observation_space
        if not isinstance(space, (spaces.Discrete, spaces.Box, spaces.MultiBinary)):
            return None
        if backbone.encoder.is_image:
            return None
        if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in backbone.parameters()):
            return None
        if isinstance(backbone, RecurrentBackbone):
            core = backbone.core
            if not isinstance(backbone.input_encoder, nn.Flatten) or not core.bias:
                return None
            if getattr(core, "proj_size", 0) or core.bidirectional:
                return None
            if backbone.cell == "rnn" and core.nonlinearity != "tanh":
                return None
            params = []
            for layer in range(core.num_layers):
                params += [getattr(core, f"{name}_l{layer}") for name in
                           ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]  # fmt: skip
        else:
            fused = FusedMLP.of(backbone, head)
            if fused is None:
                return None
            params = fused.parameters()[:-2]
        return cls(backbone, head, [*params, head.weight, head.bias])

    def _weights(self) -> list[np.ndarray]:
        """numpy views of the parameters, rebuilt if one was replaced (not updated in place)."""
        ptrs = [p.data_ptr() for p in self._params]
        if ptrs != self._ptrs:
            self._arrays = [p.detach().numpy() for p in self._params]
            self._ptrs = ptrs
        return self._arrays

    def initial_state(self) -> NumpyState:
        """h = 0 (and C = 0) per layer, `[num_layers, H]` each; `()` for the MLP."""
        if not self.recurrent:
            return ()
        shape = (self.backbone.num_layers, self.backbone.hidden_size)
        return tuple(np.zeros(shape, np.float32) for _ in range(self.backbone.num_state_tensors))

    def _input(self, obs: Any) -> np.ndarray | int:
        """The observation as the first layer reads it: a state index or a flat float row."""
        if self.discrete:
            index = int(obs) - int(self.space.start)
            if not 0 <= index < self.space.n:
                raise ValueError(f"observation {obs!r} is outside {self.space}")
            return index
        x = np.asarray(obs, dtype=np.float32).reshape(-1)
        if x.shape[0] != self.backbone.encoder.input_dim:
            raise ValueError(f"observation of shape {np.shape(obs)} does not fit {self.space}")
        return x

    @staticmethod
    def _affine(weight: np.ndarray, x: np.ndarray | int, bias: np.ndarray) -> np.ndarray:
        """W x + b; for a one-hot x (an index s) the column W[:, s] + b."""
        if isinstance(x, int):
            return weight[:, x] + bias
        return weight @ x + bias

    def scores(self, obs: Any, state: NumpyState) -> tuple[np.ndarray, NumpyState]:
        """`(scores[nA], new state)` for one raw observation."""
        w = self._weights()
        x = self._input(obs)
        if not self.recurrent:
            for i, act in enumerate(self.activations):
                z = self._affine(w[2 * i], x, w[2 * i + 1])  # W h + b
                x = np.maximum(z, 0.0) if act == "relu" else np.tanh(z)  # h = f(W h + b)
            return w[-2] @ x + w[-1], ()
        hs = list(state[0])
        cs = list(state[1]) if self.cell == "lstm" else []
        size = self.backbone.hidden_size
        for layer in range(self.backbone.num_layers):
            w_ih, w_hh, b_ih, b_hh = w[4 * layer : 4 * layer + 4]
            gx = self._affine(w_ih, x, b_ih)  # W_ih x + b_ih
            gh = w_hh @ hs[layer] + b_hh  # W_hh h + b_hh
            if self.cell == "lstm":
                g = gx + gh
                gates = _sigmoid(g)  # i, f, o (the g block is recomputed by tanh)
                i, f, o = gates[:size], gates[size : 2 * size], gates[3 * size :]
                cand = np.tanh(g[2 * size : 3 * size])
                cs[layer] = f * cs[layer] + i * cand  # C_t = f ⊙ C_{t−1} + i ⊙ g
                hs[layer] = o * np.tanh(cs[layer])  # h_t = o ⊙ tanh(C_t)
            elif self.cell == "gru":
                r = _sigmoid(gx[:size] + gh[:size])
                z = _sigmoid(gx[size : 2 * size] + gh[size : 2 * size])
                n = np.tanh(gx[2 * size :] + r * gh[2 * size :])
                hs[layer] = (1.0 - z) * n + z * hs[layer]  # h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
            else:
                hs[layer] = np.tanh(gx + gh)  # h_t = tanh(W_ih x + W_hh h + b)
            x = hs[layer]
        stack = (lambda rows: rows[0][None]) if len(hs) == 1 else np.stack
        new = (stack(hs), stack(cs)) if self.cell == "lstm" else (stack(hs),)
        return w[-2] @ x + w[-1], new
