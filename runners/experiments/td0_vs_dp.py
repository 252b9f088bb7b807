"""`td0-vs-dp`: TD(0)'s V beside the exact v_π of dynamic programming (notes 002 §5.6)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import (
    Context,
    compare,
    per_label,
    rms_rows,
    runner,
    uniform_values,
    v_rms_probe,
)
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure

NAME = "td0-vs-dp"
CLAIM = (
    "TD(0) estimates v_π: its V approaches the exact v_π that dynamic programming "
    "computes, on the lecture map and on the maze"
)
CITES = "notes 002 §5.6 (tabular TD(0) for estimating v_π); S&B §4.1 (policy evaluation)"
ENV = "LectureRL/GridWorld-v0"
GAMMA = 0.9
#: what the runs on every map share (with their env, agents and probe)
RUNS = {"eval_episodes": 1, "hyperparameters": {"gamma": GAMMA}}
#: label -> (shown as, hyperparameters); "1/n": α = 1/n(s), the sample average (S&B §2.4)
STEP_SIZES = {
    "a0p05": ("α=0.05", {"alpha": 0.05}),
    "a0p1": ("α=0.1", {"alpha": 0.1}),
    "a0p3": ("α=0.3", {"alpha": 0.3}),
    "a1n": ("α=1/n", {"alpha": 1.0, "alpha_power": 1.0}),
}
#: the RMS error must fall below this fraction of its first-episode value
FACTOR = 0.3


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when, on every map, the best step size's final RMS error is below FACTOR × the
    RMS error of the initial V = 0."""
    parts, held = [], True
    for name, entry in numbers["maps"].items():
        ratio = entry["final_rms"] / entry["first_rms"] if entry["first_rms"] > 0 else 0.0
        held = held and ratio < FACTOR
        parts.append(
            f"{name}: RMS {entry['first_rms']:.3f} at V = 0 -> {entry['final_rms']:.3f} "
            f"after {entry['episodes']} episodes ({ratio:.2f} of it, {entry['alpha']})"
        )
    return Verdict(held, "; ".join(parts) + f" (claim: below {FACTOR} of it on every map)")


def measure(ctx: Context, report: Report) -> dict[str, Any]:
    seeds = ctx.seed_count(3, 10)
    maps = {"lecture": 300 if ctx.quick else 2000, "maze": 200 if ctx.quick else 1000}
    report.settings = {
        "env": ENV,
        "maps": maps,
        "gamma": GAMMA,
        "step_sizes": {k: v[1] for k, v in STEP_SIZES.items()},
        "seeds": seeds,
        "policy": "uniform random over the available moves",
    }
    report.text(
        "The policy π is the uniform random one over the available moves; v_π by "
        f"iterative policy evaluation (DP) with γ = {GAMMA}. TD(0) starts from V = 0 and "
        "learns from episodes of π (capped at 100 steps; TD(0) bootstraps through the "
        "cut). RMS error over the non-terminal floor cells; bands: 95% over seeds."
    )
    numbers: dict[str, Any] = {"maps": {}, "seeds": seeds}
    fig, axes = figure(11, 4.0, cols=2)
    for ax, (map_name, episodes) in zip(axes, maps.items()):
        kwargs = {"map_name": map_name}
        true_v, states = uniform_values(ENV, kwargs, GAMMA)
        agents = ",".join(
            f"{label}=td0(" + ",".join(f"{k}={v}" for k, v in hp.items()) + ")"
            for label, (_, hp) in STEP_SIZES.items()
        )
        probe = v_rms_probe(true_v, states)
        runs = {"env": ENV, "env_kwargs": kwargs, "agents": agents, "probe": probe}
        result = compare(ctx, f"runs-{map_name}", **runs, **RUNS, seeds=seeds, episodes=episodes)
        start = float(np.sqrt(np.mean(true_v[states] ** 2)))  # the RMS error of V = 0
        finals = {}
        for label, (shown, _) in STEP_SIZES.items():
            rows = rms_rows(result, label)
            band(ax, np.arange(1, rows.shape[1] + 1), rows, shown)
            finals[shown] = (float(rows[:, 0].mean()), float(rows[:, -1].mean()), label)
        best = min(finals, key=lambda a: finals[a][1])
        v_td = np.mean([t["probe"]["v"] for t in per_label(result, finals[best][2])], axis=0)
        numbers["maps"][map_name] = {
            "alpha": best,
            "first_rms": start,
            "final_rms": finals[best][1],
            "episodes": episodes,
        }
        ax.set_title(f"{map_name} map, {episodes} episodes")
        ax.set_xlabel("episodes")
        ax.set_ylabel("RMS error of V against v_π")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        report.table(
            ["cell (row, col)", "v_π (DP)", f"TD(0) V ({best})", "error"],
            [
                [
                    str(coords(kwargs, s)),
                    float(true_v[s]),
                    float(v_td[s]),
                    float(v_td[s] - true_v[s]),
                ]
                for s in states
            ][:16],
            f"{map_name} map: exact v_π beside TD(0)'s V (mean over seeds"
            + (", first 16 cells)" if len(states) > 16 else ")"),
        )
        report.table(
            ["step size", "RMS after episode 1", f"RMS after {episodes}"],
            [[a, f[0], f[1]] for a, f in finals.items()],
            f"{map_name} map (RMS of V = 0: {start:.3f})",
        )
    fig.tight_layout()
    report.figure(fig, "rms.png", "RMS error of TD(0)'s V against v_π, mean and 95% band")
    return numbers


def coords(kwargs: dict[str, Any], s: int) -> tuple[int, int]:
    from lecture_rl.runners.env_factory import make_env

    env = make_env(ENV, kwargs)
    try:
        return env.unwrapped.coords_of(s)
    finally:
        env.close()


#: measure, decide and write the report on the one engine
run = runner(__name__)
