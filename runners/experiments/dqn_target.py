"""``dqn-target``: DQN with the fixed target θ̃ and replay, against each one removed."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import Context, compare, on_grid, per_label, runner
from lecture_rl.runners.experiments.report import Report, Verdict, band, figure, label_axes

NAME = "dqn-target"
CLAIM = (
    "DQN needs its fixed target θ̃ and experience replay: with both it learns the maze "
    "from pixels; updating the target every step or a buffer of one does worse"
)
CITES = (
    "notes 004, 'Deep Reinforcement Learning (Mnih et al., Nature, 2015)': the loss with "
    "'the fixed previous model parameters' θ̃ and (s, a, r, s') 'sampled from experience'"
)
ENV = "LectureRL/GridWorld-v0"
ENV_KWARGS = {"map_name": "maze", "obs_mode": "image"}
#: --quick: the maze as one-hot states with an MLP Q-network (the CNN on pixels runs at about
#: 50-200 env steps/s here, too slow for a class); 20k env steps bring full DQN to the optimum
QUICK_ENV_KWARGS = {"map_name": "maze", "obs_mode": "onehot"}
QUICK_STEPS = 20_000
ABLATIONS = {
    "dqn": "",
    "target-every-step": ",target_update=1",
    "no-replay": ",buffer_size=1,batch_size=1,learning_starts=1",
}
VARIANTS = {label: f"dqn(net=cnn{extra})" for label, extra in ABLATIONS.items()}


OPTIMUM = 0.89  # the shortest path's return on the maze (value iteration on the env's model)
LEARNED = 0.1  # full DQN "learned" when its greedy return is within this of the optimum


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when full DQN learned the maze (greedy return within ``LEARNED`` of the optimum)
    and beats both ablations by 0.1. When full DQN did not learn, the run says nothing about
    θ̃ or replay: not held, marked inconclusive."""
    r = numbers["greedy_return"]
    dqn, every, single = r["dqn"], r["target-every-step"], r["no-replay"]
    learned = dqn >= OPTIMUM - LEARNED
    beats = dqn >= max(every, single) + 0.1
    text = (
        f"greedy return after {numbers['steps']:,} env steps: DQN {dqn:.2f}, target every "
        f"step {every:.2f}, no replay {single:.2f}; DQN learned (>= optimum {OPTIMUM:.2f} "
        f"- {LEARNED}) {'yes' if learned else 'NO'}; DQN >= both + 0.1 "
        f"{'yes' if beats else 'NO'}"
    )
    if not learned:
        text = "inconclusive, full DQN did not learn the maze: " + text
    return Verdict(learned and beats, text)


def measure(ctx: Context, report: Report) -> dict[str, Any]:
    seeds = ctx.seed_count(1, 5)
    steps = QUICK_STEPS if ctx.quick else 60_000
    net = "mlp" if ctx.quick else "cnn"
    env_kwargs = QUICK_ENV_KWARGS if ctx.quick else ENV_KWARGS
    variants = {label: f"dqn(net={net}{extra})" for label, extra in ABLATIONS.items()}
    if ctx.quick:  # 4 envs: "no replay" keeps only the latest vector step (4 transitions)
        variants["no-replay"] = f"dqn(net={net},buffer_size=4,batch_size=4,learning_starts=4)"
    # the paper's shape, one update of 64 per few env steps (not dqn's 16-env default): the
    # ablations change what one update sees, so each update must be a small sample
    paper = {"num_envs": 4, "batch_size": 64, "lr": 5e-4}
    if ctx.quick:  # 4 envs, θ̃ copied every 1,000 env steps, ε over 8k steps
        hp = {
            **paper,
            "learning_starts": min(1_000, steps // 2),
            "eps_decay_steps": min(8_000, steps // 2),
            "train_freq": 2,
        }
    else:
        hp = {
            "learning_starts": 500,
            "eps_decay_steps": steps // 2,
            "target_update": 500,
            **paper,
            "num_envs": 1,
        }
    agents = ",".join(f"{label}={spec}" for label, spec in variants.items())
    runs = {"env": ENV, "env_kwargs": env_kwargs, "agents": agents, "hyperparameters": hp}
    result = compare(ctx, "runs", **runs, seeds=seeds, steps=steps, eval_episodes=5)
    numbers: dict[str, Any] = {"steps": steps, "seeds": seeds, "greedy_return": {}}
    fig, ax = figure()
    grid = np.linspace(0, steps, 100)
    for label in VARIANTS:
        trials = per_label(result, label)
        rows = on_grid(trials, grid, lambda records: [r["return"] for r in records])
        band(ax, grid, rows, label)
        numbers["greedy_return"][label] = float(np.mean([t["eval"]["return_mean"] for t in trials]))
    label_axes(
        ax,
        "env steps",
        "training return per episode",
        f"DQN ({net}) on the maze, {env_kwargs['obs_mode']} observations",
    )
    fig.tight_layout()
    report.settings = {
        "env": ENV,
        "env_kwargs": env_kwargs,
        "variants": variants,
        "hyperparameters": hp,
        "steps": steps,
        "seeds": seeds,
    }
    report.text(
        "Defaults are Double DQN with the Huber loss (a buffer of one holds one "
        "transition); the ablations change one thing: "
        "θ̃ ← θ after every step (no fixed target), or a replay buffer of one "
        "transition (learning from each transition once, in order)."
        + (
            " Quick mode: the maze as one-hot states with an MLP Q-network on 4 envs "
            "(so 'no replay' keeps only the latest 4 transitions, one vector step), "
            f"{steps:,} env steps, {seeds} seed(s); the careful run uses pixels and the CNN."
            if ctx.quick
            else ""
        )
    )
    report.figure(fig, "dqn.png", "Training return, mean and 95% band over seeds")
    report.table(
        ["variant", "greedy return"], [[k, v] for k, v in numbers["greedy_return"].items()]
    )
    return numbers


#: measure, decide and write the report on the one engine
run = runner(__name__)
