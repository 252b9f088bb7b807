"""Speed of our Q-learning against a minimal inline numpy Q-learning loop.

Both learn on Gymnasium's CliffWalking-v1 with the same hyperparameters (S&B Example 6.6:
α = 0.5, γ = 1, ε = 0.1) for the same number of episodes, in the same process, alternating runs
so machine noise hits both alike. Reported: total seconds per run (median over repeats),
microseconds per env step, the time ratio ours / minimal (target: within 2×) and the learning
result of both (mean return over the last 100 episodes), so the speed is not bought by learning
less. The minimal loop breaks ties by first index (`np.argmax`); ours breaks them at random and
honours action masks, so episode lengths differ a little: compare the per-step figures too.

Run:

```text
python benchmarks/tabular_speed.py [--episodes 500] [--repeats 5]
```
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

from lecture_rl import agents

ENV_ID = "CliffWalking-v1"
ALPHA, GAMMA, EPSILON = 0.5, 1.0, 0.1


def minimal_q_learning(env: gym.Env, episodes: int, seed: int) -> tuple[float, int, float]:
    """The textbook loop in a dozen lines of numpy: (seconds, env steps, mean last-100 return)."""
    rng = np.random.default_rng(seed)
    n_actions = env.action_space.n
    q = np.zeros((env.observation_space.n, n_actions))
    returns, steps = [], 0
    start = time.perf_counter()
    env.reset(seed=seed)
    for _ in range(episodes):
        s, _ = env.reset()
        total, done = 0.0, False
        while not done:
            a = int(rng.integers(n_actions)) if rng.random() < EPSILON else int(np.argmax(q[s]))
            s2, r, terminated, truncated, _ = env.step(a)
            q[s, a] += ALPHA * (r + GAMMA * (0.0 if terminated else np.max(q[s2])) - q[s, a])
            s, total, steps, done = s2, total + r, steps + 1, terminated or truncated
        returns.append(total)
    return time.perf_counter() - start, steps, float(np.mean(returns[-100:]))


def ours(env: gym.Env, episodes: int, seed: int) -> tuple[float, int, float]:
    """`lecture_rl.agents` Q-learning: (seconds, env steps, mean last-100 return)."""
    agent = agents.make("q_learning", env, alpha=ALPHA, gamma=GAMMA, epsilon=EPSILON, seed=seed)
    start = time.perf_counter()
    result = agent.train(env, episodes=episodes)
    seconds = time.perf_counter() - start
    return seconds, result.env_steps, float(np.mean([r["return"] for r in result.episodes[-100:]]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny budget (seconds): checks the script runs (CI)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.episodes, args.repeats = 20, 1

    env = gym.make(ENV_ID)
    runs: dict[str, list[tuple[float, int, float]]] = {"ours": [], "minimal": []}
    ours(env, 20, seed=999)  # warm up imports and caches outside the timing
    for seed in range(args.repeats):
        runs["minimal"].append(minimal_q_learning(env, args.episodes, seed))
        runs["ours"].append(ours(env, args.episodes, seed))
    env.close()

    print(
        f"Q-learning on {ENV_ID}, {args.episodes} episodes, α={ALPHA}, γ={GAMMA}, ε={EPSILON}, "
        f"{args.repeats} repeats (median)"
    )
    print(f"{'':10} {'seconds':>9} {'env steps':>10} {'µs/step':>9} {'last-100 return':>16}")
    medians = {}
    for name, rows in runs.items():
        seconds = statistics.median(r[0] for r in rows)
        steps = statistics.median(r[1] for r in rows)
        per_step = statistics.median(r[0] / r[1] * 1e6 for r in rows)
        ret = statistics.mean(r[2] for r in rows)
        medians[name] = (seconds, per_step)
        print(f"{name:10} {seconds:9.3f} {steps:10.0f} {per_step:9.2f} {ret:16.1f}")
    time_ratio = medians["ours"][0] / medians["minimal"][0]
    step_ratio = medians["ours"][1] / medians["minimal"][1]
    verdict = "within" if time_ratio <= 2.0 else "OVER"
    print(
        f"ratio ours/minimal: time {time_ratio:.2f}x, per step {step_ratio:.2f}x "
        f"({verdict} the 2x target)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
