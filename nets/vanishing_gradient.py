"""The vanishing-gradient demonstration of notes 003 ("Vanishing Gradient with BPTT").

Description:
    Backpropagation through time multiplies one Jacobian per step (notes 003):

        dL/dh_k = dL/dh_T · Π_{t=k+1..T} dh_t/dh_{t-1},   RNN: dh_t/dh_{t-1} = (1 - tanh²(z_t)) W_hh

    With |tanh'| <= 1 and a small W_hh the product shrinks exponentially in T - k: the RNN
    cannot learn long-range dependencies (notes 000 §3.a). The LSTM's cell state carries
    dL/dc_k = dL/dc_T · Π diag(f_{t+1}) (notes 003), near 1 while the forget gate is open, and
    notes 003 ("GRU vs LSTM") writes the GRU as h_t = (1 - z_t) h_{t-1} + z_t h~_t, whose highway
    is diag(1 - z_t); torch's GRU, which is built here, swaps the roles of z:
    h_t = (1 - z_t) n_t + z_t h_{t-1}, so its highway is dh_t/dh_{t-1} = diag(z_t) + ... .

    `measure_gradient_norms` builds a freshly initialised fast torch core (as the
    backbones build it: LSTM forget bias 1), copies it into the gate-by-gate reference cell of
    [`lecture_rl.nets.cells`][lecture_rl.nets.cells], unrolls it over random input sequences, puts
    a loss on the last step's output (o = W_ho h_T + b_ho) and reads the total gradient ||dL/dh_k||
    for every k, averaged over a few sequences. `run_demo` does it for RNN, GRU and LSTM and
    saves the log-scale plot.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lecture_rl.nets.cells import GRUCell, LSTMCell, RNNCell

CELLS = ("rnn", "gru", "lstm")


def _reference_cell(
    cell: str, input_size: int, hidden_size: int, forget_bias: float, recurrent_scale: float
) -> nn.Module:
    """A fresh fast core, initialised as the backbones do, copied into the reference cell."""
    fast = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](input_size, hidden_size)
    with torch.no_grad():
        fast.weight_hh_l0.mul_(recurrent_scale)  # every W_hh-like block: the BPTT factor
        if cell == "lstm":  # torch rows (i, f, g, o): forget-gate bias b_f
            fast.bias_ih_l0[hidden_size : 2 * hidden_size].fill_(forget_bias)
            fast.bias_hh_l0[hidden_size : 2 * hidden_size].zero_()
    if cell == "rnn":
        return RNNCell(input_size, hidden_size).copy_from(fast)
    if cell == "gru":
        return GRUCell(input_size, hidden_size, reset_after=True).copy_from(fast)
    return LSTMCell(input_size, hidden_size).copy_from(fast)


def measure_gradient_norms(
    cell: str,
    seq_len: int = 100,
    hidden_size: int = 32,
    input_size: int = 1,
    seed: int = 0,
    trials: int = 8,
    forget_bias: float = 1.0,
    recurrent_scale: float = 1.0,
) -> np.ndarray:
    """`||dL/dh_k||` for k = 0..seq_len-1 at initialisation, averaged over `trials`
    random sequences (x_t ~ N(0, 1)); the loss is the output layer on the last step's h.

    `recurrent_scale` multiplies the recurrent weights (W_hh and its gate counterparts): a
    large value (e.g. 4 for the RNN) shows the other failure of notes 003, the exploding
    gradient, which "scaling down" fixes (`torch.nn.utils.clip_grad_norm_`).

    Returns a float64 array of shape `(seq_len,)`; entry `seq_len - 1` is the step the loss
    reads directly, entry 0 the farthest one.
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    for name, value in (("seq_len", seq_len), ("hidden_size", hidden_size), ("trials", trials)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    with torch.random.fork_rng(devices=[]):  # every draw from this seed, global RNG untouched
        torch.manual_seed(seed)
        ref = _reference_cell(cell, input_size, hidden_size, forget_bias, recurrent_scale)
        ref = ref.double()
        readout = nn.Linear(hidden_size, 1).double()  # o = W_ho h_T + b_ho
        x = torch.randn(seq_len, trials, input_size, dtype=torch.float64)
    # float64 so that 100 steps of decay (1e-20 and below) stay visible instead of rounding to 0
    h = torch.zeros(trials, hidden_size, dtype=torch.float64)
    state = (h, torch.zeros_like(h)) if cell == "lstm" else h
    hidden = []
    for t in range(seq_len):
        state = ref(x[t], state)
        h_t = state[0] if cell == "lstm" else state
        h_t.retain_grad()  # keep dL/dh_t: the total derivative through every later step
        hidden.append(h_t)
    loss = readout(hidden[-1]).sum()  # the sequences are independent: one loss each, summed
    loss.backward()
    norms = torch.stack([h_t.grad.norm(dim=1) for h_t in hidden])  # [T, trials]
    return norms.mean(dim=1).numpy()


def _atomic_savefig(fig, path: Path) -> None:
    """Save through a temporary file and a rename, with the umask's permissions; an `OSError`
    (a full disk) names `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename in (None, tmp):
            exc.filename = str(path)
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def plot_gradient_norms(norms: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Plot `||dL/dh_k||` against the distance T-1-k on a log axis; saved atomically."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, values in norms.items():
        values = np.asarray(values, dtype=float)
        distance = np.arange(len(values))[::-1]  # T-1-k: how many steps back from the loss
        ax.semilogy(distance, np.maximum(values, np.finfo(float).tiny), label=name.upper())
    ax.set_xlabel("steps back from the loss, T-1-k")
    ax.set_ylabel("||dL/dh_k||  (log scale)")
    ax.set_title("Vanishing gradient with BPTT at initialisation (notes 003)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        _atomic_savefig(fig, path)
    finally:
        plt.close(fig)
    return path


def run_demo(
    seq_len: int = 100,
    hidden_size: int = 32,
    seed: int = 0,
    out_path: str | os.PathLike = "vanishing_gradient.png",
) -> dict[str, np.ndarray]:
    """Measure RNN, GRU and LSTM (`measure_gradient_norms`) and save the plot."""
    norms = {
        cell: measure_gradient_norms(cell, seq_len=seq_len, hidden_size=hidden_size, seed=seed)
        for cell in CELLS
    }
    plot_gradient_norms(norms, out_path)
    return norms
