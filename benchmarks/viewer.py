"""Speed of the live viewer: milliseconds per frame and turbo learning against headless.

Measured on the cliff (`LectureRL/GridWorld-v0`, map `cliff`, 4×12) with every overlay on
(Q triangles with numbers, V heat map toggle state as shipped, policy, trail, colour bar), the
update panel, the HUD, the return plot and the key legend, at the default size:

* ms per frame of the whole canvas (target ≤ 2 ms), next to the peer measured in the same run:
  one `rgb_array` frame of Gymnasium's CliffWalking-v1 (its sprites, no overlay);
* env steps per second of Q-learning learning live in turbo (drawing about 30 frames per
  second, headless window) as a ratio of the same training with no viewer (target ≥ 0.5).

Run:

```text
python benchmarks/viewer.py            # 2000 frames, 3000 episodes
python benchmarks/viewer.py --smoke    # seconds, for CI
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

import gymnasium as gym  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401
from lecture_rl import agents  # noqa: E402
from lecture_rl.runners.viewer.controls import SPEEDS, Controls  # noqa: E402
from lecture_rl.runners.viewer.live import LiveViewer, make_lane_factory  # noqa: E402
from lecture_rl.runners.viewer.window import Window  # noqa: E402

ENV_ID, MAP = "LectureRL/GridWorld-v0", "cliff"
HP = {"alpha": 0.5, "gamma": 1.0, "epsilon": 0.1}


def make(name: str = "q_learning"):
    env = gym.make(ENV_ID, map_name=MAP)
    return agents.make(name, env, seed=0, **HP), env, gym.make(ENV_ID, map_name=MAP)


def viewer(episodes: int, speed: int) -> LiveViewer:
    return LiveViewer(
        make_lane_factory(["q_learning"], lambda name: make(name), {"episodes": episodes}),
        env_label=f"{ENV_ID} ({MAP})",
        window=Window("benchmark"),
        controls=Controls(speed=speed),
        greedy_episodes=0,
        hold=False,
    )


def ms_per_frame(frames: int) -> float:
    """Render the full canvas of a viewer whose agent has learned 100 episodes."""
    v = viewer(100, len(SPEEDS) - 1)
    v.run()  # learn (turbo), so the table, panel and plot hold real numbers
    lane = v.lanes[0]
    lane.state.mode = "learning"
    trail = [36, 24, 25, 26, 27, 28, 16, 17, 18]
    lane.state.trail = trail
    v.render()  # warm the caches
    times = []
    for i in range(frames):
        lane.state.pos = trail[i % len(trail)]
        start = time.perf_counter()
        v.render()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def gym_frame_ms(frames: int) -> float:
    env = gym.make("CliffWalking-v1", render_mode="rgb_array")
    env.reset(seed=0)
    env.render()
    times = []
    for i in range(frames):
        env.step(i % 4 if i % 7 else 0)
        start = time.perf_counter()
        env.render()
        times.append(time.perf_counter() - start)
    env.close()
    return 1000 * statistics.median(times)


def headless_rate(episodes: int) -> float:
    agent, env, _ = make()
    result = agent.train(env, episodes=episodes)
    return result.env_steps / result.wall_time


def live_turbo_rate(episodes: int) -> tuple[float, int]:
    v = viewer(episodes, len(SPEEDS) - 1)
    start = time.perf_counter()
    v.run()
    seconds = time.perf_counter() - start
    return v.lanes[0].env_steps / seconds, v.window.frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--episodes", type=int, default=3000)
    args = parser.parse_args()
    frames = 100 if args.smoke else args.frames
    episodes = 300 if args.smoke else args.episodes

    ours = ms_per_frame(frames)
    peer = gym_frame_ms(frames)
    print("frame, cliff with Q triangles, V, policy, trail, colour bar, panel, HUD, plot, legend:")
    print(f"  ours {ours:.2f} ms/frame (target <= 2 ms)")
    print(f"  Gymnasium CliffWalking-v1 rgb_array (sprites, no overlay) {peer:.2f} ms/frame")
    print(f"  ratio ours / Gymnasium {ours / peer:.2f}")
    rates = []
    for _ in range(1 if args.smoke else 3):  # alternate, so machine noise hits both alike
        headless = headless_rate(episodes)
        live, shown = live_turbo_rate(episodes)
        rates.append((headless, live, shown))
    headless = statistics.median(r[0] for r in rates)
    live = statistics.median(r[1] for r in rates)
    shown = rates[-1][2]
    print(f"Q-learning on the cliff, {episodes} episodes:")
    print(f"  headless {headless:,.0f} env steps/s")
    print(f"  live turbo {live:,.0f} env steps/s ({shown} frames drawn)")
    print(f"  ratio live / headless {live / headless:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
