"""`cliff`: SARSA against Q-learning on the cliff (Sutton & Barto Example 6.6)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import Context, compare, per_label, runner
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure, label_axes

NAME = "cliff"
CLAIM = (
    "with ε-greedy exploration (ε = 0.1) SARSA earns more online than Q-learning, by "
    "learning a longer path away from the edge, while Q-learning's greedy path is the optimal "
    "13-move path along the cliff edge (falling in when it explores)"
)
CITES = (
    "notes 000 §7.e (the two updates; Q-learning off-policy and 'optimistic', SARSA on-policy "
    "and 'conservative'); Sutton & Barto 2018, Example 6.6 (Cliff Walking, Figure 6.4)"
)
ENV = "LectureRL/GridWorld-v0"
ENV_KWARGS = {"map_name": "cliff", "max_steps": None}
HP = {"epsilon": 0.1, "alpha": 0.5, "gamma": 1.0}


EDGE = 13  # up, 11 moves right along the cliff, down: the shortest (optimal) path
LIMIT = 200  # a greedy path still going after this many moves loops: "no path"
#: compare's runs, but for the seeds and episodes (--quick or not); the probe walks each trial's
#: greedy path after training
RUNS = {
    "env": ENV,
    "env_kwargs": ENV_KWARGS,
    "agents": "sarsa,q_learning",
    "eval_episodes": 1,
    "hyperparameters": HP,
    "probe": {"target": "lecture_rl.runners.experiments.probes:greedy_path", "limit": LIMIT},
}


def path_text(lengths: list[int | None]) -> str:
    """Per-seed greedy path lengths, `no path` for a path that looped past `LIMIT`."""
    return "[" + ", ".join("no path" if n is None else str(n) for n in lengths) + "]"


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when (1) SARSA's online return (last half of training) beats Q-learning's, (2) in
    at least half the seeds Q-learning's greedy path is the 13-move edge path, and (3) in at
    least half the seeds SARSA's greedy path reaches the goal by a longer (safer) way. Paths
    that loop count as reaching nothing; they are never averaged."""
    sarsa, q = numbers["online"]["sarsa"], numbers["online"]["q_learning"]
    q_paths = numbers["greedy_length"]["q_learning"]
    s_paths = numbers["greedy_length"]["sarsa"]
    q_edge = sum(n == EDGE for n in q_paths)
    s_safe = sum(n is not None and n > EDGE for n in s_paths)
    checks = {
        f"online return over the last half: SARSA {sarsa:.1f} > Q-learning {q:.1f}": sarsa > q,
        f"Q-learning's greedy path is the {EDGE}-move edge in {q_edge}/{len(q_paths)} "
        f"seeds {path_text(q_paths)}": 2 * q_edge >= len(q_paths) > 0,
        f"SARSA's greedy path reaches G by a longer way in {s_safe}/{len(s_paths)} seeds "
        f"{path_text(s_paths)}": 2 * s_safe >= len(s_paths) > 0,
    }
    return Verdict(
        all(checks.values()),
        "; ".join(f"{text} {'yes' if ok else 'NO'}" for text, ok in checks.items())
        + " (claim: all three)",
    )


