"""`random-walk`: TD(0) against Monte Carlo prediction on the random walk (S&B Example 6.2)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import (
    Context,
    compare,
    rms_rows,
    runner,
    tag,
    uniform_values,
    v_rms_probe,
)
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure, label_axes

NAME = "random-walk"
CLAIM = (
    "TD(0) learns v_π of the random walk faster than constant-α Monte Carlo: lower RMS "
    "error after 100 episodes at its best α"
)
CITES = (
    "Sutton & Barto 2018, Example 6.2 (Random Walk, the RMS figure); TD(0): notes 002 §5.6 "
    "(S&B Eq. 6.2); constant-α MC: S&B §6.1, Eq. 6.1"
)
ENV = "LectureRL/GridWorld-v0"
ENV_KWARGS = {"map_name": "random_walk", "max_steps": None}
TD_ALPHAS = (0.05, 0.1, 0.15)
MC_ALPHAS = (0.01, 0.02, 0.03, 0.04)
#: what every run shares (with its env, agents and probe): every estimate starts at V = 0.5
RUNS = {"eval_episodes": 1, "hyperparameters": {"gamma": 1.0, "initial_v": 0.5}}


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when the best TD(0) α ends with a lower mean RMS than the best MC α."""
    td = {k: v for k, v in numbers["final_rms"].items() if k.startswith("TD")}
    mc = {k: v for k, v in numbers["final_rms"].items() if k.startswith("MC")}
    best_td, best_mc = min(td, key=td.get), min(mc, key=mc.get)
    held = td[best_td] < mc[best_mc]
    return Verdict(
        held,
        f"RMS error after {numbers['episodes']} episodes: best "
        f"{best_td} {td[best_td]:.3f} {'<' if held else '>='} best {best_mc} "
        f"{mc[best_mc]:.3f}",
    )


def measure(ctx: Context, report: Report) -> dict[str, Any]:
    seeds = ctx.seed_count(20, 100)
    episodes = 100
    true_v, states = uniform_values(ENV, ENV_KWARGS, 1.0)
    names = {f"td-{tag(a)}": f"TD(0) α={a}" for a in TD_ALPHAS}
    names.update({f"mc-{tag(a)}": f"MC α={a}" for a in MC_ALPHAS})
    agents = ",".join(
        [f"td-{tag(a)}=td0(alpha={a})" for a in TD_ALPHAS]
        + [f"mc-{tag(a)}=mc(alpha={a},mode=prediction)" for a in MC_ALPHAS]
    )
    probe = v_rms_probe(true_v, states)
    runs = {"env": ENV, "env_kwargs": ENV_KWARGS, "agents": agents, "probe": probe}
    result = compare(ctx, "runs", **runs, **RUNS, seeds=seeds, episodes=episodes)
    curves = {names[label]: rms_rows(result, label) for label in names}
    numbers = {
        "episodes": episodes,
        "seeds": seeds,
        "final_rms": {label: float(c[:, -1].mean()) for label, c in curves.items()},
    }
    report.settings = {
        "env": ENV,
        "env_kwargs": ENV_KWARGS,
        "episodes": episodes,
        "seeds": seeds,
        "gamma": 1.0,
        "initial_v": 0.5,
        "td_alphas": TD_ALPHAS,
        "mc_alphas": MC_ALPHAS,
    }
    report.text(
        "Five states A..E in a row, start in C, +1 for leaving on the right, 0 on the "
        "left; the uniform random policy; true values 1/6 .. 5/6 (by dynamic "
        "programming here). Every estimate starts at V = 0.5. The RMS error is averaged "
        "over the five states, then over seeds (bands: 95% intervals over seeds)."
    )
    fig, ax = figure()
    x = np.arange(1, episodes + 1)
    for label, c in curves.items():
        band(ax, x, c, label, ls="-" if label.startswith("TD") else "--")
    label_axes(
        ax,
        "episodes",
        "RMS error of V (5 states)",
        f"Random walk: TD(0) vs constant-α MC ({seeds} seeds)",
        ncol=2,
        fontsize=8,
    )
    fig.tight_layout()
    report.figure(fig, "rms.png", "RMS error against episodes, mean and 95% band over seeds")
    report.table(
        ["method", "RMS after 10 episodes", f"RMS after {episodes} episodes"],
        [[label, float(c[:, 9].mean()), float(c[:, -1].mean())] for label, c in curves.items()],
        "RMS error of V, mean over seeds",
    )
    return numbers


#: measure, decide and write the report on the one engine
run = runner(__name__)
