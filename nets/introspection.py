"""What a memory network does inside, step by step, as numpy arrays for a viewer to draw.

Description:
    `trace_backbone` runs a backbone over a rollout `obs[T, B, ...]` (with optional
    episode starts) and returns, per step:

    - LSTM (notes 000 §3.b): `forget_gate` f_t, `input_gate` i_t, `candidate` C~_t,
      `output_gate` o_t, `cell` C^(t), `hidden` h^(t); each `[T, B, num_layers, H]`.
    - GRU (torch's form, notes 002 §4.4.8 eqs. (1)-(4)): `reset_gate` r_t, `update_gate`
      z_t (here z_t ≈ 1 keeps h_{t-1}), `candidate` n_t, `hidden` h_t.
    - RNN (notes 000 §2.c): `hidden` h^(t).
    - Transformer (notes 000 §5.a): `attention` `[num_layers, B, heads, T, T]`, the weights
      a[x_m, x_n] of query step n (axis 3) on key step m (axis 4) within the rollout, and
      `attention_cache` `[num_layers, B, heads, T, context]` on the keys cached before it.

    - CNN (notes 000 §1.a): `conv1` `[T, B, F, H', W']`, the first layer's feature maps
      H = ReLU(X * K + b) at that layer's own resolution; with `head` given, `saliency`
      `[T, B, H, W]`: Σ_c |∂y/∂x_c| per input pixel, where y = `head(features)[a]` is the
      score (logit or Q-value) of the action `a` (`actions`, else the greedy one, given in
      `saliency_action` `[T, B]`) and x the network's input (the image / 255), by torch's
      autograd: the backward pass of notes 000 §1.b (through the dense layer, pooling, ReLU
      and the kernel) carried one step further, to the input X. With `cells = (rows, cols)`
      (a grid of equal cells, e.g. GridWorld's image observations) also `conv1_cells`
      `[T, B, F, rows, cols]` (each cell's mean activation) and `saliency_cells`
      `[T, B, rows, cols]` (the sum over its pixels).

    Every result also has `features` `[T, B, D]`, equal to `forward_sequence`'s output
    (the gates are recomputed from the fast module's own weights, one step at a time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lecture_rl.nets.backbone import Backbone, State


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


@torch.no_grad()
def trace_backbone(
    backbone: Backbone,
    obs: Any,
    episode_starts: Any = None,
    state0: State = (),
    *,
    head: Callable[[torch.Tensor], torch.Tensor] | None = None,
    actions: Any = None,
    cells: tuple[int, int] | None = None,
) -> dict[str, np.ndarray]:
    """Gate activations / cell state (LSTM, GRU, RNN), attention weights (Transformer) or
    feature maps and saliency (CNN; `head`, `actions` and `cells` are read by it only).

    Arguments:
        head: `features [N, D] -> scores [N, nA]` (an actor's logits or a Q-network); with
            it the CNN's saliency is computed. Its weights and the backbone's must not change
            while this runs (autograd reads them back): trace a copy of a net that trains.
        actions: `[T, B]` the actions whose score the saliency is taken of (default: greedy).
        cells: `(rows, cols)`: also pool the CNN's maps to a grid of equal cells.
    """
    from lecture_rl.nets.cnn import CNNBackbone
    from lecture_rl.nets.recurrent import RecurrentBackbone
    from lecture_rl.nets.transformer import TransformerBackbone

    if isinstance(backbone, CNNBackbone):
        return _trace_cnn(backbone, obs, head, actions, cells)
    if isinstance(backbone, TransformerBackbone):
        return _trace_transformer(backbone, obs, episode_starts, state0)
    if isinstance(backbone, RecurrentBackbone):
        return _trace_recurrent(backbone, obs, episode_starts, state0)
    features, _ = backbone.forward_sequence(obs, state0, episode_starts)
    return {"features": _np(features)}


def _trace_transformer(bb, obs, episode_starts, state0) -> dict[str, np.ndarray]:
    o = bb.as_obs_tensor(obs, 2)
    features, _, weights = bb.forward_sequence(o, state0, episode_starts, return_weights=True)
    w = torch.stack(weights)  # [L, B, H, T, C + T]
    c = bb.context
    return {
        "features": _np(features),
        "attention": _np(w[..., c:]),
        "attention_cache": _np(w[..., :c]),
    }


def _trace_recurrent(bb, obs, episode_starts, state0) -> dict[str, np.ndarray]:
    o = bb.as_obs_tensor(obs, 2)
    t_len, batch = o.shape[:2]
    starts = bb._flags(episode_starts, (t_len, batch))
    state = bb._check_state(state0, batch)
    x_all = bb._embed(o, 2)  # [T, B, F]: the x^(t) the core reads
    n = bb.hidden_size
    records: dict[str, list] = {}
    h_layers = [state[0][:, layer] for layer in range(bb.num_layers)]
    c_layers = [state[1][:, layer] for layer in range(bb.num_layers)] if bb.cell == "lstm" else []
    for t in range(t_len):
        if starts is not None:  # h^(0) = 0 at an episode start
            keep = (~starts[t]).to(x_all.dtype)[:, None]
            h_layers = [h * keep for h in h_layers]
            c_layers = [c * keep for c in c_layers]
        x = x_all[t]
        step: dict[str, list] = {}
        for layer in range(bb.num_layers):
            w_ih = getattr(bb.core, f"weight_ih_l{layer}")
            w_hh = getattr(bb.core, f"weight_hh_l{layer}")
            b_ih = getattr(bb.core, f"bias_ih_l{layer}")
            b_hh = getattr(bb.core, f"bias_hh_l{layer}")
            h = h_layers[layer]
            gx = x @ w_ih.t() + b_ih
            gh = h @ w_hh.t() + b_hh
            if bb.cell == "lstm":  # torch rows (i, f, g, o)
                i, f, g, o_gate = (gx + gh).split(n, dim=1)
                i, f, g, o_gate = i.sigmoid(), f.sigmoid(), g.tanh(), o_gate.sigmoid()
                c = c_layers[layer] * f + i * g  # C^(t) = C^(t-1) ⊙ f_t + i_t ⊙ C~_t
                h = o_gate * torch.tanh(c)  # h^(t) = o_t ⊙ tanh(C^(t))
                c_layers[layer] = c
                parts = {"forget_gate": f, "input_gate": i, "candidate": g}
                parts.update({"output_gate": o_gate, "cell": c})
            elif bb.cell == "gru":  # torch rows (r, z, n)
                xr, xz, xn = gx.split(n, dim=1)
                hr, hz, hn = gh.split(n, dim=1)
                r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
                cand = torch.tanh(xn + r * hn)  # n_t = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
                h = (1 - z) * cand + z * h  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
                parts = {"reset_gate": r, "update_gate": z, "candidate": cand}
            else:
                h = torch.tanh(gx + gh)  # h^(t) = tanh(W_xh x + W_hh h + b_h)
                parts = {}
            parts["hidden"] = h
            h_layers[layer] = h
            x = h  # the next layer reads this layer's h (notes 000 §2.d)
            for key, value in parts.items():
                step.setdefault(key, []).append(value)
        for key, values in step.items():
            records.setdefault(key, []).append(torch.stack(values, dim=1))  # [B, L, H]
    out = {key: _np(torch.stack(values)) for key, values in records.items()}  # [T, B, L, H]
    out["features"] = out["hidden"][:, :, -1]
    return out


def _trace_cnn(bb, obs, head, actions, cells) -> dict[str, np.ndarray]:
    o = bb.as_obs_tensor(obs, 2)
    t_len, batch = o.shape[:2]
    x = bb.preprocess(o.reshape(t_len * batch, *o.shape[2:])).clone()  # [N, C, H, W], N = T·B
    with torch.set_grad_enabled(head is not None):
        x.requires_grad_(head is not None)
        features, h1 = bb.body.forward_traced(x)
        out = {
            "features": _np(features).reshape(t_len, batch, -1),
            "conv1": _np(h1).reshape(t_len, batch, *h1.shape[1:]),
        }
        if head is not None:
            scores = head(features)  # [N, nA]
            if actions is None:
                chosen = scores.argmax(-1)
            else:
                chosen = torch.as_tensor(np.asarray(actions), device=scores.device)
                chosen = chosen.reshape(-1).long()
            y = scores.gather(1, chosen[:, None]).sum()
            # y_n reads image n only (no layer mixes the batch), so ∂(Σ_n y_n)/∂x_n = ∂y_n/∂x_n:
            # one backward pass gives every step's gradient.
            (grad,) = torch.autograd.grad(y, x)
            saliency = grad.abs().sum(1)  # Σ_c |∂y/∂x_c|, [N, H, W]
            out["saliency"] = _np(saliency).reshape(t_len, batch, *saliency.shape[1:])
            out["saliency_action"] = _np(chosen).reshape(t_len, batch)
    if cells is not None:
        rows, cols = (int(n) for n in cells)
        out["conv1_cells"] = _pool_to_cells(out["conv1"], rows, cols, mean=True)
        if "saliency" in out:
            out["saliency_cells"] = _pool_to_cells(out["saliency"], rows, cols, mean=False)
    return out


def _cell_of(pixels: int, cells: int) -> np.ndarray:
    """`[cells, pixels]` 0/1: pixel p of a side lies in cell ⌊p · cells / pixels⌋."""
    if not 1 <= cells <= pixels:
        raise ValueError(f"cannot split {pixels} pixels into {cells} cells")
    owner = np.arange(pixels) * cells // pixels
    return (owner[None, :] == np.arange(cells)[:, None]).astype(np.float64)


def _pool_to_cells(maps: np.ndarray, rows: int, cols: int, mean: bool) -> np.ndarray:
    """`[..., H, W]` -> `[..., rows, cols]`: each cell's sum (or mean) of its pixels."""
    r, c = _cell_of(maps.shape[-2], rows), _cell_of(maps.shape[-1], cols)
    if mean:
        r, c = r / r.sum(1, keepdims=True), c / c.sum(1, keepdims=True)
    pooled = np.einsum("rh,...hw,cw->...rc", r, maps.astype(np.float64), c)
    return pooled.astype(maps.dtype)