def measure(ctx: Context, report: Report) -> dict[str, Any]:
    seeds = ctx.seed_count(5, 20)
    episodes = 300 if ctx.quick else 500
    result = compare(ctx, "runs", **RUNS, seeds=seeds, episodes=episodes)
    numbers: dict[str, Any] = {
        "online": {},
        "greedy_length": {},
        "greedy_return": {},
        "episodes": episodes,
        "seeds": seeds,
    }
    fig, axes = figure(11, 4.0, cols=2)
    x = np.arange(1, episodes + 1)
    paths = {}
    for name, title in (("sarsa", "SARSA"), ("q_learning", "Q-learning")):
        trials = per_label(result, name)
        returns = np.array([[r["return"] for r in t["records"]] for t in trials])
        # trailing 10-episode average (no look-ahead, no edge effect at the end)
        cum = np.cumsum(np.pad(returns, ((0, 0), (1, 0))), axis=1)
        width = np.minimum(np.arange(1, episodes + 1), 10)
        idx = np.arange(1, episodes + 1)
        smooth = (cum[:, idx] - cum[:, idx - width]) / width
        band(axes[0], x, smooth, title)
        numbers["online"][name] = float(returns[:, episodes // 2 :].mean())
        lengths = [
            len(t["probe"]["path"]) - 1 if t["probe"].get("reached") else None for t in trials
        ]
        numbers["greedy_length"][name] = lengths
        numbers["greedy_return"][name] = [
            t["probe"]["greedy_return"] if t["probe"].get("reached") else None for t in trials
        ]
        # the first seed whose greedy path reaches the goal (else the first seed)
        done = [t for t in trials if t["probe"].get("reached")] or trials
        paths[title] = done[0]["probe"]["path"]
    axes[0].set_ylim(-120, 0)
    label_axes(
        axes[0],
        "episodes",
        "return per episode (10-episode average)",
        f"Online return, ε = {HP['epsilon']}",
    )
    draw_paths(axes[1], paths)
    fig.tight_layout()
    report.settings = {
        "env": ENV,
        "env_kwargs": ENV_KWARGS,
        "hyperparameters": HP,
        "episodes": episodes,
        "seeds": seeds,
    }
    report.text(
        "4 × 12 grid, −1 per move, −100 and back to the start for stepping into the "
        "cliff; ε-greedy with ε = 0.1, α = 0.5, γ = 1. SARSA learns the value of the "
        "ε-greedy policy it follows, so it keeps away from the edge; Q-learning learns "
        "the greedy policy's values and walks the edge, falling in when it explores."
    )
    report.figure(
        fig,
        "cliff.png",
        "Left: online return, mean and 95% band over seeds. Right: "
        "greedy paths after training (the first seed whose path reaches G)",
    )
    report.table(
        ["agent", "online return (last half)", "greedy path length per seed", "reached G"],
        [
            [
                n,
                numbers["online"][n],
                path_text(numbers["greedy_length"][n]),
                f"{sum(x is not None for x in numbers['greedy_length'][n])}/{seeds}",
            ]
            for n in ("sarsa", "q_learning")
        ],
        f"greedy path: moves from S to G; 'no path' = still going after {LIMIT} moves "
        f"(a loop); the edge path is {EDGE} moves",
    )
    return numbers


def draw_paths(ax: Any, paths: dict[str, list[int]]) -> None:
    """The 4 × 12 grid with the cliff and each greedy path, in the notes' 1-indexed (row, col)
    with row 1 on top (notes 000 §7.f; states are row-major indices from 0)."""
    ax.set_xlim(0.5, 12.5)
    ax.set_ylim(4.5, 0.5)
    ax.set_aspect("equal")
    for col in range(2, 12):
        ax.add_patch(_rect(col, 4, "#d0d0d0"))
    ax.text(6.5, 4, "cliff", ha="center", va="center")
    # S and G in the outer part of their cells, above the paths (which end at the centres)
    label = {"va": "center", "weight": "bold", "zorder": 5}
    box = {"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"}
    ax.text(0.62, 4, "S", ha="left", bbox=box, **label)
    ax.text(12.38, 4, "G", ha="right", bbox=box, **label)
    for (name, path), offset, colour in zip(paths.items(), (-0.12, 0.12), ("C0", "C1")):
        rows = [s // 12 + 1 + offset for s in path]  # (row, col) = (s // 12 + 1, s % 12 + 1)
        cols = [s % 12 + 1 for s in path]
        ax.plot(cols, rows, "-o", color=colour, ms=3, label=f"{name} ({len(path) - 1} moves)")
    ax.set_xticks(range(1, 13))
    ax.set_yticks(range(1, 5))
    ax.xaxis.tick_top()  # column numbers on top, row numbers left, as in the viewer
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("col", fontsize=8, labelpad=2)
    ax.set_ylabel("row", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    # below the grid: the safe path runs along the top row, where a legend would cover it
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=2, fontsize=8)
    ax.set_title("Greedy path after training", fontsize=10)


def _rect(col: int, row: int, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((col - 0.5, row - 0.5), 1, 1, color=colour)


#: measure, decide and write the report on the one engine
run = runner(__name__)
