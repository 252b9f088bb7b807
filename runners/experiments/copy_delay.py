"""`copy-delay`: LSTM, GRU and Transformer on Copy as the delay before recall grows."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import Context, compare, per_label, runner
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure, label_axes

NAME = "copy-delay"
CLAIM = (
    "gated memories and attention carry symbols across a delay: LSTM, GRU and Transformer "
    "all stay above chance on Copy as the delay grows"
)
CITES = "notes 003 (LSTM, GRU: the gates decide what to keep), notes 000 §5.a (self-attention)"
ENV = "LectureRL/Copy-v0"
NETS = ("lstm", "gru", "transformer")
#: --quick leaves out the Transformer (about 2.5 times slower per step than the LSTM)
QUICK_NETS = ("lstm", "gru")
#: --quick: (delays, env steps); at 60k env steps PPO's LSTM and GRU reach about 0.98 and 0.68
#: at delay 4 (chance 0.25; seed 0, `benchmarks/memory_nets.py` has the full settings)
QUICK = ((0, 4), 60_000)
#: the careful run: (delays, env steps), 3 seeds. PPO costs ~0.14 CPU-ms per env step with the
#: LSTM or GRU and ~0.22 with the Transformer here: 36 runs of 200k steps take ~20 CPU-minutes,
#: about 10 minutes on 2 cores (300k steps took 15)
CAREFUL = ((0, 4, 8, 16), 200_000)


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when every net beats chance by 0.1 at the longest delay."""
    longest = str(max(int(d) for d in numbers["accuracy"]))
    acc = numbers["accuracy"][longest]
    chance = numbers["chance"]
    held = all(value >= chance + 0.1 for value in acc.values())
    text = ", ".join(
        f"{net} {value:.3f} {'>=' if value >= chance + 0.1 else '<'} {chance + 0.1:.3f}"
        for net, value in acc.items()
    )
    steps = numbers.get("steps")
    after = f" after {steps:,} env steps" if steps else ""
    return Verdict(
        held,
        f"greedy accuracy at delay {longest}{after}: {text} "
        f"(claim: every net >= chance {chance:.3f} + 0.1)",
    )


def measure(ctx: Context, report: Report) -> dict[str, Any]:
    seeds = ctx.seed_count(1, 3)
    delays, steps = QUICK if ctx.quick else CAREFUL
    nets = QUICK_NETS if ctx.quick else NETS
    symbols, length = 4, 3
    numbers: dict[str, Any] = {"accuracy": {}, "chance": 1 / symbols, "steps": steps}
    for delay in delays:
        result = compare(
            ctx,
            f"runs-delay{delay}",
            env=ENV,
            env_kwargs={"length": length, "symbols": symbols, "delay": delay},
            agents=",".join(f"{net}=ppo(net={net})" for net in nets),
            seeds=seeds,
            steps=steps,
            eval_episodes=20,
        )
        numbers["accuracy"][str(delay)] = {
            net: float(np.mean([t["eval"]["accuracy"] for t in per_label(result, net)]))
            for net in nets
        }
        numbers.setdefault("per_seed", {})[str(delay)] = {
            net: [t["eval"]["accuracy"] for t in per_label(result, net)] for net in nets
        }
    fig, ax = figure()
    for net in nets:
        rows = np.array([numbers["per_seed"][str(d)][net] for d in delays]).T
        band(ax, delays, rows, net, marker="o")
    ax.axhline(1 / symbols, color="grey", ls=":", lw=1, label="chance")
    ax.set_ylim(0, 1.02)
    label_axes(
        ax,
        "delay (blank steps between the sequence and the go marker)",
        "greedy accuracy",
        f"Copy {length} of {symbols} symbols, {steps:,} env steps of PPO",
    )
    fig.tight_layout()
    report.settings = {
        "env": ENV,
        "length": length,
        "symbols": symbols,
        "delays": delays,
        "nets": nets,
        "agent": "ppo",
        "steps": steps,
        "seeds": seeds,
    }
    report.text(
        "The agent sees a few symbols, then blanks for `delay` steps, then a go marker, "
        "and must answer the symbols in order. Chance is 1/symbols per answer."
        + (
            f" Quick mode: {', '.join(nets)} only (the Transformer in the careful run), "
            f"delays {', '.join(map(str, delays))}, {steps:,} env steps, {seeds} seed(s)."
            if ctx.quick
            else ""
        )
    )
    report.figure(
        fig, "copy.png", "Greedy accuracy against the delay, mean and 95% band over seeds"
    )
    report.table(
        ["delay", *nets],
        [[d, *numbers["accuracy"][str(d)].values()] for d in delays],
        "greedy accuracy, mean over seeds",
    )
    return numbers


#: measure, decide and write the report on the one engine
run = runner(__name__)
