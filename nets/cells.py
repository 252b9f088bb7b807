"""Reference recurrent cells written gate by gate, exactly as the notes write them.

Description:
    These are for reading beside the notes, not for speed: each gate is its own `nn.Linear`
    on the concatenated input `[h^(t-1), x^(t)]` with ONE bias per gate, as in the notes.
    Training uses the fused torch modules (`lecture_rl.nets.recurrent`); `copy_to` /
    `copy_from` move weights between the two layouts and the tests prove both compute the same
    outputs and gradients.

    - [`RNNCell`][lecture_rl.nets.cells.RNNCell], notes 000 §2.c:
      `h^(t) = tanh(W_xh x^(t) + W_hh h^(t-1) + b_h)`, `o^(t) = W_ho h^(t) + b_ho`. Parameters n(m
      + n + 1) (notes 003 comparison table).
    - [`LSTMCell`][lecture_rl.nets.cells.LSTMCell], notes 000 §3.b: forget, input, candidate and
      output gates, cell state C^(t) = C^(t-1) ⊙ f_t + i_t ⊙ C~_t, h^(t) = o_t ⊙ tanh(C^(t)).
      Parameters (m + n + 1)·4n, plus (n + 1)·k with an output layer (notes 000 §3.c).
    - [`GRUCell`][lecture_rl.nets.cells.GRUCell], two forms that the notes both give:
      `reset_after=False` (default), notes 003 "GRU Gates": r and z on [h^(t-1), x^(t)],
      h~_t = tanh(W_h [r_t ⊙ h_{t-1}, x_t] + b_h), h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t;
      parameters 3n(m + n + 1) (notes 003 table). `reset_after=True`, notes 002 §4.4.8
      eqs. (1)-(4): n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn)),
      h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}: this is torch.nn.GRU's form, with 3n(m + n + 1) + n
      parameters (b_hn cannot merge with b_in because r_t multiplies it).

Relation to torch's counts:
    torch.nn.RNN / LSTM / GRU keep two bias vectors per gate (`bias_ih` and `bias_hh`), so
    torch's count is the notes' count plus one extra bias of size n per gate:
    RNN n(m+n+1) + n, LSTM (m+n+1)·4n + 4n, GRU 3n(m+n+1) + 3n. Copying reference -> torch puts
    the notes' bias in `bias_ih` and zeros in `bias_hh` (`b_hn` for the GRU); copying
    torch -> reference adds the two (exact, since they are summed before the nonlinearity).

    The notes' GRU forms write z in opposite senses (003: z writes the candidate, 002: z keeps
    h_{t-1}); `reset_after=False` has no exact torch counterpart (r acts before W_h), so
    `copy_to` refuses it with a message; its fast twin is
    [`notes_gru_sequence`][lecture_rl.nets.cells.notes_gru_sequence].
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn


def rnn_param_count(m: int, n: int) -> int:
    """n(m + n + 1): W_xh (n x m), W_hh (n x n), b_h (n); notes 003 comparison table."""
    return n * (m + n + 1)


def lstm_param_count(m: int, n: int, k: int | None = None) -> int:
    """(m + n + 1)·4n, and + (n + 1)·k with an output layer of k units; notes 000 §3.c."""
    return (m + n + 1) * 4 * n + ((n + 1) * k if k else 0)


def gru_param_count(m: int, n: int) -> int:
    """3n(m + n + 1): three weight blocks on [h, x] with one bias each; notes 003 table."""
    return 3 * n * (m + n + 1)


def torch_param_count(cell: str, m: int, n: int) -> int:
    """torch.nn.RNN/LSTM/GRU (one layer): the notes' count + one extra bias of n per gate."""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    return gates * n * (m + n + 1) + gates * n


# --------------------------------------------------------------------------------------------
# torch layout access: works for nn.RNN/LSTM/GRU (layer 0) and nn.RNNCell/LSTMCell/GRUCell
# --------------------------------------------------------------------------------------------
def _torch_params(fast: nn.Module) -> dict[str, torch.Tensor]:
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    if isinstance(fast, (nn.RNN, nn.LSTM, nn.GRU)):
        if fast.num_layers != 1 or fast.bidirectional or not fast.bias or fast.batch_first:
            raise ValueError(
                "copy between a reference cell and a torch module needs a single-layer, "
                "one-directional torch module with biases (num_layers=1, bias=True)"
            )
        return {k: getattr(fast, f"{k}_l0") for k in names}
    if isinstance(fast, (nn.RNNCell, nn.LSTMCell, nn.GRUCell)):
        if not fast.bias:
            raise ValueError("copy needs a torch cell with bias=True")
        return {k: getattr(fast, k) for k in names}
    raise TypeError(f"expected a torch RNN/LSTM/GRU module or cell, got {type(fast).__name__}")


