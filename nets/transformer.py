"""A causal Transformer encoder over the episode so far, with a key/value cache for acting.

Description:
    Each observation x_n becomes a token `embed(x_n) + PE(n)` (sinusoidal positional encoding
    of the step n inside the episode, notes 000 §5.b). Every layer is pre-norm:

        q_n = β_q + Ω_q x_n,  k_m = β_k + Ω_k x_m,  v_m = β_v + Ω_v x_m          (notes 000 §5.a)
        Sa[X] = V · Softmax[Kᵀ Q / √D_q]   per head, heads concatenated         (notes 000 §5.a/b)
        x <- x + W_o Sa[LN(x)];   x <- x + FFN(LN(x))

    computed by `torch.nn.functional.scaled_dot_product_attention` (fused kernels on a GPU).
    The readable reference of the same attention is `lecture_rl.nets.attention`.

    The mask makes it an agent's memory: the query at step t attends only to keys m with
    `t - context < m <= t` (causal, bounded context) and m in the same episode as t (an
    episode start hides everything before it).

State (the key/value cache), batch on dim 0:
    `keys[B, num_layers, context, d_model]`, `values[B, num_layers, context, d_model]`: the
    projected k_m, v_m of the last `context` steps per layer; `valid[B, context]`: 1 where
    the slot holds a step of the current episode; `position[B]`: the step index n of the next
    observation inside its episode. `step` projects only the new observation and attends over
    the cache; `forward_sequence` runs a whole rollout `[T, B]` in parallel (in blocks of
    4·context steps when longer, to bound memory), attending over the cache it was given plus
    the rollout, and equals calling `step` T times.

Arguments:
    d_model: token width D (default 64); `hidden_size` is accepted as a synonym.
    num_heads: H heads of width D / H (default 4).
    num_layers: encoder layers (default 2).
    context: keys a query can see, itself included (default 64).
    ff_size: hidden width of the feed-forward block (default 2·d_model).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from lecture_rl.nets.attention import sinusoidal_encoding
from lecture_rl.nets.backbone import Backbone, Cuts, State, _check_positive
from lecture_rl.nets.recurrent import make_input_encoder


class CausalSelfAttentionLayer(nn.Module):
    """One pre-norm encoder layer: multi-head self-attention + feed-forward, both residual."""

    def __init__(self, d_model: int, num_heads: int, ff_size: int):
        super().__init__()
        self.num_heads = num_heads
        self.norm_attn = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)  # [Ω_q; Ω_k; Ω_v] x + [β_q; β_k; β_v]
        self.out = nn.Linear(d_model, d_model)  # concatenated heads -> D
        self.norm_ff = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_size), nn.GELU(), nn.Linear(ff_size, d_model))

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """`[B, L, D]` -> `[B, H, L, D/H]`."""
        b, n, d = x.shape
        return x.view(b, n, self.num_heads, d // self.num_heads).transpose(1, 2)

    def _attend(self, x, q, keys, values, mask, return_weights):
        qh, kh, vh = self.split_heads(q), self.split_heads(keys), self.split_heads(values)
        weights = None
        if return_weights:  # the explicit softmax[kᵀq / √D_q], for introspection
            scores = qh @ kh.transpose(-2, -1) / math.sqrt(qh.shape[-1])
            weights = torch.softmax(scores.masked_fill(~mask[:, None], float("-inf")), dim=-1)
            attended = weights @ vh
        else:  # Sa[X] = V · Softmax[Kᵀ Q / √D_q], fused
            attended = F.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask[:, None])
        b, _, t, dh = attended.shape
        x = x + self.out(attended.transpose(1, 2).reshape(b, t, self.num_heads * dh))
        x = x + self.ff(self.norm_ff(x))
        return x, weights

    def step(
        self,
        x: torch.Tensor,
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
        k_out: torch.Tensor,
        v_out: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """One new token `x[B, 1, D]`: shift the `[B, C, D]` cache by one into
        `k_out` / `v_out` (the oldest key leaves the window), attend over it."""
        q, k, v = self.qkv(self.norm_attn(x)).chunk(3, dim=-1)
        k_out[:, :-1] = k_cache[:, 1:]
        k_out[:, -1:] = k
        v_out[:, :-1] = v_cache[:, 1:]
        v_out[:, -1:] = v
        return self._attend(x, q, k_out, v_out, mask, False)[0]

    def forward(
        self,
        x: torch.Tensor,
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
        mask: torch.Tensor,
        return_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """`x[B, T, D]` with cached `k, v [B, C, D]` and `mask[B, T, C + T]` (True = see).

        Returns the new `x`, the keys and values of all `C + T` positions, and the attention
        weights `[B, H, T, C + T]` when asked.
        """
        q, k, v = self.qkv(self.norm_attn(x)).chunk(3, dim=-1)  # q_n, k_m, v_m
        keys = torch.cat([k_cache, k], dim=1)
        values = torch.cat([v_cache, v], dim=1)
        x, weights = self._attend(x, q, keys, values, mask, return_weights)
        return x, keys, values, weights


class TransformerBackbone(Backbone):
    """`transformer` backbone: causal self-attention over the episode (see module docstring)."""

    name = "transformer"
    is_recurrent = True

    def __init__(
        self,
        observation_space: spaces.Space,
        d_model: int | None = None,
        num_heads: int = 4,
        num_layers: int = 2,
        context: int = 64,
        ff_size: int | None = None,
        hidden_size: int | None = None,
        cnn_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__(observation_space)
        d_model = d_model if d_model is not None else (hidden_size or 64)
        self.d_model = _check_positive("d_model", d_model)
        self.num_heads = _check_positive("num_heads", num_heads)
        if self.d_model % self.num_heads or self.d_model % 2:
            raise ValueError(
                f"d_model ({self.d_model}) must be even and divisible by num_heads "
                f"({self.num_heads}), e.g. d_model=64 with num_heads=4"
            )
        self.num_layers = _check_positive("num_layers", num_layers)
        self.context = _check_positive("context", context)
        ff_size = _check_positive("ff_size", ff_size or 2 * self.d_model)
        self.input_encoder, input_size = make_input_encoder(self, None, cnn_kwargs)
        self.embed = nn.Linear(input_size, self.d_model)
        self.layers = nn.ModuleList(
            CausalSelfAttentionLayer(self.d_model, self.num_heads, ff_size)
            for _ in range(self.num_layers)
        )
        self.norm = nn.LayerNorm(self.d_model)
        self.output_dim = self.d_model

    # ---------------------------------------------------------------------------- state
    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """An empty cache: zero keys/values, no valid slot, position 0."""
        device = self.device if device is None else device
        shape = (batch_size, self.num_layers, self.context, self.d_model)
        return (
            torch.zeros(shape, device=device),
            torch.zeros(shape, device=device),
            torch.zeros(batch_size, self.context, device=device),
            torch.zeros(batch_size, device=device),
        )

    def _check_state(self, state: State, batch: int) -> State:
        if not state:
            return self.initial_state(batch)
        expected = [tuple(s.shape) for s in self.initial_state(batch, "meta")]
        got = [tuple(s.shape) for s in state]
        if got != expected:
            raise ValueError(
                f"transformer state must be tensors of shapes {expected} (keys, values, valid, "
                f"position; batch first), got {got}; build it with initial_state(batch_size)"
            )
        return state

    # ---------------------------------------------------------------------------- forward
    def step(
        self, obs: Any, state: State = (), episode_start: Any = None
    ) -> tuple[torch.Tensor, State]:
        """One step: attend from the new observation over the cached episode so far."""
        o = self.as_obs_tensor(obs, 1)
        batch = o.shape[0]
        keys, values, valid, position = self._check_state(state, batch)
        flags = self._flags(episode_start, (batch,))
        if flags is not None:  # an episode start empties the window and restarts n at 0
            valid = valid * (~flags).to(valid.dtype)[:, None]
            position = position * (~flags).to(position.dtype)
        new_valid = torch.cat([valid[:, 1:], valid.new_ones(batch, 1)], dim=1)
        mask = new_valid.bool()[:, None, :]  # [B, 1 query, C keys]
        x = self.embed(self.input_encoder(self.preprocess(o)))
        x = (x + sinusoidal_encoding(position, self.d_model))[:, None]  # [B, 1, D]
        new_keys, new_values = torch.empty_like(keys), torch.empty_like(values)
        for i, layer in enumerate(self.layers):
            x = layer.step(x, keys[:, i], values[:, i], new_keys[:, i], new_values[:, i], mask)
        return self.norm(x[:, 0]), (new_keys, new_values, new_valid, position + 1)

    def forward_sequence(
        self,
        obs: Any,
        state0: State = (),
        episode_starts: Any = None,
        *,
        return_weights=False,
        start_times: Cuts = None,
    ) -> tuple[torch.Tensor, State] | tuple[torch.Tensor, State, list[torch.Tensor]]:
        """A rollout `obs[T, B, ...]` in parallel over time; equals `step` T times.

        `start_times` is accepted for the common interface and not needed: the episode
        starts become the attention mask on the device.

        With `return_weights=True` also returns the attention weights per layer,
        `[B, H, T, context + T]` each (columns: the cache slots, then the rollout's steps).
        """
        o = self.as_obs_tensor(obs, 2)
        t_len, batch = o.shape[:2]
        k_cache, v_cache, valid0, pos0 = self._check_state(state0, batch)
        starts = self._flags(episode_starts, (t_len, batch))
        block = 4 * self.context
        if t_len > block and not return_weights:
            # Long rollouts go in blocks of 4·context steps, carrying the cache: the same
            # numbers (a query never sees more than `context` keys back) in bounded memory.
            state, outs = (k_cache, v_cache, valid0, pos0), []
            for begin in range(0, t_len, block):
                part = None if starts is None else starts[begin : begin + block]
                features, state = self.forward_sequence(o[begin : begin + block], state, part)
                outs.append(features)
            return torch.cat(outs), state
        if starts is None:
            starts = torch.zeros(t_len, batch, dtype=torch.bool, device=o.device)
        mask, position, valid_keys = self._mask_and_positions(starts, valid0, pos0)
        flat = o.reshape(t_len * batch, *o.shape[2:])
        x = self.embed(self.input_encoder(self.preprocess(flat))).view(t_len, batch, -1)
        x = x.transpose(0, 1) + sinusoidal_encoding(position, self.d_model)  # [B, T, D]
        keys_out, values_out, weights = [], [], []
        for i, layer in enumerate(self.layers):
            x, keys, values, w = layer(x, k_cache[:, i], v_cache[:, i], mask, return_weights)
            keys_out.append(keys[:, -self.context :])
            values_out.append(values[:, -self.context :])
            weights.append(w)
        features = self.norm(x).transpose(0, 1)  # [T, B, D]
        state = (
            torch.stack(keys_out, dim=1),
            torch.stack(values_out, dim=1),
            valid_keys[:, -self.context :],
            position[:, -1] + 1,
        )
        return (features, state, weights) if return_weights else (features, state)

    def _mask_and_positions(
        self, starts: torch.Tensor, valid0: torch.Tensor, pos0: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Attention mask `[B, T, C + T]`, positions `[B, T]`, validity after the rollout.

        Query t sees key m when `t - context < m <= t` (causal, bounded) and m lies in t's
        episode. Cache slots count as steps `-C .. -1` of the episode that was running.
        """
        t_len, batch = starts.shape
        c = self.context
        device = starts.device
        s = starts.t()  # [B, T]
        episode = torch.cumsum(s.long(), dim=1)  # episode id of each step; 0 = the cached one
        t_idx = torch.arange(t_len, device=device)
        last_start = torch.cummax(torch.where(s, t_idx, -1), dim=1).values  # [B, T]
        position = torch.where(last_start >= 0, t_idx - last_start, pos0[:, None] + t_idx)
        # Key columns: the C cache slots (times -C..-1), then the rollout's steps (0..T-1).
        key_time = torch.arange(-c, t_len, device=device)
        key_episode = torch.cat([episode.new_zeros(batch, c), episode], dim=1)  # [B, C + T]
        key_valid = torch.cat([valid0 > 0.5, torch.ones_like(s)], dim=1)
        age = t_idx[:, None] - key_time[None, :]  # [T, C + T]
        in_window = (age >= 0) & (age < c)
        same_episode = episode[:, :, None] == key_episode[:, None, :]
        mask = in_window[None] & same_episode & key_valid[:, None, :]
        valid_after = (key_episode == episode[:, -1:]) & key_valid
        return mask, position.float(), valid_after.float()
