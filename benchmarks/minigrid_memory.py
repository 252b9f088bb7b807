"""Benchmark: our PPO on Minigrid's smallest memory map and DoorKey-5x5, against rl-zoo3's PPO.

The same runs and columns as `benchmarks/popgym_table.py` (MMER over training, greedy return
of the final policy, random floor, wall time; 95% t-intervals over seeds). The agent sees
Minigrid's 7x7 egocentric view as the flattened one-hot of its cell codes
(`--env-set wrap=categorical-image`: object < 11, colour < 6, state < 3 per cell), read by
the `mlp`, `gru` or `lstm` backbone.

- `MiniGrid-MemoryS7-v0`: the smallest memory map (S11 and up need millions of steps). The
  agent sees an object at the start, walks down a corridor and must pick the matching one of
  two at its end: the cue is out of view when the choice is made, so a memoryless policy is
  right half the time. rl-zoo3 publishes no Memory figure.
- `MiniGrid-DoorKey-5x5-v0`: fetch a key, open a door, reach the goal (no memory needed).
  rl-zoo3's PPO (`benchmark.md` of github.com/DLR-RM/rl-baselines3-zoo, one run): greedy
  return 0.964 ± 0.006 after 100k env steps, with `FlatObsWrapper`, 8 envs, n_steps 128,
  VecNormalize (`hyperparams/ppo.yml`).

Usage:

```text
python benchmarks/minigrid_memory.py --smoke
python benchmarks/minigrid_memory.py --seeds 2 --markdown docs/minigrid_table.md
```
"""

from __future__ import annotations

import sys

from popgym_table import main as run_table

FLAT = {"wrap": "categorical-image"}
ENVS = {
    "MemoryS7": ("MiniGrid-MemoryS7-v0", FLAT),
    "DoorKey-5x5": ("MiniGrid-DoorKey-5x5-v0", FLAT),
}
REFERENCE = {
    "MemoryS7": "none published by rl-zoo3",
    "DoorKey-5x5": "rl-zoo3 PPO (MLP, FlatObsWrapper): 0.964 ± 0.006 greedy, 100k steps, 1 run",
}

if __name__ == "__main__":
    sys.exit(
        run_table(
            envs=ENVS,
            reference=REFERENCE,
            smoke_envs=["MemoryS7", "DoorKey-5x5"],
            smoke_agents=("ppo-gru",),
            default_steps=100_000,
            theirs_column=False,
            doc=__doc__,
            script="benchmarks/minigrid_memory.py",
        )
    )
