"""`parity-memory`: which memory solves Parity (notes 003: "RNN is not good for this — need
LSTM"), against env steps and against the test length."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import Context, compare, on_grid, per_label, runner
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure

NAME = "parity-memory"
CLAIM = (
    "Parity needs memory: a memoryless MLP stays at the 17/32 = 0.531 bound, a plain RNN "
    "is not good for it, an LSTM learns it"
)
CITES = "notes 003, 'Example: Bit-stream XOR (Parity)' and 'RNN is not good for this — need LSTM'"
ENV = "LectureRL/Parity-v0"
NETS = ("mlp", "rnn", "gru", "lstm", "transformer")
#: --quick leaves out the Transformer (the slowest net per step; about 50 s alone)
QUICK_NETS = ("mlp", "rnn", "gru", "lstm")
TRAIN_LENGTH = 16
TEST_LENGTHS = (8, 16, 32, 64)
#: --quick: (env steps, evaluation episodes); PPO's defaults bring the LSTM to about 0.99 at
#: length 16 in 100k-120k env steps
QUICK = (120_000, 50)
MEMORYLESS = 17 / 32  # first answer right, then a coin: (1 + 15/2) / 16


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when the LSTM reaches 0.9 at the training length, the MLP stays within 0.05 of
    the memoryless bound, and the RNN is at least 0.05 below the LSTM."""
    acc = numbers["accuracy"]
    lstm, rnn, mlp = acc["lstm"], acc["rnn"], acc["mlp"]
    checks = {
        f"LSTM {lstm:.3f} >= 0.9": lstm >= 0.9,
        f"MLP {mlp:.3f} <= bound {MEMORYLESS:.3f} + 0.05": mlp <= MEMORYLESS + 0.05,
        f"RNN {rnn:.3f} <= LSTM - 0.05": rnn <= lstm - 0.05,
    }
    others = ", ".join(
        f"{net.upper() if net != 'transformer' else 'Transformer'} {acc[net]:.3f}"
        for net in ("gru", "transformer")
        if net in acc
    )
    failed = [text for text, ok in checks.items() if not ok]
    return Verdict(
        not failed,
        f"greedy accuracy at length {TRAIN_LENGTH} after {numbers['steps']:,} env steps, "
        f"{numbers.get('seeds', 1)} seed(s): "
        + "; ".join(f"{text} {'yes' if ok else 'NO'}" for text, ok in checks.items())
        + (f"; also {others}" if others else ""),
    )


def measure(ctx: Context, report: Report) -> dict[str, Any]:
    seeds = ctx.seed_count(1, 5)
    steps, episodes = QUICK if ctx.quick else (200_000, 100)
    nets = QUICK_NETS if ctx.quick else NETS
    result = compare(
        ctx,
        "runs",
        env=ENV,
        env_kwargs={"length": TRAIN_LENGTH},
        agents=",".join(f"{net}=ppo(net={net})" for net in nets),
        seeds=seeds,
        steps=steps,
        eval_episodes=episodes,
        probe={
            "target": "lecture_rl.runners.experiments.probes:length_accuracy",
            "env_id": ENV,
            "lengths": list(TEST_LENGTHS),
            "episodes": episodes,
            "seed": 900_000,
        },
    )
    numbers: dict[str, Any] = {"steps": steps, "seeds": seeds, "accuracy": {}, "by_length": {}}
    fig, axes = figure(11, 4.2, cols=2)
    grid = np.linspace(0, steps, 100)
    for net in nets:
        trials = per_label(result, net)
        rows = on_grid(trials, grid, moving_accuracy)
        band(axes[0], grid, rows, net)
        by_length = np.array([[t["probe"][f"accuracy_{n}"] for n in TEST_LENGTHS] for t in trials])
        band(axes[1], TEST_LENGTHS, by_length, net, marker="o")
        numbers["accuracy"][net] = float(np.mean([t["eval"]["accuracy"] for t in trials]))
        numbers["by_length"][net] = by_length.mean(axis=0).tolist()
    for ax in axes:
        ax.axhline(MEMORYLESS, color="grey", ls=":", lw=1)
        ax.set_ylim(0.4, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_xlabel("env steps")
    axes[0].set_ylabel("training accuracy (moving average)")
    axes[0].set_title(f"Parity, length {TRAIN_LENGTH}: learning")
    axes[0].legend(fontsize=8)
    axes[1].set_xscale("log", base=2)
    axes[1].set_xticks(TEST_LENGTHS, [str(n) for n in TEST_LENGTHS])
    axes[1].set_xlabel("test length (trained on 16)")
    axes[1].set_ylabel("greedy accuracy")
    axes[1].set_title("Against the test length (dotted: memoryless 17/32)")
    fig.tight_layout()
    report.settings = {
        "env": ENV,
        "train_length": TRAIN_LENGTH,
        "test_lengths": TEST_LENGTHS,
        "agent": "ppo",
        "nets": nets,
        "steps": steps,
        "seeds": seeds,
        "eval_episodes": episodes,
    }
    report.text(
        "PPO with each backbone, the same defaults otherwise. The agent sees one bit "
        "per step and answers the parity of all bits so far. Without memory only the "
        "first answer can be known (its parity is the bit itself): the best memoryless "
        "policy scores (1 + 15 × 1/2) / 16 = 17/32 = 0.531 at length 16."
        + (
            f" Quick mode: {len(nets)} nets ({', '.join(nets)}; the Transformer only in the "
            f"careful run), {steps:,} env steps, {seeds} seed(s)."
            if ctx.quick
            else ""
        )
    )
    report.figure(
        fig,
        "parity.png",
        "Left: training accuracy against env steps. Right: greedy "
        "accuracy against the test length. Mean and 95% band over seeds",
    )
    report.table(
        ["net", *[f"length {n}" for n in TEST_LENGTHS]],
        [[net, *numbers["by_length"][net]] for net in nets],
        "greedy accuracy, mean over seeds",
    )
    return numbers


def moving_accuracy(records: list[dict[str, Any]]) -> Any:
    """Training accuracy per episode, a centred 50-episode moving average."""
    return np.convolve([r["accuracy"] for r in records], np.ones(50) / 50, "same")


#: measure, decide and write the report on the one engine
run = runner(__name__)
