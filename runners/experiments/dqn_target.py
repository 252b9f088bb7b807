"""``dqn-target``: DQN with the fixed target θ̃ and replay, against each one removed."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import Context, compare, per_label
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure

NAME = "dqn-target"
CLAIM = (
    "DQN needs its fixed target θ̃ and experience replay: with both it learns the maze "
    "from pixels; updating the target every step or a buffer of one does worse"
)
CITES = "notes 004, deep Q-learning (the loss with target parameters θ̃, replay memory)"
ENV = "LectureRL/GridWorld-v0"
ENV_KWARGS = {"map_name": "maze", "obs_mode": "image"}
QUICK_STEPS = 2_000
VARIANTS = {
    "dqn": "dqn(net=cnn)",
    "target-every-step": "dqn(net=cnn,target_update=1)",
    "no-replay": "dqn(net=cnn,buffer_size=1,batch_size=1,learning_starts=1)",
}


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when full DQN's greedy return beats both ablations by 0.1."""
    r = numbers["greedy_return"]
    held = r["dqn"] >= max(r["target-every-step"], r["no-replay"]) + 0.1
    return Verdict(
        held,
        f"greedy return after {numbers['steps']:,} env steps: DQN "
        f"{r['dqn']:.2f}, target every step {r['target-every-step']:.2f}, no replay "
        f"{r['no-replay']:.2f} (claim: DQN >= both + 0.1; optimum 0.89)",
    )


def run(ctx: Context) -> Verdict:
    seeds = ctx.seed_count(2, 5)
    steps = QUICK_STEPS if ctx.quick else 60_000
    hp = {
        "learning_starts": 500,
        "eps_decay_steps": steps // 2,
        "target_update": 500,
        "num_envs": 1,
    }
    if ctx.quick:  # a class-sized run: fewer, rarer updates
        hp.update(learning_starts=min(200, steps // 2), target_update=200, train_freq=4)
    agents = ",".join(f"{label}={spec}" for label, spec in VARIANTS.items())
    result = compare(
        ctx,
        "runs",
        env=ENV,
        env_kwargs=ENV_KWARGS,
        agents=agents,
        seeds=seeds,
        steps=steps,
        eval_episodes=5,
        hyperparameters=hp,
    )
    numbers: dict[str, Any] = {"steps": steps, "seeds": seeds, "greedy_return": {}}
    fig, ax = figure()
    grid = np.linspace(0, steps, 100)
    for label in VARIANTS:
        trials = per_label(result, label)
        rows = []
        for t in trials:
            x = np.array([r["env_steps"] for r in t["records"]], dtype=float)
            y = np.array([r["return"] for r in t["records"]], dtype=float)
            rows.append(np.interp(grid, x, y) if len(x) else np.full_like(grid, np.nan))
        band(ax, grid, np.array(rows), label)
        numbers["greedy_return"][label] = float(np.mean([t["eval"]["return_mean"] for t in trials]))
    ax.set_xlabel("env steps")
    ax.set_ylabel("training return per episode")
    ax.set_title("DQN on the 7×7 maze as pixels")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    report = Report(
        NAME,
        CLAIM,
        CITES,
        ctx.flags(NAME),
        {
            "env": ENV,
            "env_kwargs": ENV_KWARGS,
            "variants": VARIANTS,
            "hyperparameters": hp,
            "steps": steps,
            "seeds": seeds,
        },
    )
    report.text(
        "Defaults are Double DQN with the Huber loss, on one env (so a buffer of one holds "
        "one transition); the ablations change one thing: "
        "θ̃ ← θ after every step (no fixed target), or a replay buffer of one "
        "transition (learning from each transition once, in order)."
    )
    report.figure(fig, "dqn.png", "Training return, mean and 95% band over seeds")
    report.table(
        ["variant", "greedy return"], [[k, v] for k, v in numbers["greedy_return"].items()]
    )
    outcome = verdict(numbers)
    report.write(ctx.out, outcome, numbers)
    return outcome
