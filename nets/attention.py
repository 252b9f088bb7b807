"""Reference attention, written as the notes write it.

Description:
    - `SelfAttention`, notes 000 §5.a: q_n = β_q + Ω_q x_n, k_m = β_k + Ω_k x_m,
      v_m = β_v + Ω_v x_m; a[x_m, x_n] = softmax_m[k_mᵀ q_n / √D_q]; Sa[X] = V · Softmax[KᵀQ/√D_q]
      (here rows are positions, so the code reads `weights @ V`).
    - `MultiHeadAttention`, notes 000 §5.b: H independent heads, outputs concatenated,
      then one output projection. `copy_to` / `copy_from` map it onto
      `torch.nn.MultiheadAttention`; the fast path everyone trains with is
      `torch.nn.functional.scaled_dot_product_attention` (see `lecture_rl.nets.transformer`).
    - `sinusoidal_encoding`: the explicit positional encoding of notes 000 §5.b,
      PE(n)[2i] = sin(n / 10000^(2i/D)), PE(n)[2i+1] = cos(n / 10000^(2i/D)).
    - `BahdanauAttention`, notes 000 §4.b: e_tj = v_aᵀ tanh(W_a s_{t-1} + U_a h_j),
      α_tj = softmax_j(e_tj), c_t = Σ_j α_tj h_j.
    - `LuongAttention`, notes 000 §4.c: score(h_t, h̄_s) = h_tᵀ h̄_s (dot),
      h_tᵀ W_a h̄_s (general), v_aᵀ tanh(W_a [h_t; h̄_s]) (concat).

    Masks are boolean with True = may attend (the convention of
    `scaled_dot_product_attention`).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_encoding(position: torch.Tensor, d_model: int) -> torch.Tensor:
    """PE(n)[2i] = sin(n / 10000^(2i/D)), PE(n)[2i+1] = cos(n / 10000^(2i/D)); any shape of n.

    Returns `[*position.shape, d_model]`; `sinusoidal_encoding(torch.arange(N), D)` is the
    usual `[N, D]` table.
    """
    i = torch.arange(0, d_model, 2, device=position.device, dtype=torch.float32)
    freq = torch.exp(-math.log(10000.0) * i / d_model)  # 1 / 10000^(2i/D)
    angle = position.float().unsqueeze(-1) * freq
    pe = torch.zeros(*position.shape, d_model, device=position.device)
    pe[..., 0::2] = torch.sin(angle)
    pe[..., 1::2] = torch.cos(angle[..., : d_model // 2])
    return pe


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)


class SelfAttention(nn.Module):
    """One head of scaled dot-product self-attention, notes 000 §5.a.

    ``forward(X[B, N, D_in], mask[N, N] or [B, N, N] | None) -> (Sa[X] [B, N, D_v],
    weights [B, N, N])` where `weights[b, n, m] = a[x_m, x_n]`` (row n: the query position).
    """

    def __init__(self, input_size: int, d_q: int, d_v: int | None = None):
        super().__init__()
        self.d_q = d_q
        self.query = nn.Linear(input_size, d_q)  # q_n = β_q + Ω_q x_n
        self.key = nn.Linear(input_size, d_q)  # k_m = β_k + Ω_k x_m
        self.value = nn.Linear(input_size, d_v or d_q)  # v_m = β_v + Ω_v x_m

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        q, k, v = self.query(x), self.key(x), self.value(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_q)  # k_mᵀ q_n / √D_q
        weights = _masked_softmax(scores, mask)  # a[x_m, x_n] = softmax_m[...]
        return weights @ v, weights  # Sa[X]: each position a weighted sum of the values


class MultiHeadAttention(nn.Module):
    """H heads of `SelfAttention` on `D / H` dims each, concatenated, then Ω_o.

    `forward(X[B, N, D], mask) -> (out [B, N, D], weights [B, H, N, N])`.
    """

    def __init__(self, d_model: int, num_heads: int):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.d_model, self.num_heads = d_model, num_heads
        d_head = d_model // num_heads
        self.heads = nn.ModuleList(SelfAttention(d_model, d_head) for _ in range(num_heads))
        self.out = nn.Linear(d_model, d_model)  # concatenated heads -> D

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        outs, weights = zip(*(head(x, mask) for head in self.heads))
        return self.out(torch.cat(outs, dim=-1)), torch.stack(weights, dim=1)

    def _blocks(self) -> list[tuple[str, slice, nn.Linear]]:
        d, dh = self.d_model, self.d_model // self.num_heads
        blocks = []
        for h, head in enumerate(self.heads):
            for part, lin in enumerate((head.query, head.key, head.value)):
                blocks.append(
                    (f"{h}.{part}", slice(part * d + h * dh, part * d + (h + 1) * dh), lin)
                )
        return blocks

    @torch.no_grad()
    def copy_to(self, fast: nn.MultiheadAttention) -> nn.MultiheadAttention:
        """Write into `torch.nn.MultiheadAttention(d_model, num_heads, batch_first=True)`.

        Its `in_proj_weight` stacks [Ω_q; Ω_k; Ω_v], head h owning rows h·D/H..(h+1)·D/H of
        each block.
        """
        self._check_fast(fast)
        for _, rows, lin in self._blocks():
            fast.in_proj_weight[rows].copy_(lin.weight)
            fast.in_proj_bias[rows].copy_(lin.bias)
        fast.out_proj.weight.copy_(self.out.weight)
        fast.out_proj.bias.copy_(self.out.bias)
        return fast

    @torch.no_grad()
    def copy_from(self, fast: nn.MultiheadAttention) -> MultiHeadAttention:
        """Read `torch.nn.MultiheadAttention` weights (the inverse of `copy_to`)."""
        self._check_fast(fast)
        for _, rows, lin in self._blocks():
            lin.weight.copy_(fast.in_proj_weight[rows])
            lin.bias.copy_(fast.in_proj_bias[rows])
        self.out.weight.copy_(fast.out_proj.weight)
        self.out.bias.copy_(fast.out_proj.bias)
        return self

    def _check_fast(self, fast: nn.MultiheadAttention) -> None:
        if (
            not isinstance(fast, nn.MultiheadAttention)
            or fast.embed_dim != self.d_model
            or fast.num_heads != self.num_heads
            or fast.in_proj_weight is None
            or fast.in_proj_bias is None
        ):
            raise ValueError(
                f"expected torch.nn.MultiheadAttention({self.d_model}, {self.num_heads}) with "
                "bias=True and equal q/k/v sizes"
            )


class BahdanauAttention(nn.Module):
    """Additive attention, notes 000 §4.b: scores from the previous decoder state s_{t-1}.

    ``forward(s_prev[B, d_s], h[B, T_x, d_h], mask[B, T_x] | None) -> (c_t [B, d_h],
    alpha [B, T_x])``.
    """

    def __init__(self, decoder_size: int, encoder_size: int, attention_size: int):
        super().__init__()
        self.W_a = nn.Linear(decoder_size, attention_size, bias=False)
        self.U_a = nn.Linear(encoder_size, attention_size, bias=False)
        self.v_a = nn.Linear(attention_size, 1, bias=False)

    def forward(
        self, s_prev: torch.Tensor, h: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.v_a(torch.tanh(self.W_a(s_prev)[:, None] + self.U_a(h))).squeeze(-1)  # e_tj
        alpha = _masked_softmax(e, mask)  # α_tj = exp(e_tj) / Σ_k exp(e_tk)
        context = (alpha[..., None] * h).sum(dim=1)  # c_t = Σ_j α_tj h_j
        return context, alpha


class LuongAttention(nn.Module):
    """Multiplicative attention, notes 000 §4.c: scores from the current decoder state h_t.

    `score` is `"dot"` (needs equal sizes), `"general"` or `"concat"`.
    ``forward(h_t[B, d], h_bar[B, S, d_s], mask[B, S] | None) -> (context [B, d_s],
    alpha [B, S])``.
    """

    SCORES = ("dot", "general", "concat")

    def __init__(
        self,
        hidden_size: int,
        score: str = "general",
        source_size: int | None = None,
        attention_size: int | None = None,
    ):
        super().__init__()
        if score not in self.SCORES:
            raise ValueError(f"score must be one of {self.SCORES}, got {score!r}")
        source_size = source_size or hidden_size
        if score == "dot" and source_size != hidden_size:
            raise ValueError("the dot score needs source_size == hidden_size (h_tᵀ h̄_s)")
        self.score = score
        if score == "general":
            self.W_a = nn.Linear(source_size, hidden_size, bias=False)
        elif score == "concat":
            size = attention_size or hidden_size
            self.W_a = nn.Linear(hidden_size + source_size, size, bias=False)
            self.v_a = nn.Linear(size, 1, bias=False)

    def scores(self, h_t: torch.Tensor, h_bar: torch.Tensor) -> torch.Tensor:
        if self.score == "dot":
            return (h_bar @ h_t[..., None]).squeeze(-1)  # h_tᵀ h̄_s
        if self.score == "general":
            return (self.W_a(h_bar) @ h_t[..., None]).squeeze(-1)  # h_tᵀ W_a h̄_s
        pairs = torch.cat([h_t[:, None].expand(-1, h_bar.shape[1], -1), h_bar], dim=-1)
        return self.v_a(torch.tanh(self.W_a(pairs))).squeeze(-1)  # v_aᵀ tanh(W_a [h_t; h̄_s])

    def forward(
        self, h_t: torch.Tensor, h_bar: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = _masked_softmax(self.scores(h_t, h_bar), mask)
        return (alpha[..., None] * h_bar).sum(dim=1), alpha
