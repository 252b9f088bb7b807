"""A hand-written forward and backward pass for an MLP backbone and its linear head.

Description:
    On the small networks of the lecture (two layers of 64) a training step costs far less in
    arithmetic than in per-operation overhead: eager autograd records a graph, walks it
    backwards and launches each kernel from Python. `FusedMLP` computes the same
    numbers with a handful of matrix products and no graph:

    forward, layer l:   z_l = a_{l−1} W_lᵀ + b_l,   a_l = f(z_l)      (notes 000 §1.a)
    backward, layer l:  δ_l = ∂L/∂a_l ⊙ f′(z_l),    ∂L/∂W_l = δ_lᵀ a_{l−1},
                        ∂L/∂b_l = Σ_rows δ_l,        ∂L/∂a_{l−1} = δ_l W_l

    (backpropagation, the chain rule applied layer by layer). `f` is ReLU (f′ = [a > 0]) or
    tanh (f′ = 1 − a²); the head is linear. The gradients are written into each parameter's
    `.grad`, so the agent's own optimizer steps them. `tests/test_nets_fused_mlp.py` checks
    outputs and gradients against autograd.

    It reads the parameters of an `MLPBackbone` and a head
    `nn.Linear` in place (no copy): an optimizer step or a loaded checkpoint is seen at once.

Example:
    >>> fused = FusedMLP.of(backbone, head)          # None when the net is not a plain MLP
    >>> q, trace = fused.forward(x)                  # x: the encoder's float input
    >>> fused.backward(trace, dq)                    # dq = ∂L/∂q: fills .grad
    >>> q, trace = fused.forward_numpy(x_np)         # the same in numpy (CPU parameters)
    >>> fused.backward_numpy(trace, dq_np)           # fills .grad with views of numpy arrays

    The numpy pair does the same arithmetic with ~1 µs per operation instead of torch's few µs
    (on CPU parameters only: it reads numpy views of them).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lecture_rl.nets.mlp import MLPBackbone

Trace = list[torch.Tensor]
NumpyTrace = list[np.ndarray]


class FusedMLP:
    """Forward and backward of `head(MLP(x))` without autograd.

    Arguments:
        layers: the hidden `nn.Linear` layers, in order.
        activations: `"relu"` or `"tanh"` after each hidden layer.
        head: the output `nn.Linear`, or several on the same features (PPO's actor and
            critic): their outputs side by side, `[head_1(h), head_2(h), ...]`.
    """

    def __init__(
        self, layers: list[nn.Linear], activations: list[str], head: nn.Linear | list[nn.Linear]
    ):
        self.heads = list(head) if isinstance(head, list | tuple) else [head]
        self.layers = [*layers, *self.heads]
        self.hidden = len(layers)
        self.activations = activations
        self._params = [p for layer in self.layers for p in (layer.weight, layer.bias)]
        self._ptrs: list[int] = []
        self._arrays: list[np.ndarray] = []
        self._grads: list[torch.Tensor] = []  # torch-owned (aligned) .grad for the numpy path
        self._grad_arrays: list[np.ndarray] = []

    @classmethod
    def of(cls, backbone: nn.Module, head: nn.Module | list[nn.Module]) -> FusedMLP | None:
        """The fused twin of `backbone` + `head` (or a list of heads), or `None` if they are
        not a plain MLP (Linear -> ReLU/Tanh blocks and Linear heads, float32)."""
        heads = list(head) if isinstance(head, list | tuple) else [head]
        if not isinstance(backbone, MLPBackbone) or not all(
            isinstance(h, nn.Linear) for h in heads
        ):
            return None
        if backbone.encoder.is_image:
            return None
        layers: list[nn.Linear] = []
        activations: list[str] = []
        for module in backbone.body:
            if isinstance(module, nn.Linear):
                layers.append(module)
            elif isinstance(module, nn.ReLU) and len(activations) < len(layers):
                activations.append("relu")
            elif isinstance(module, nn.Tanh) and len(activations) < len(layers):
                activations.append("tanh")
            else:
                return None
        if not layers or len(activations) != len(layers):
            return None
        for layer in [*layers, *heads]:
            if layer.bias is None or layer.weight.dtype != torch.float32:
                return None
        return cls(layers, activations, heads)

    def parameters(self) -> list[nn.Parameter]:
        """Weights and biases in the order `backbone.parameters()` then the heads'."""
        return [p for layer in self.layers for p in (layer.weight, layer.bias)]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Trace]:
        """`x[N, in]` -> `(out[N, nA], trace)`; `trace` holds each layer's input."""
        if torch.is_grad_enabled():  # (a decorator would cost ~10 µs on every call)
            with torch.no_grad():
                return self.forward(x)
        trace: Trace = []
        a = x
        for layer, act in zip(self.layers, self.activations):
            trace.append(a)
            a = torch.addmm(layer.bias, a, layer.weight.t())  # z = a Wᵀ + b
            a = a.relu_() if act == "relu" else a.tanh_()  # a = f(z)
        trace.append(a)
        if len(self.heads) == 1:
            head = self.heads[0]
            return torch.addmm(head.bias, a, head.weight.t()), trace
        return torch.cat([torch.addmm(h.bias, a, h.weight.t()) for h in self.heads], 1), trace

    def backward(self, trace: Trace, grad_out: torch.Tensor) -> None:
        """Set every parameter's `.grad` to ∂L/∂θ (replacing what was there) from `grad_out` =
        ∂L/∂out for the first `len(grad_out)` rows of the traced batch (the rest carry no
        loss, e.g. the s' rows of a Double-DQN forward)."""
        if torch.is_grad_enabled():
            with torch.no_grad():
                return self.backward(trace, grad_out)
        rows = grad_out.shape[0]
        a_top = trace[self.hidden][:rows]
        column, delta = 0, None
        for head in self.heads:  # each head's columns of ∂L/∂out; Σ over heads of δ W
            width = head.weight.shape[0]
            part = grad_out[:, column : column + width]
            column += width
            _write_grad(head.weight, part.t() @ a_top)
            _write_grad(head.bias, part.sum(0))
            delta = part @ head.weight if delta is None else delta.addmm_(part, head.weight)
        for index in range(self.hidden - 1, -1, -1):
            act = self.activations[index]
            a_out = trace[index + 1][:rows]
            if act == "relu":
                delta = delta.mul_(a_out > 0)  # f′(z) = [a > 0]
            else:
                delta = delta.mul_(1.0 - a_out * a_out)  # f′(z) = 1 − a²
            layer = self.layers[index]
            a_prev = trace[index][:rows]
            _write_grad(layer.weight, delta.t() @ a_prev)  # ∂L/∂W = δᵀ a_{l−1}
            _write_grad(layer.bias, delta.sum(0))  # ∂L/∂b = Σ δ
            if index == 0:
                break
            delta = delta @ layer.weight  # ∂L/∂a_{l−1} = δ W

    def arrays(self) -> list[np.ndarray]:
        """numpy views (CPU only) of `parameters`, rebuilt if one was replaced."""
        ptrs = [p.data_ptr() for p in self._params]
        if ptrs != self._ptrs:
            self._arrays = [p.detach().numpy() for p in self._params]
            self._ptrs = ptrs
            self._grads = [torch.empty_like(p, memory_format=torch.contiguous_format)
                           for p in self._params]  # fmt: skip
            self._grad_arrays = [g.numpy() for g in self._grads]
        return self._arrays

    def forward_numpy(self, x: np.ndarray) -> tuple[np.ndarray, NumpyTrace]:
        """`forward` in numpy: `x[N, in]` float32 -> `(out[N, nA], trace)`."""
        w = self.arrays()
        trace: NumpyTrace = []
        a = x
        for i, act in enumerate(self.activations):
            trace.append(a)
            z = a @ w[2 * i].T
            z += w[2 * i + 1]  # z = a Wᵀ + b
            a = np.maximum(z, 0.0, out=z) if act == "relu" else np.tanh(z, out=z)  # a = f(z)
        trace.append(a)
        if len(self.heads) == 1:
            out = a @ w[-2].T
            out += w[-1]
            return out, trace
        top = 2 * self.hidden  # the heads' weights, one after the other
        weight = np.concatenate(w[top::2])  # [Σ outputs, h]: one product for every head
        out = a @ weight.T
        out += np.concatenate(w[top + 1 :: 2])
        return out, trace

    def backward_numpy(self, trace: NumpyTrace, grad_out: np.ndarray) -> list[np.ndarray]:
        """`backward` in numpy: sets every `.grad` from `grad_out` = ∂L/∂out
        (float32) for the first rows. The `.grad` tensors are kept between calls (torch
        allocates them, so torch's fused kernels see aligned memory); returns their views."""
        w = self.arrays()
        grads = self._grad_arrays
        rows = grad_out.shape[0]
        a_top = trace[self.hidden][:rows]
        column, delta = 0, None
        for j in range(self.hidden, len(self.layers)):  # each head's columns of ∂L/∂out
            width = w[2 * j].shape[0]
            part = grad_out[:, column : column + width]
            column += width
            np.matmul(part.T, a_top, out=grads[2 * j])  # ∂L/∂W = δᵀ h
            part.sum(0, out=grads[2 * j + 1])  # ∂L/∂b = Σ δ
            back = part @ w[2 * j]  # ∂L/∂h: Σ over the heads of δ W
            delta = back if delta is None else delta + back
        for index in range(self.hidden - 1, -1, -1):
            a_out = trace[index + 1][:rows]
            if self.activations[index] == "relu":
                delta *= a_out > 0  # f′(z) = [a > 0]
            else:
                delta *= 1.0 - a_out * a_out  # f′(z) = 1 − a²
            a_prev = trace[index][:rows]
            np.matmul(delta.T, a_prev, out=grads[2 * index])  # ∂L/∂W = δᵀ a_{l−1}
            delta.sum(0, out=grads[2 * index + 1])  # ∂L/∂b = Σ δ
            if index == 0:
                break
            delta = delta @ w[2 * index]  # ∂L/∂a_{l−1} = δ W
        for param, grad in zip(self._params, self._grads):
            param.grad = grad
        return grads


def _write_grad(param: nn.Parameter, value: torch.Tensor) -> None:
    param.grad = value  # a fresh tensor each step: no copy, and no stale gradient to zero