def _fitting_params(fast: nn.Module, ref: nn.Module, gates: int) -> dict[str, torch.Tensor]:
    """`fast`'s weights and biases by torch's names, checked to fit `ref` (`gates` row blocks)."""
    fast_params = _torch_params(fast)
    want_ih = (gates * ref.hidden_size, ref.input_size)
    got_ih = tuple(fast_params["weight_ih"].shape)
    if got_ih != want_ih:
        raise ValueError(
            f"torch module has weight_ih of shape {got_ih}, the reference cell needs {want_ih} "
            f"(input_size={ref.input_size}, hidden_size={ref.hidden_size})"
        )
    return fast_params


def _row_blocks(cell: nn.Module, gates: Sequence[str]) -> Iterator[tuple[slice, nn.Linear]]:
    """Each gate's rows in torch's stacked weights (block `i` of `hidden_size` rows, in
    `gates`' order) with the cell's own `W_<gate>` layer."""
    n = cell.hidden_size
    for block, gate in enumerate(gates):
        yield slice(block * n, (block + 1) * n), getattr(cell, f"W_{gate}")


class _CellWithOutput(nn.Module):
    """A recurrent cell with the optional output layer of notes 000 §3.c (`W_ho`, k units)."""

    W_ho: nn.Linear | None

    def output(self, h: torch.Tensor) -> torch.Tensor:
        """o^(t) = W_ho h^(t) + b_ho (linear f_y; apply softmax yourself for classes)."""
        if self.W_ho is None:
            raise ValueError("this cell has no output layer; build it with output_size=k")
        return self.W_ho(h)


