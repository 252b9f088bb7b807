"""``cliff``: SARSA against Q-learning on the cliff (Sutton & Barto Example 6.6)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import Context, compare, per_label
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure

NAME = "cliff"
CLAIM = (
    "with ε-greedy exploration SARSA is safer online than Q-learning: a higher return "
    "while learning (the safe path), while Q-learning learns the optimal edge path"
)
CITES = "notes 000 §7.e (Q-learning and SARSA updates); Sutton & Barto 2018, Example 6.6"
ENV = "LectureRL/GridWorld-v0"
ENV_KWARGS = {"map_name": "cliff", "max_steps": None}
HP = {"epsilon": 0.1, "alpha": 0.5, "gamma": 1.0}


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when SARSA's online return (last half of training) beats Q-learning's."""
    sarsa, q = numbers["online"]["sarsa"], numbers["online"]["q_learning"]
    held = sarsa > q
    paths = numbers["greedy_length"]
    return Verdict(
        held,
        f"online return over the last half: SARSA {sarsa:.1f} "
        f"{'>' if held else '<='} Q-learning {q:.1f}; greedy path length: SARSA "
        f"{paths['sarsa']:.1f}, Q-learning {paths['q_learning']:.1f} (edge: 13)",
    )


def run(ctx: Context) -> Verdict:
    seeds = ctx.seed_count(5, 20)
    episodes = 300 if ctx.quick else 500
    result = compare(
        ctx,
        "runs",
        env=ENV,
        env_kwargs=ENV_KWARGS,
        agents="sarsa,q_learning",
        seeds=seeds,
        episodes=episodes,
        eval_episodes=1,
        hyperparameters=HP,
        probe={"target": "lecture_rl.runners.experiments.probes:greedy_path"},
    )
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
        numbers["greedy_length"][name] = float(
            np.mean([len(t["probe"]["path"]) - 1 for t in trials])
        )
        numbers["greedy_return"][name] = float(
            np.mean([t["probe"]["greedy_return"] for t in trials])
        )
        # the first seed whose greedy path reaches the goal (else seed 0)
        done = [t for t in trials if len(t["probe"]["path"]) - 1 < 200] or trials
        paths[title] = done[0]["probe"]["path"]
    axes[0].set_ylim(-120, 0)
    axes[0].set_xlabel("episodes")
    axes[0].set_ylabel("return per episode (10-episode average)")
    axes[0].set_title(f"Online return, ε = {HP['epsilon']}")
    axes[0].grid(alpha=0.3)
    axes[0].legend()
    draw_paths(axes[1], paths)
    fig.tight_layout()
    report = Report(
        NAME,
        CLAIM,
        CITES,
        ctx.flags(NAME),
        {
            "env": ENV,
            "env_kwargs": ENV_KWARGS,
            "hyperparameters": HP,
            "episodes": episodes,
            "seeds": seeds,
        },
    )
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
        ["agent", "online return (last half)", "greedy path length", "greedy return"],
        [
            [n, numbers["online"][n], numbers["greedy_length"][n], numbers["greedy_return"][n]]
            for n in ("sarsa", "q_learning")
        ],
    )
    outcome = verdict(numbers)
    report.write(ctx.out, outcome, numbers)
    return outcome


def draw_paths(ax: Any, paths: dict[str, list[int]]) -> None:
    """The 4 × 12 grid with the cliff and each greedy path (states are row-major indices)."""
    ax.set_xlim(-0.5, 11.5)
    ax.set_ylim(3.5, -0.5)
    ax.set_aspect("equal")
    for col in range(1, 11):
        ax.add_patch(_rect(col, 3, "#d0d0d0"))
    ax.text(5.5, 3, "cliff", ha="center", va="center")
    ax.text(0, 3, "S", ha="center", va="center", weight="bold")
    ax.text(11, 3, "G", ha="center", va="center", weight="bold")
    for (name, path), offset, colour in zip(paths.items(), (-0.12, 0.12), ("C0", "C1")):
        rows = [s // 12 + offset for s in path]
        cols = [s % 12 for s in path]
        ax.plot(cols, rows, "-o", color=colour, ms=3, label=f"{name} ({len(path) - 1} moves)")
    ax.set_xticks(range(12))
    ax.set_yticks(range(4))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", fontsize=8)
    ax.set_title("Greedy path after training")


def _rect(col: int, row: int, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((col - 0.5, row - 0.5), 1, 1, color=colour)
