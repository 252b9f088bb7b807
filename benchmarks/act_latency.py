"""Benchmark: latency of acting on one observation, ours `act()` vs SB3's `predict`.

Three pairs, timed interleaved in the same run (one torch thread, greedy actions):

- `dqn` + `mlp` (64, 64) on FrozenLake-v1 4x4 against SB3 `DQN("MlpPolicy")` [64, 64];
- `ppo` + `mlp` on FrozenLake-v1 against SB3 `PPO("MlpPolicy")`;
- `ppo` + `lstm` on `LectureRL/Parity-v0` (length 16) against sb3-contrib
  `RecurrentPPO("MlpLstmPolicy")` (the state carried between calls by both).

Each figure is the median over `--repeats` blocks of `--calls` calls of the mean
microseconds per call; the spread printed is the lowest and highest block. Wanted: <= 30 µs for
the MLPs and <= 80 µs for the LSTM (issue 19).

Usage:

```text
python benchmarks/act_latency.py --smoke     # CI: few calls
python benchmarks/act_latency.py             # 7 blocks of 2,000 calls each
```
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lecture_rl.envs  # noqa: E402,F401
from lecture_rl import agents  # noqa: E402
from lecture_rl.runners import presets  # noqa: E402

WANT_US = {"dqn+mlp": 30.0, "ppo+mlp": 30.0, "ppo+lstm": 80.0}


def frozen_lake() -> gym.Env:
    return gym.make("FrozenLake-v1", map_name="4x4", is_slippery=False)


def parity() -> gym.Env:
    return gym.make("LectureRL/Parity-v0", length=16)


def pairs() -> dict[str, tuple[Callable[[int], int], Callable[[int], int]]]:
    """`{name: (ours(obs) -> action, peer(obs) -> action)}`."""
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import DQN, PPO

    found = {}
    dqn = agents.make("dqn", frozen_lake(), seed=0, device="cpu")
    sb3_dqn = DQN("MlpPolicy", frozen_lake(), policy_kwargs={"net_arch": [64, 64]},
                  seed=0, device="cpu")  # fmt: skip
    found["dqn+mlp"] = (dqn.act, lambda o: int(sb3_dqn.predict(o, deterministic=True)[0]))
    ppo = agents.make("ppo", frozen_lake(), seed=0, device="cpu")
    sb3_ppo = PPO("MlpPolicy", frozen_lake(), seed=0, device="cpu")
    found["ppo+mlp"] = (ppo.act, lambda o: int(sb3_ppo.predict(o, deterministic=True)[0]))
    lstm_hp = presets.settings_for("ppo", "LectureRL/Parity-v0", {"net": "lstm"})
    lstm = agents.make("ppo", parity(), seed=0, device="cpu", **lstm_hp)
    recurrent = RecurrentPPO("MlpLstmPolicy", parity(), seed=0, device="cpu")
    memory = {"state": None}

    def peer_lstm(obs: int) -> int:
        action, memory["state"] = recurrent.predict(
            np.asarray(obs), state=memory["state"], episode_start=np.zeros(1, bool),
            deterministic=True,
        )  # fmt: skip
        return int(action)

    found["ppo+lstm"] = (lstm.act, peer_lstm)
    return found


def time_block(fn: Callable[[int], int], observations: list[int]) -> float:
    """Mean microseconds per call over `observations`."""
    start = time.perf_counter()
    for obs in observations:
        fn(obs)
    return (time.perf_counter() - start) / len(observations) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2_000, help="calls per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per agent")
    parser.add_argument("--smoke", action="store_true", help="3 blocks of 100 calls (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.calls, args.repeats = 100, 3
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    found = pairs()
    print(f"act() on one observation: median of {args.repeats} blocks of {args.calls} calls")
    for name, (ours, peer) in found.items():
        states = 16 if "mlp" in name else 2
        observations = [int(s) for s in rng.integers(states, size=args.calls)]
        times: dict[str, list[float]] = {"ours": [], "peer": []}
        for fn in (ours, peer):  # warm-up
            time_block(fn, observations[:50])
        for _ in range(args.repeats):  # interleaved: the load of the machine hits both
            times["ours"].append(time_block(ours, observations))
            times["peer"].append(time_block(peer, observations))
        ours_us, peer_us = (float(np.median(times[k])) for k in ("ours", "peer"))
        verdict = "ok" if ours_us <= WANT_US[name] else "over"
        print(
            f"{name:<9} ours {ours_us:6.1f} us ({min(times['ours']):.1f}-{max(times['ours']):.1f})"
            f"  sb3 {peer_us:6.1f} us ({min(times['peer']):.1f}-{max(times['peer']):.1f})"
            f"  sb3/ours {peer_us / ours_us:5.1f}x  want <= {WANT_US[name]:.0f} us: {verdict}"
        )


if __name__ == "__main__":
    main()
