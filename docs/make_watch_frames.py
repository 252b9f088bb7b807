"""Generate the pictures of `watch` on envs without a grid (docs/watch_*.png).

Runs `lecture-rl watch ... --record` on CartPole-v1 + ppo, Acrobot-v1 + dqn, Taxi-v4 +
q_learning, MiniGrid-Empty-5x5-v0 + ppo and Blackjack-v1 + q_learning (headless, one torch
thread) and saves one frame of each as shown, unscaled: the last frame drawn while the agent
learns in a state where it still chooses (not an episode's terminal one), a few steps into its
episode. About ten minutes on one CPU core; the GIFs go to a temporary folder.

```bash
python docs/make_watch_frames.py [--out docs] [--only taxi]
```
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import imageio.v3 as iio  # noqa: E402

from lecture_rl.envs import rendering  # noqa: E402
from lecture_rl.runners.cli import main  # noqa: E402
from lecture_rl.runners.viewer.live import LiveViewer  # noqa: E402

CASES = {  # name: (file, watch arguments, steps into the episode wanted)
    "cartpole": ("watch_cartpole_ppo.png",
                 ["--env", "CartPole-v1", "--agent", "ppo", "--set", "num_envs=8",
                  "--set", "n_steps=64", "--train-episodes", "400"], 20),
    "acrobot": ("watch_acrobot_dqn.png",
                ["--env", "Acrobot-v1", "--agent", "dqn", "--train-episodes", "20"], 20),
    "taxi": ("watch_taxi_q_learning.png",
             ["--env", "Taxi-v4", "--agent", "q_learning", "--train-episodes", "2000"], 5),
    "minigrid": ("watch_minigrid_ppo.png",
                 ["--env", "MiniGrid-Empty-5x5-v0", "--agent", "ppo", "--set", "num_envs=16",
                  "--train-episodes", "1000"], 3),
    "blackjack": ("watch_blackjack_q_learning.png",
                  ["--env", "Blackjack-v1", "--agent", "q_learning", "--train-episodes",
                   "20000"], 1),
}  # fmt: skip


def record(argv: list[str], want_steps: int, folder: Path):
    """Run `watch ARGV --record`; returns the chosen frame (an RGB array) and its caption."""
    kept: list[tuple] = []
    real_show = LiveViewer.show

    def show(viewer, prompt=""):
        before = viewer.window.frames
        real_show(viewer, prompt)
        lane = viewer.lanes[0]
        st, total = lane.state, lane.display_total or 0
        inside = st.number <= total  # (not an episode begun after the budget was spent)
        if viewer.window.frames > before and st.mode == "learning" and not st.ended and inside:
            kept.append((st.episode_steps, rendering.surface_to_rgb(viewer.canvas), prompt))

    LiveViewer.show = show
    try:
        out = io.StringIO()
        code = main(["watch", *argv, "--threads", "1", "--episodes", "1",
                     "--record", str(folder / "lesson.gif")], out=out)  # fmt: skip
        if code != 0:
            raise SystemExit(out.getvalue())
    finally:
        LiveViewer.show = real_show
    late = [item for item in kept if item[0] >= want_steps] or kept
    return late[-1][1]


def run(out: Path, only: str | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (file, argv, steps) in CASES.items():
            if only and name != only:
                continue
            frame = record(argv, steps, Path(tmp))
            iio.imwrite(out / file, frame)
            print(f"{out / file}: {frame.shape[1]} x {frame.shape[0]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--only", choices=sorted(CASES))
    args = parser.parse_args()
    run(args.out, args.only)