class RNNCell(_CellWithOutput):
    """Elman RNN cell, notes 000 §2.c. `forward(x[B, m], h[B, n]) -> h[B, n]`.

    Arguments:
        input_size: m. hidden_size: n. output_size: k for the optional output layer W_ho.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int | None = None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.W_xh = nn.Linear(input_size, hidden_size)  # W_xh and b_h
        self.W_hh = nn.Linear(hidden_size, hidden_size, bias=False)  # W_hh
        self.W_ho = nn.Linear(hidden_size, output_size) if output_size else None

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        return torch.tanh(self.W_xh(x) + self.W_hh(h))  # h^(t) = f_h(W_xh x + W_hh h + b_h)

    @torch.no_grad()
    def copy_to(self, fast: nn.Module) -> nn.Module:
        """Write these weights into a torch RNN/RNNCell (bias in bias_ih, zeros in bias_hh)."""
        p = _fitting_params(fast, self, 1)
        p["weight_ih"].copy_(self.W_xh.weight)
        p["weight_hh"].copy_(self.W_hh.weight)
        p["bias_ih"].copy_(self.W_xh.bias)
        p["bias_hh"].zero_()
        return fast

    @torch.no_grad()
    def copy_from(self, fast: nn.Module) -> RNNCell:
        """Read a torch RNN/RNNCell: b_h = bias_ih + bias_hh."""
        p = _fitting_params(fast, self, 1)
        self.W_xh.weight.copy_(p["weight_ih"])
        self.W_hh.weight.copy_(p["weight_hh"])
        self.W_xh.bias.copy_(p["bias_ih"] + p["bias_hh"])
        return self


class LSTMCell(_CellWithOutput):
    """LSTM cell gate by gate, notes 000 §3.b. `forward(x, (h, C)) -> (h, C)`.

    Each gate `W_g` is `nn.Linear(n + m, n)` on `[h^(t-1), x^(t)]`: its weight's first n
    columns multiply h^(t-1), the last m multiply x^(t); its bias is b_g.
    `gates(x, state)` returns f, i, C~, o for introspection.
    """

    GATES = ("f", "i", "c", "o")  # forget, input, candidate, output
    TORCH_ORDER = ("i", "f", "c", "o")  # torch's row blocks: input, forget, cell (g), output

    def __init__(self, input_size: int, hidden_size: int, output_size: int | None = None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        n_in = hidden_size + input_size
        self.W_f = nn.Linear(n_in, hidden_size)  # forget gate
        self.W_i = nn.Linear(n_in, hidden_size)  # input gate
        self.W_c = nn.Linear(n_in, hidden_size)  # candidate C~
        self.W_o = nn.Linear(n_in, hidden_size)  # output gate
        self.W_ho = nn.Linear(hidden_size, output_size) if output_size else None

    def gates(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """The four gates and the new state: keys f, i, c_tilde, o, c, h."""
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        h_prev, c_prev = state
        hx = torch.cat([h_prev, x], dim=1)  # [h^(t-1), x^(t)]
        f = torch.sigmoid(self.W_f(hx))  # f_t = σ(W_f [h^(t-1), x^(t)] + b_f)
        i = torch.sigmoid(self.W_i(hx))  # i_t = σ(W_i [h^(t-1), x^(t)] + b_i)
        c_tilde = torch.tanh(self.W_c(hx))  # C~_t = tanh(W_c [h^(t-1), x^(t)] + b_c)
        o = torch.sigmoid(self.W_o(hx))  # o_t = σ(W_o [h^(t-1), x^(t)] + b_o)
        c = c_prev * f + i * c_tilde  # C^(t) = C^(t-1) ⊙ f_t + i_t ⊙ C~_t
        h = o * torch.tanh(c)  # h^(t) = o_t ⊙ tanh(C^(t))
        return {"f": f, "i": i, "c_tilde": c_tilde, "o": o, "c": c, "h": h}

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.gates(x, state)
        return g["h"], g["c"]

    @torch.no_grad()
    def copy_to(self, fast: nn.Module) -> nn.Module:
        """Write into a torch LSTM/LSTMCell: rows (i, f, g, o); bias in bias_ih, bias_hh = 0."""
        p = _fitting_params(fast, self, 4)
        n = self.hidden_size
        for rows, lin in _row_blocks(self, self.TORCH_ORDER):
            p["weight_hh"][rows].copy_(lin.weight[:, :n])
            p["weight_ih"][rows].copy_(lin.weight[:, n:])
            p["bias_ih"][rows].copy_(lin.bias)
        p["bias_hh"].zero_()
        return fast

    # Intentional twin (duplicate scan): each cell's copy_to/copy_from spells out its own gate
    # layout (torch's order, its two biases) so it reads beside the notes; RNN, LSTM and GRU differ
    # in the blocks, not in the steps.
    @torch.no_grad()
    def copy_from(self, fast: nn.Module) -> LSTMCell:
        """Read a torch LSTM/LSTMCell: W_g = [weight_hh | weight_ih] rows, b_g = b_ih + b_hh."""
        p = _fitting_params(fast, self, 4)
        for rows, lin in _row_blocks(self, self.TORCH_ORDER):
            lin.weight.copy_(torch.cat([p["weight_hh"][rows], p["weight_ih"][rows]], dim=1))
            lin.bias.copy_(p["bias_ih"][rows] + p["bias_hh"][rows])
        return self


class GRUCell(nn.Module):
    """GRU cell gate by gate; `reset_after` picks the notes' form (see module docstring).

    `reset_after=False` (notes 003): `W_r, W_z, W_h` are `nn.Linear(n + m, n)`.
    `reset_after=True` (notes 002 §4.4.8, torch's form): `W_r, W_z` as above (b_r stands
    for b_ir + b_hr), `W_in` = `nn.Linear(m, n)` (b_in) and `W_hn` = `nn.Linear(n, n)`
    (b_hn). `gates(x, h)` returns r, z, the candidate and the new h for introspection.
    """

    TORCH_ORDER = ("r", "z", "n")

    def __init__(self, input_size: int, hidden_size: int, reset_after: bool = False):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.reset_after = bool(reset_after)
        n_in = hidden_size + input_size
        self.W_r = nn.Linear(n_in, hidden_size)  # reset gate
        self.W_z = nn.Linear(n_in, hidden_size)  # update gate
        if self.reset_after:
            self.W_in = nn.Linear(input_size, hidden_size)  # W_in x + b_in
            self.W_hn = nn.Linear(hidden_size, hidden_size)  # W_hn h + b_hn
        else:
            self.W_h = nn.Linear(n_in, hidden_size)  # candidate on [r ⊙ h, x]

    def gates(self, x: torch.Tensor, h: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Keys r, z, candidate, h (the new hidden state)."""
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        hx = torch.cat([h, x], dim=1)  # [h_{t-1}, x_t]
        r = torch.sigmoid(self.W_r(hx))  # r_t = σ(W_r [h_{t-1}, x_t] + b_r)
        z = torch.sigmoid(self.W_z(hx))  # z_t = σ(W_z [h_{t-1}, x_t] + b_z)
        if self.reset_after:  # notes 002 §4.4.8
            cand = torch.tanh(self.W_in(x) + r * self.W_hn(h))  # n_t, eq. (3)
            h_new = (1 - z) * cand + z * h  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}, eq. (4)
        else:  # notes 003 "GRU Gates"
            cand = torch.tanh(self.W_h(torch.cat([r * h, x], dim=1)))  # h~_t
            h_new = (1 - z) * h + z * cand  # h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t
        return {"r": r, "z": z, "candidate": cand, "h": h_new}

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        return self.gates(x, h)["h"]

    def _require_torch_form(self) -> None:
        if not self.reset_after:
            raise ValueError(
                "the notes 003 GRU applies r_t to h_{t-1} before W_h, torch.nn.GRU applies it "
                "after (notes 002 §4.4.8); no exact weight copy exists. Use "
                "GRUCell(..., reset_after=True) to match torch.nn.GRU"
            )

    @torch.no_grad()
    def copy_to(self, fast: nn.Module) -> nn.Module:
        """Write into a torch GRU/GRUCell (needs `reset_after=True`): rows (r, z, n)."""
        self._require_torch_form()
        p = _fitting_params(fast, self, 3)
        n = self.hidden_size
        for rows, lin in _row_blocks(self, ("r", "z")):
            p["weight_hh"][rows].copy_(lin.weight[:, :n])
            p["weight_ih"][rows].copy_(lin.weight[:, n:])
            p["bias_ih"][rows].copy_(lin.bias)
            p["bias_hh"][rows].zero_()
        rows = slice(2 * n, 3 * n)
        p["weight_ih"][rows].copy_(self.W_in.weight)
        p["bias_ih"][rows].copy_(self.W_in.bias)
        p["weight_hh"][rows].copy_(self.W_hn.weight)
        p["bias_hh"][rows].copy_(self.W_hn.bias)  # b_hn stays inside r_t ⊙ (...)
        return fast

    @torch.no_grad()
    def copy_from(self, fast: nn.Module) -> GRUCell:
        """Read a torch GRU/GRUCell (needs `reset_after=True`): b_r = b_ir + b_hr, etc."""
        self._require_torch_form()
        p = _fitting_params(fast, self, 3)
        n = self.hidden_size
        for rows, lin in _row_blocks(self, ("r", "z")):
            lin.weight.copy_(torch.cat([p["weight_hh"][rows], p["weight_ih"][rows]], dim=1))
            lin.bias.copy_(p["bias_ih"][rows] + p["bias_hh"][rows])
        rows = slice(2 * n, 3 * n)
        self.W_in.weight.copy_(p["weight_ih"][rows])
        self.W_in.bias.copy_(p["bias_ih"][rows])
        self.W_hn.weight.copy_(p["weight_hh"][rows])
        self.W_hn.bias.copy_(p["bias_hh"][rows])
        return self


