"""Speed of `watch` on envs without a grid: ms per frame, and turbo learning against headless.

For Taxi-v4 + q_learning and CartPole-v1 + ppo (8 envs) the live view of the env's own picture
(`runners/viewer/env_canvas.py`: the env's `rgb_array` frame, the HUD, the last update, the
return plot and what the agent thinks in the state shown) is measured:

* ms per frame of the whole canvas (target: at most 33 ms, 30 frames per second), next to the
  peer measured in the same run: one `rgb_array` frame of the env itself, which the canvas
  contains;
* env steps per second learning live in turbo (about 30 frames per second, headless window)
  as a ratio of the same training with no viewer (target >= 0.5).

```bash
python benchmarks/viewer_any_env.py            # 300 frames, 3000 Taxi / 300 CartPole episodes
python benchmarks/viewer_any_env.py --smoke    # seconds, for CI
```
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from lecture_rl import agents  # noqa: E402
from lecture_rl.runners.env_factory import make_env  # noqa: E402
from lecture_rl.runners.viewer.controls import SPEEDS, Controls  # noqa: E402
from lecture_rl.runners.viewer.live import LiveViewer, make_lane_factory  # noqa: E402
from lecture_rl.runners.viewer.picture import DrawnEnv  # noqa: E402
from lecture_rl.runners.viewer.window import Window  # noqa: E402

CASES = {  # name: (env id, agent, hyperparameters, episodes (full run), episodes (smoke))
    "Taxi-v4 + q_learning": ("Taxi-v4", "q_learning", {}, 3000, 40),
    "CartPole-v1 + ppo": ("CartPole-v1", "ppo", {"num_envs": 8, "n_steps": 64, "device": "cpu"},
                          300, 16),
}  # fmt: skip
TURBO = len(SPEEDS) - 1


def viewer(env_id: str, name: str, hp: dict, episodes: int) -> LiveViewer:
    def build(_name: str):
        env = make_env(env_id, {}, render_mode="rgb_array")
        agent = agents.make(name, env, seed=0, **hp)
        return agent, DrawnEnv(env), make_env(env_id, {}, render_mode="rgb_array")

    return LiveViewer(
        make_lane_factory([name], build, {"episodes": episodes}, grid=False),
        env_label=env_id, window=Window("benchmark"), controls=Controls(speed=TURBO),
        greedy_episodes=0, hold=False,
    )  # fmt: skip


def ms_per_frame(env_id: str, name: str, hp: dict, episodes: int, frames: int) -> float:
    """Render the whole canvas (picture, thoughts, panels) after some learning; median ms."""
    v = viewer(env_id, name, hp, episodes)
    v.run()
    lane, times = v.lanes[0], []
    for i in range(frames):
        lane.state.drawn += 1  # a new step: nothing cached
        start = time.perf_counter()
        v.render(f"frame {i}")
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def env_frame_ms(env_id: str, frames: int) -> float:
    """The peer: the env's own `rgb_array` frame, median ms."""
    env = make_env(env_id, {}, render_mode="rgb_array")
    env.reset(seed=0)
    env.render()
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        env.render()
        times.append((time.perf_counter() - start) * 1e3)
    env.close()
    return statistics.median(times)


def headless_rate(env_id: str, name: str, hp: dict, episodes: int) -> float:
    env = make_env(env_id, {})
    agent = agents.make(name, env, seed=0, **hp)
    start = time.perf_counter()
    agent.train(env, episodes=episodes)
    return agent_steps(agent) / (time.perf_counter() - start)


def live_rate(env_id: str, name: str, hp: dict, episodes: int) -> tuple[float, int]:
    v = viewer(env_id, name, hp, episodes)
    start = time.perf_counter()
    v.run()
    return agent_steps(v.lanes[0].agent) / (time.perf_counter() - start), v.window.frames


def agent_steps(agent) -> int:
    return int(getattr(agent, "env_steps", 0) or getattr(agent, "steps_done", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    args = parser.parse_args()
    torch.set_num_threads(1)
    frames = 20 if args.smoke else 300
    print(f"{'case':24} {'frame ms':>9} {'env frame ms':>13} {'live steps/s':>13} "
          f"{'headless':>9} {'ratio':>6} {'frames':>7}")  # fmt: skip
    for case, (env_id, name, hp, full, smoke) in CASES.items():
        episodes = smoke if args.smoke else full
        frame = ms_per_frame(env_id, name, hp, smoke, frames)
        peer = env_frame_ms(env_id, frames)
        live, shown = live_rate(env_id, name, hp, episodes)
        headless = headless_rate(env_id, name, hp, episodes)
        print(f"{case:24} {frame:9.2f} {peer:13.2f} {live:13,.0f} {headless:9,.0f} "
              f"{live / headless:6.2f} {shown:7d}")  # fmt: skip


if __name__ == "__main__":
    main()
