"""What a memory network does inside, step by step, as numpy arrays for a viewer to draw.

Description:
    :func:`trace_backbone` runs a backbone over a rollout ``obs[T, B, ...]`` (with optional
    episode starts) and returns, per step:

    - LSTM (notes 000 §3.b): ``forget_gate`` f_t, ``input_gate`` i_t, ``candidate`` C~_t,
      ``output_gate`` o_t, ``cell`` C^(t), ``hidden`` h^(t); each ``[T, B, num_layers, H]``.
    - GRU (torch's form, notes 002 §4.4.8 eqs. (1)-(4)): ``reset_gate`` r_t, ``update_gate``
      z_t (here z_t ≈ 1 keeps h_{t-1}), ``candidate`` n_t, ``hidden`` h_t.
    - RNN (notes 000 §2.c): ``hidden`` h^(t).
    - Transformer (notes 000 §5.a): ``attention`` ``[num_layers, B, heads, T, T]``, the weights
      a[x_m, x_n] of query step n (axis 3) on key step m (axis 4) within the rollout, and
      ``attention_cache`` ``[num_layers, B, heads, T, context]`` on the keys cached before it.

    Every result also has ``features`` ``[T, B, D]``, equal to ``forward_sequence``'s output
    (the gates are recomputed from the fast module's own weights, one step at a time).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lecture_rl.nets.backbone import Backbone, State


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


@torch.no_grad()
def trace_backbone(
    backbone: Backbone, obs: Any, episode_starts: Any = None, state0: State = ()
) -> dict[str, np.ndarray]:
    """Gate activations / cell state (LSTM, GRU, RNN) or attention weights (Transformer)."""
    from lecture_rl.nets.recurrent import RecurrentBackbone
    from lecture_rl.nets.transformer import TransformerBackbone

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
