"""`vanishing-gradient`: ‖∂L/∂h_k‖ against k for RNN, GRU and LSTM (notes 003, 000 §3.a)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lecture_rl.nets.vanishing_gradient import measure_gradient_norms
from lecture_rl.runners.experiments.engine import Context, runner
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure, label_axes

NAME = "vanishing-gradient"
CLAIM = (
    "backpropagation through time makes the RNN's gradient vanish with the distance; the "
    "LSTM's cell path (forget bias 1) keeps it far longer; a large recurrent weight makes "
    "it explode, which clipping bounds"
)
CITES = (
    "notes 003, BPTT: dh_t/dh_{t-1} = (1 − tanh²(z)) W_hh and 'Problem' (exploding gradient → "
    "gradient clipping; vanishing gradient → LSTM/GRU); notes 000 §3.a (Vanishing Gradient "
    "Problem)"
)
BACK = 50  # the distance the verdict reads


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when, 50 steps back, the RNN's ratio is below 1e-3 while the LSTM's is above 100
    times the RNN's, and the scaled-up RNN's gradient grows (ratio > 1)."""
    r = numbers["ratio"]
    held = r["rnn"] < 1e-3 and r["lstm"] > 100 * r["rnn"] and numbers["exploding_ratio"] > 1
    return Verdict(
        held,
        f"‖∂L/∂h‖ {BACK} steps back over 0 steps back: RNN {r['rnn']:.1e}, "
        f"GRU {r['gru']:.1e}, LSTM {r['lstm']:.1e}; RNN with W_hh × "
        f"{numbers['scale']}: {numbers['exploding_ratio']:.1e}, clipped to norm 1: "
        f"total {numbers['clipped_norm']:.2f} (claim: RNN < 1e-3, LSTM > 100 × RNN, "
        "exploding > 1)",
    )


def ratio(norms: np.ndarray, back: int = BACK) -> float:
    """‖∂L/∂h_{T-1-back}‖ / ‖∂L/∂h_{T-1}‖."""
    return float(norms[-1 - back] / norms[-1])


def measure(ctx: Context, report: Report) -> dict[str, Any]:
    seeds = ctx.seed_count(3, 10)
    seq_len = 60 if ctx.quick else 100
    scale = 4.0
    curves: dict[str, np.ndarray] = {}
    settings = {
        "RNN": ("rnn", 1.0, 1.0),
        "GRU": ("gru", 1.0, 1.0),
        "LSTM (forget bias 1)": ("lstm", 1.0, 1.0),
        "LSTM (forget bias 0)": ("lstm", 0.0, 1.0),
        f"RNN, W_hh × {scale}": ("rnn", 1.0, scale),
    }
    for label, (cell, bias, rscale) in settings.items():
        curves[label] = np.array(
            [
                measure_gradient_norms(
                    cell, seq_len=seq_len, seed=seed, forget_bias=bias, recurrent_scale=rscale
                )
                for seed in ctx.seed_range(seeds)
            ]
        )
    by_cell = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM (forget bias 1)"}
    numbers: dict[str, Any] = {
        "seeds": seeds,
        "seq_len": seq_len,
        "scale": scale,
        "back": BACK,
        "ratio": {
            c: float(np.median([ratio(row) for row in curves[k]])) for c, k in by_cell.items()
        },
        "ratio_per_seed": {k: [ratio(row) for row in v] for k, v in curves.items()},
        "lstm_bias0_ratio": float(np.median([ratio(r) for r in curves["LSTM (forget bias 0)"]])),
        "exploding_ratio": float(np.median([ratio(r) for r in curves[f"RNN, W_hh × {scale}"]])),
    }
    numbers["clipped_norm"] = clipped_norm(scale, seq_len)
    fig, ax = figure()
    distance = np.arange(seq_len)[::-1]
    for label, rows in curves.items():
        band(ax, distance, np.log10(np.maximum(rows, 1e-300)), label)
    label_axes(
        ax,
        "steps back from the loss, T−1−k",
        "log10 ‖∂L/∂h_k‖",
        f"BPTT at initialisation, hidden 32 ({seeds} seeds)",
        fontsize=8,
    )
    fig.tight_layout()
    report.settings = {
        "seq_len": seq_len,
        "hidden_size": 32,
        "seeds": seeds,
        "recurrent_scale": scale,
        "trials_per_seed": 8,
    }
    report.text(
        "Freshly initialised cells (as the backbones build them), random inputs, a loss "
        "on the last step's output; ∂L/∂h_k is the total derivative through every later "
        "step. The LSTM's slow decay depends on its forget-gate bias: with bias 0 the "
        "forget gate starts near 0.5 and its gradient fades too."
    )
    report.figure(
        fig,
        "gradients.png",
        "log10 of the gradient norm against the distance, mean and 95% band over seeds",
    )
    report.table(
        ["network", f"‖∂L/∂h‖ ratio {BACK} steps back (median over seeds)"],
        [[k, float(np.median(v))] for k, v in numbers["ratio_per_seed"].items()],
    )
    report.text(
        f"Gradient clipping (notes 003): the exploding RNN's total parameter gradient "
        f"is rescaled to norm 1 by torch.nn.utils.clip_grad_norm_; after it the norm is "
        f"{numbers['clipped_norm']:.2f}. Clipping bounds the step, it does not bring back "
        "a vanished gradient."
    )
    return numbers


def clipped_norm(scale: float, seq_len: int) -> float:
    """The gradient norm of an exploding RNN's parameters after clip_grad_norm_(…, 1.0)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        rnn = torch.nn.RNN(1, 32)
        with torch.no_grad():
            rnn.weight_hh_l0.mul_(scale)
        out, _ = rnn(torch.randn(seq_len, 4, 1))
        out[-1].sum().backward()
        torch.nn.utils.clip_grad_norm_(rnn.parameters(), 1.0)
        return float(torch.sqrt(sum((p.grad**2).sum() for p in rnn.parameters())))


#: measure, decide and write the report on the one engine
run = runner(__name__)
