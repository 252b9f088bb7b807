"""Generate the README's pictures of the agents' insides (docs/insides_*.png).

Trains `ppo` + `lstm` on Parity (length 16) and `ppo` + `transformer` on Copy (length
5, 4 symbols) with their defaults until greedy accuracy >= 0.99 (or the step cap), then draws
one greedy episode of each with `lecture_rl.runners.insides.draw_insides`, the
picture `lecture-rl inspect` writes. Then `dqn` + `cnn` on the maze seen as pixels (the
README's `train` command, 40k steps, until the greedy return is the optimal 0.89): its
`inspect` figure (saliency per cell, first-layer feature maps) and the live panel that
`watch` shows while it learns, after 1,000 more steps. About four minutes on one CPU core.

    python docs/make_insides_figures.py [--out docs] [--seed 0] [--only cnn]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401
from lecture_rl import agents  # noqa: E402
from lecture_rl.runners.insides import (  # noqa: E402
    draw_insides,
    grid_context,
    record_insides,
    save_figure,
)

CASES = [  # file, net, env id, env kwargs, step cap, episodes drawn, title
    ("insides_lstm_parity.png", "lstm", "LectureRL/Parity-v0", {"length": 16}, 300_000, 1,
     "ppo + lstm on Parity-16: the cell state of the unit most correlated with the parity"),
    ("insides_transformer_copy.png", "transformer", "LectureRL/Copy-v0",
     {"length": 5, "symbols": 4}, 300_000, 1,
     "ppo + transformer on Copy-5: each recall step (row) attends to its symbol's tape cell"),
]  # fmt: skip


def train_until(agent, env, cap: int) -> float:
    accuracy = 0.0
    while agent.env_steps < cap:
        agent.train(env, steps=20_480)
        accuracy = agent.evaluate(env, episodes=200, seed=10_000)["accuracy"]
        if accuracy >= 0.99:
            break
    return accuracy


def cnn_on_the_maze(out: Path, seed: int) -> None:
    """`dqn` + `cnn` on the maze as pixels: the inspect figure and a live panel frame."""
    import pygame

    from lecture_rl.runners.viewer.insides_panel import InsidesTap, figure_surface

    env = gym.make("LectureRL/GridWorld-v0", map_name="maze", obs_mode="image")
    agent = agents.make("dqn", env, net="cnn", seed=seed)
    ret = 0.0
    while agent.env_steps < 80_000:
        agent.train(env, steps=40_000 if agent.env_steps == 0 else 10_000)
        ret = agent.evaluate(env, episodes=20, seed=10_000)["return_mean"]
        if ret >= 0.89 - 1e-6:  # the maze's optimal greedy return
            break
    insides = record_insides(agent, env, episodes=1, seed=123)
    title = "dqn + cnn on the maze seen as pixels: where the choice looks, and what conv1 sees"
    fig = draw_insides(insides, f"{title}  (greedy return {ret:.2f})")
    save_figure(fig, str(out / "insides_cnn_maze.png"))
    print(f"insides_cnn_maze.png: {agent.env_steps:,} env steps, return {ret:.2f}", flush=True)
    # the live panel: what `watch` draws (viewer.insides_panel.run_insides) after 1,000 more steps,
    # here in one thread so the picture is the same on every run
    tap = InsidesTap()
    agent.train(env, steps=1_000, callbacks=[tap])
    grid, labels = grid_context(env)
    live = draw_insides(
        tap.insides(agent, grid, labels), f"dqn + cnn learning: step {tap.count}", latest=True
    )
    pygame.image.save(figure_surface(live), str(out / "insides_cnn_live.png"))
    print("insides_cnn_live.png: the live panel", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["memory", "cnn"], help="one group of pictures")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.only != "memory":
        cnn_on_the_maze(Path(args.out), args.seed)
    if args.only == "cnn":
        return
    for name, net, env_id, kwargs, cap, episodes, title in CASES:
        env = gym.make(env_id, **kwargs)
        agent = agents.make("ppo", env, net=net, seed=args.seed)
        accuracy = train_until(agent, env, cap)
        insides = record_insides(agent, env, episodes=episodes, seed=123)
        fig = draw_insides(insides, f"{title}  (greedy accuracy {accuracy:.3f})")
        save_figure(fig, str(Path(args.out) / name))
        print(f"{name}: {agent.env_steps:,} env steps, accuracy {accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
