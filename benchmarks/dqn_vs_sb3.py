"""Benchmark: our `dqn` against stable-baselines3's DQN on FrozenLake-v1 4x4 (not slippery).

Both train an MLP of two 64-unit layers in the same run, with the same replay of 20,000
transitions, γ = 0.99, 1,000 steps before learning, a hard target copy every 1,000 env steps,
ε from 1 to 0.05 over 10,000 env steps, Huber loss and gradient-norm clipping at 10:

- `ours`: `agents.make("dqn", env, seed=seed)`, nothing else set: its defaults step 16
  envs at once (numpy copies of the table, `envs/table_vector.py`) and make one Adam step
  (lr 1e-3) on 256 replayed transitions per vector step: 16 replayed samples per env step;
- `sb3`: SB3 as its DQN is usually run: one env, one Adam step (lr 5e-4) on 64 transitions
  every 4 env steps (`train_freq=4`): also 16 replayed samples per env step;
- `sb3-16` (`--matched`, on by default): SB3 with our settings exactly (16 envs via
  `make_vec_env`, one step of 256 per vector step, lr 1e-3), to show how much of the gain is
  the batched design (which SB3 can also run) and how much is the implementation.

Every `--eval-every` env steps the greedy policy is evaluated on the (deterministic) map; a
run is *solved* at the first evaluation that reaches the goal (return 1). Evaluation time is
not counted as training time.

Then (`--maze`, on by default) the pixel maze (`LectureRL/GridWorld-v0`, `map_name="maze"`,
`obs_mode="image"`, 42x42x3) with the CNN, ours and `sb3-16` only, speed only (solving it
takes ~100k steps; `benchmarks/dqn_maze.py` measures that): `dqn`'s defaults with
`net="cnn"` and the plain DQN target (SB3 has no Double DQN), against SB3's `CnnPolicy`
with our CNN as its features extractor (`nets/sb3_extractors.py`) and a linear Q head, the
same 16 envs, batch, lr, replay, target copy and clipping. SB3 runs the convolutions on
every row (forward on 2x256 images, backward on 256 per update); ours runs them once per
*distinct* picture of the minibatch (`agents/distinct_rows.py`: the maze has 28 pictures,
a batch of 256 shows about 22), the same loss and gradient in another order of addition.

Printed per agent and seed: env steps to solve, training env-steps/s over `--steps` per
wall-clock second and per CPU second of this process (steadier on a shared machine); then the
medians over the seeds and the ratios ours / SB3 (speed: want >= 3; steps to solve: want
<= 1). Steps to solve vary a lot between seeds (2.5k to 7k), so use many seeds (default 20).

Usage:

```text
python benchmarks/dqn_vs_sb3.py --smoke            # CI: one seed, 3,000 steps
python benchmarks/dqn_vs_sb3.py                    # 20 seeds, 10,000 steps: ~3 minutes
python benchmarks/dqn_vs_sb3.py --matched-only --seeds 0 1 2 3 4   # issue 19's ratios
```
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from lecture_rl import agents  # noqa: E402

ENV_KW = {"map_name": "4x4", "is_slippery": False}
MAZE_ID, MAZE_KW = "LectureRL/GridWorld-v0", {"map_name": "maze", "obs_mode": "image"}
ENV: dict = {"id": "FrozenLake-v1", "kw": ENV_KW, "net": "mlp"}  # the task being timed


def make_env() -> gym.Env:
    return gym.make(ENV["id"], **ENV["kw"])


def greedy_return(policy, env: gym.Env) -> float:
    """Return of one greedy episode (the map is deterministic)."""
    obs, _ = env.reset(seed=0)
    total = 0.0
    for _ in range(100):
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        total += float(reward)
        if terminated or truncated:
            break
    return total


class Timer:
    """Training seconds, wall-clock and this process's CPU time, minus the evaluation pauses.

    On a machine shared with other jobs the wall-clock speed swings with their load; the CPU
    seconds this process used (one torch thread) are the steadier measure of its own cost.
    """

    def __init__(self) -> None:
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        self.paused = self.cpu_paused = 0.0
        self._t0 = self._c0 = 0.0

    def pause(self) -> None:
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def resume(self) -> None:
        self.paused += time.perf_counter() - self._t0
        self.cpu_paused += time.process_time() - self._c0

    def speeds(self, steps: int) -> tuple[float, float]:
        """(env-steps per wall second, env-steps per CPU second)."""
        wall = time.perf_counter() - self.start - self.paused
        cpu = time.process_time() - self.cpu_start - self.cpu_paused
        return steps / wall, steps / max(cpu, 1e-9)


def run_ours(seed: int, args: argparse.Namespace) -> tuple[int | None, float, float]:
    timer, solved = Timer(), None  # making the env and the agent counts, as for SB3
    env, probe = make_env(), make_env()
    # dqn's defaults; on the maze the plain DQN target, as SB3's (Double DQN costs the CNN a
    # third forward pass per update: identical arithmetic makes the ratio the implementation's)
    extra = {"double": False} if ENV["net"] == "cnn" else {}
    agent = agents.make("dqn", env, net=ENV["net"], seed=seed, device="cpu", **extra)
    next_eval = args.eval_every

    def callback(record: dict) -> None:
        nonlocal next_eval, solved
        steps = record["env_steps"]
        if solved is None and steps >= next_eval:
            next_eval = steps + args.eval_every
            timer.pause()
            agent.reset()
            if greedy_return(lambda o: agent.act(o), probe) >= 1.0:
                solved = steps
            timer.resume()

    agent.train(env, steps=args.steps, callback=callback)
    return solved, *timer.speeds(args.steps)


def run_sb3(
    seed: int, args: argparse.Namespace, matched: bool = False
) -> tuple[int | None, float, float]:
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    timer, solved = Timer(), [None]  # making the env and the model counts
    probe = make_env()
    if matched:  # our dqn's defaults: 16 envs, one update of 256 per vector step, lr 1e-3
        env = make_vec_env(ENV["id"], n_envs=16, seed=seed, env_kwargs=ENV["kw"])
        settings = {"learning_rate": 1e-3, "batch_size": 256, "train_freq": 1}
    else:
        env = make_env()
        settings = {"learning_rate": 5e-4, "batch_size": 64, "train_freq": 4}
    policy, net = "MlpPolicy", {"net_arch": [64, 64]}
    if ENV["net"] == "cnn":  # our dqn's CNN exactly (64 features), then a linear Q head
        from lecture_rl.nets.sb3_extractors import policy_kwargs

        policy, net = "CnnPolicy", {**policy_kwargs("cnn", hidden_size=64), "net_arch": []}
    model = DQN(
        policy, env, buffer_size=20_000, learning_starts=1_000, gamma=0.99,
        gradient_steps=1, target_update_interval=1_000,
        exploration_fraction=min(1.0, 10_000 / args.steps), exploration_final_eps=0.05,
        max_grad_norm=10.0, policy_kwargs=net, seed=seed, device="cpu",
        **settings,
    )  # fmt: skip

    class Evaluate(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_eval = args.eval_every

        def _on_step(self) -> bool:
            if solved[0] is None and self.num_timesteps >= self.next_eval:
                self.next_eval = self.num_timesteps + args.eval_every
                timer.pause()
                policy = lambda o: int(model.predict(o, deterministic=True)[0])  # noqa: E731
                if greedy_return(policy, probe) >= 1.0:
                    solved[0] = self.num_timesteps
                timer.resume()
            return True

    model.learn(total_timesteps=args.steps, callback=Evaluate())
    return solved[0], *timer.speeds(args.steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(20)))
    parser.add_argument("--steps", type=int, default=10_000, help="training env steps per run")
    parser.add_argument(
        "--matched", action=argparse.BooleanOptionalAction, default=True,
        help="also run SB3 with our settings (16 envs, batch 256, lr 1e-3): the sb3-16 rows",
    )  # fmt: skip
    parser.add_argument(
        "--matched-only", action="store_true",
        help="only ours and sb3-16 (identical settings): the ratio issue 19 asks >= 3x",
    )  # fmt: skip
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument(
        "--maze", action=argparse.BooleanOptionalAction, default=True,
        help="then the pixel maze with the CNN (speed only, --maze-steps per run; the identical"
        " settings of ours and sb3-16, SB3's CnnPolicy with our CNN as features extractor)",
    )  # fmt: skip
    parser.add_argument("--maze-steps", type=int, default=4_000)
    parser.add_argument("--smoke", action="store_true", help="one seed, 3,000 steps (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.steps, args.maze_steps = [0], 3_000, 1_200
    torch.set_num_threads(1)
    print("FrozenLake-v1 4x4 (not slippery), MLP 64-64")
    frozen = compare(args)
    if not args.maze:
        return
    ENV.update(id=MAZE_ID, kw=MAZE_KW, net="cnn")
    print(
        f"\npixel maze ({MAZE_ID} {MAZE_KW}, 42x42x3), the CNN: speed over "
        f"{args.maze_steps:,} env steps (1,000 of them before learning), no evaluation"
    )
    maze_args = argparse.Namespace(
        **{**vars(args), "steps": args.maze_steps, "eval_every": 10**12, "matched_only": True}
    )
    maze = compare(maze_args)
    print(
        f"\nsame settings, ours/sb3-16 env-steps/s: FrozenLake {frozen:.2f}x, pixel maze "
        f"{maze:.2f}x (want >= 3)"
    )


def compare(args: argparse.Namespace) -> float:
    """Run the agents on `ENV` for every seed, print rows, medians and ratios; return the
    ratio of median wall-clock speeds ours / sb3-16 (or ours / sb3 without sb3-16)."""
    # warm-up: the process's first optimizer and first update import and set up torch parts
    # (seconds) that would otherwise be charged to whichever agent runs first
    warm = argparse.Namespace(**{**vars(args), "steps": 1_200, "eval_every": 10**9})
    run_ours(0, warm), run_sb3(0, warm, matched=args.matched or args.matched_only)
    runners = {"ours": run_ours} if args.matched_only else {"ours": run_ours, "sb3": run_sb3}
    if args.matched or args.matched_only:
        runners["sb3-16"] = lambda seed, args: run_sb3(seed, args, matched=True)
    rows: dict[str, list] = {name: [] for name in runners}
    for seed in args.seeds:
        for name, fn in runners.items():
            solved, speed, cpu_speed = fn(seed, args)
            rows[name].append((solved, speed, cpu_speed))
            where = f"solved after {solved:>6,} env steps" if solved else "not solved          "
            if args.eval_every > args.steps:
                where = "(not evaluated)     "
            print(
                f"{name:<6} seed {seed}: {where}  {speed:8,.0f} env-steps/s "
                f"({cpu_speed:8,.0f} per CPU second)",
                flush=True,
            )
    medians = {}
    for name, results in rows.items():
        steps = [s if s is not None else np.inf for s, _, _ in results]
        medians[name] = (
            float(np.median(steps)),
            float(np.median([v for _, v, _ in results])),
            float(np.median([c for _, _, c in results])),
        )
        solved = sum(s is not None for s, _, _ in results)
        print(
            f"{name:<6} median: {medians[name][0]:>8,.0f} env steps to solve ({solved}/"
            f"{len(results)} solved), {medians[name][1]:8,.0f} env-steps/s, "
            f"{medians[name][2]:8,.0f} per CPU second"
        )

    def ratios(peer: str) -> str:
        speed = medians["ours"][1] / medians[peer][1]
        cpu = medians["ours"][2] / medians[peer][2]
        per_seed = [o[2] / p[2] for o, p in zip(rows["ours"], rows[peer])]
        ours_steps, peer_steps = medians["ours"][0], medians[peer][0]
        steps = "n/a (unsolved)" if np.isinf([ours_steps, peer_steps]).any() else (
            f"{ours_steps / peer_steps:.2f}")  # fmt: skip
        return (
            f"speed {speed:.2f}x wall, {cpu:.2f}x per CPU second (per seed "
            f"{min(per_seed):.2f}-{max(per_seed):.2f}x), steps to solve {steps}"
        )

    if "sb3" in runners:
        print(f"ratio ours/sb3: {ratios('sb3')} (want speed >= 3, steps to solve <= 1)")
    if "sb3-16" in runners:
        print(f"ratio ours/sb3-16 (same settings): {ratios('sb3-16')}")
    peer = "sb3-16" if "sb3-16" in runners else "sb3"
    return medians["ours"][1] / medians[peer][1]


if __name__ == "__main__":
    main()
