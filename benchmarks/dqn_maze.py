"""DQN with the notes' CNN on the maze seen as pixels, against stable-baselines3's DQN.

Usage:

```text
python benchmarks/dqn_maze.py                    # both agents, seed 0, cap 100k env steps
python benchmarks/dqn_maze.py --seeds 0 1 2 --cap-steps 60000 --only ours
```

Env: `LectureRL/GridWorld-v0` with `map_name="maze"` and `obs_mode="image"` (42x42x3
uint8). The optimal return comes from value iteration over the env's own model `P`. Both agents
are evaluated greedily every `--eval-every` env steps; the script prints, per agent and seed,
the env steps and wall-clock to the optimal greedy return (or the best return at the cap) and
the training env-steps/s (evaluation time left out), and the ratios ours/peer.

Ours: `lecture_rl.agents.make("dqn", env, net="cnn")` with its defaults. Peer: SB3
`DQN("CnnPolicy")` with its defaults except `buffer_size=100_000` (its default of one
million 42x42x3 frames would not fit this machine's memory twice over).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents.dynamic_programming import value_iteration

ENV_KW = {"map_name": "maze", "obs_mode": "image"}


def optimal_return(env: gym.Env) -> float:
    """Undiscounted return of the shortest path found by value iteration on P."""
    u = env.unwrapped
    plan = value_iteration(u.P, u.nS, u.nA, gamma=0.999)
    s, total = u.start_state, 0.0
    for _ in range(u.nS):
        a = int(np.argmax(np.where(u.action_mask(s), plan.q[s], -np.inf)))
        _, s, r, done = u.P[s][a][0]
        total += r
        if done:
            break
    return total


def greedy_return(act, env: gym.Env) -> float:
    obs, info = env.reset(seed=12345)
    total, done, steps = 0.0, False, 0
    while not done and steps < 200:
        obs, r, terminated, truncated, info = env.step(act(obs, info))
        total += r
        steps += 1
        done = terminated or truncated
    return total


def run(name: str, seed: int, cap: int, every: int, target: float) -> dict:
    env = gym.make("LectureRL/GridWorld-v0", **ENV_KW)
    eval_env = gym.make("LectureRL/GridWorld-v0", **ENV_KW)  # never the one being trained on
    if name == "ours":
        agent = agents.make("dqn", env, net="cnn", seed=seed, device="cpu")

        def learn(n: int) -> None:
            agent.train(env, steps=n)

        def act(obs, info):
            return agent.act(obs, info)
    else:
        from stable_baselines3 import DQN

        model = DQN("CnnPolicy", env, seed=seed, buffer_size=100_000, device="cpu")

        def learn(n: int) -> None:
            model.learn(n, reset_num_timesteps=False)

        def act(obs, info):
            return int(model.predict(obs, deterministic=True)[0])

    steps, train_time, best = 0, 0.0, -np.inf
    reached = None
    while steps < cap:
        start = time.perf_counter()
        learn(every)
        train_time += time.perf_counter() - start
        steps += every
        ret = greedy_return(act, eval_env)
        best = max(best, ret)
        if ret >= target - 1e-9:
            reached = (steps, train_time)
            break
    return {"reached": reached, "best": best, "sps": steps / train_time, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--cap-steps", type=int, default=100_000)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--only", choices=["ours", "sb3"], default=None)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny budget (seconds): checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.cap_steps, args.eval_every = [0], 200, 100
    target = optimal_return(gym.make("LectureRL/GridWorld-v0", **ENV_KW))
    print(f"maze, image observations; optimal greedy return {target:.2f}")
    names = [args.only] if args.only else ["ours", "sb3"]
    results: dict[str, list[dict]] = {name: [] for name in names}
    for seed in args.seeds:
        for name in names:
            out = run(name, seed, args.cap_steps, args.eval_every, target)
            results[name].append(out)
            if out["reached"]:
                steps, secs = out["reached"]
                what = f"optimal after {steps:,} env steps, {secs:.1f} s"
            else:
                what = f"not reached in {out['steps']:,} steps; best {out['best']:.2f}"
            print(f"{name:>5} seed {seed}: {what}; {out['sps']:,.0f} training env-steps/s")
    if len(names) == 2:
        ours = np.mean([r["sps"] for r in results["ours"]])
        peer = np.mean([r["sps"] for r in results["sb3"]])
        print(f"env-steps/s ratio ours/sb3: {ours / peer:.2f}x")


if __name__ == "__main__":
    main()
