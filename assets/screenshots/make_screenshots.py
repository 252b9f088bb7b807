"""Regenerate the viewer screenshots in this folder (README pictures).

Each view is drawn by the live viewer itself, headless, after a fixed-seed run, so the PNGs
show exactly what the window shows:

```text
python assets/screenshots/make_screenshots.py
```

Writes `lecture.png`, `cliff.png`, `maze.png`, `frozenlake8x8.png`,
`side_by_side.png` and `update_panel.png` next to this file.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import gymnasium as gym  # noqa: E402
import pygame  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401
from lecture_rl import agents  # noqa: E402
from lecture_rl.envs.grid_layout import GridLayout  # noqa: E402
from lecture_rl.runners.lecture_example import replay_lecture_episode  # noqa: E402
from lecture_rl.runners.viewer.controls import SPEEDS, Controls  # noqa: E402
from lecture_rl.runners.viewer.live import LiveViewer, make_lane_factory  # noqa: E402
from lecture_rl.runners.viewer.stepper import Stepper  # noqa: E402
from lecture_rl.runners.viewer.window import Window  # noqa: E402

HERE = Path(__file__).resolve().parent


def live_view(names, env_id, env_kwargs, episodes, hp, out, options=None):
    """Train `episodes - 1` episodes headless, then draw the last one live, step by step
    (every step drawn, so the picture is the same on every run)."""
    pretrained = {}

    def build(name):
        env = gym.make(env_id, **env_kwargs)
        agent = agents.make(name, env, seed=0, **hp)
        result = agent.train(env, episodes=episodes - 1)
        pretrained[name] = [record["return"] for record in result.episodes]
        return agent, env, gym.make(env_id, **env_kwargs)

    controls = Controls(speed=SPEEDS.index(120.0))
    if options:
        for key, value in options.items():
            setattr(controls.options, key, value)
    viewer = LiveViewer(
        make_lane_factory(names, build, {"episodes": 1}),
        env_label=env_id + (f" ({env_kwargs['map_name']})" if "map_name" in env_kwargs else ""),
        window=Window("screenshot"),
        controls=controls,
        greedy_episodes=0,
        hold=False,
    )
    for lane in viewer.lanes:
        lane.returns = list(pretrained[lane.name])
        lane.display_total = episodes  # the HUD counts all of them
    viewer.run()
    pygame.image.save(viewer.render(), str(HERE / out))
    print(f"wrote {out}")


def main() -> None:
    grid = "LectureRL/GridWorld-v0"
    live_view(
        ["q_learning"],
        grid,
        {"map_name": "lecture"},
        60,
        {"alpha": 0.5, "gamma": 0.7, "epsilon": 0.2},
        "lecture.png",
    )
    live_view(
        ["q_learning"],
        "CliffWalking-v1",
        {},
        300,
        {"alpha": 0.5, "gamma": 1.0, "epsilon": 0.1},
        "cliff.png",
    )
    live_view(
        ["q_learning"],
        grid,
        {"map_name": "maze"},
        300,
        {"alpha": 0.5, "gamma": 0.95, "epsilon": 0.1},
        "maze.png",
        {"q": False},
    )
    live_view(
        ["q_learning"],
        "FrozenLake-v1",
        {"map_name": "8x8", "is_slippery": False},
        2000,
        {"alpha": 0.5, "gamma": 0.95, "epsilon": 0.2},
        "frozenlake8x8.png",
    )
    live_view(
        ["sarsa", "q_learning"],
        "CliffWalking-v1",
        {},
        300,
        {"alpha": 0.5, "gamma": 1.0, "epsilon": 0.1},
        "side_by_side.png",
        {"q": False},
    )
    example = replay_lecture_episode()
    env = gym.make(grid, map_name="lecture")
    stepper = Stepper(example, GridLayout.from_env(env))
    env.close()
    stepper.k = stepper.last
    pygame.image.save(stepper.render(), str(HERE / "update_panel.png"))
    print("wrote update_panel.png")


if __name__ == "__main__":
    main()