def run_cell(
    cell: nn.Module, x: torch.Tensor, state: torch.Tensor | tuple | None = None
) -> tuple[torch.Tensor, torch.Tensor | tuple]:
    """Unroll a reference cell over `x[T, B, m]` (the notes' loop over t); returns the
    hidden states `[T, B, n]` and the final state (`h`, or `(h, C)` for the LSTM)."""
    hs = []
    for t in range(x.shape[0]):
        state = cell(x[t], state)
        hs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(hs), state


def notes_gru_sequence(cell: GRUCell, x: torch.Tensor, h: torch.Tensor | None = None):
    """A faster unroll of the notes 003 GRU (`reset_after=False`) over `x[T, B, m]`.

    The input halves of all three weight blocks are applied to the whole sequence in one
    matrix product (as cuDNN does), leaving only the h-dependent products inside the loop.
    Returns `(hidden states [T, B, n], final h)`; equals
    [`run_cell`][lecture_rl.nets.cells.run_cell] on the same cell.
    """
    if cell.reset_after:
        raise ValueError("notes_gru_sequence is for the notes 003 form (reset_after=False)")
    n = cell.hidden_size
    w = torch.cat([cell.W_r.weight, cell.W_z.weight, cell.W_h.weight], dim=0)  # [3n, n + m]
    b = torch.cat([cell.W_r.bias, cell.W_z.bias, cell.W_h.bias])
    w_h, w_x = w[:, :n], w[:, n:]
    x_proj = torch.nn.functional.linear(x, w_x, b)  # every W_g x_t + b_g at once: [T, B, 3n]
    if h is None:
        h = x.new_zeros(x.shape[1], n)
    hs = []
    for t in range(x.shape[0]):
        xr, xz, xh = x_proj[t].split(n, dim=1)
        rz = torch.sigmoid(torch.cat([xr, xz], 1) + h @ w_h[: 2 * n].t())
        r, z = rz.split(n, dim=1)
        cand = torch.tanh(xh + (r * h) @ w_h[2 * n :].t())  # h~_t = tanh(W_h [r ⊙ h, x] + b_h)
        h = (1 - z) * h + z * cand
        hs.append(h)
    return torch.stack(hs), h
