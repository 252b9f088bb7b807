"""`lecture-rl compare`: several agents x several seeds, one table and one plot.

Description:
    Every (agent, seed) pair is a *trial*: train on the env with that seed, then evaluate the
    greedy policy on fresh seeds (`1_000_000 + seed * eval_episodes + i`, disjoint from the
    training seeds). Trials run in `--workers` processes (default: the CPU count; one torch
    thread each), in this process with `--workers 1`, or as Ray tasks (`--executor ray`).
    Results do not depend on where trials ran. The output folder gets:

    `results.csv`   one row per training episode: agent, seed, episode, return, length,
                      env_steps (and accuracy on Parity/Copy); no wall-clock column, so the
                      same seeds give the same file byte for byte
    `summary.json`  per agent: `eval` (greedy return mean, std, 95% CI, n = seeds; accuracy),
                      training return over the last 10% of episodes, episodes to the env's
                      threshold; failed trials with their errors
    `timing.json`   wall time of the run, per agent mean trial time and env steps/s
    `curves.png`    moving-average learning curves, mean with a shaded 95% band per agent
    `config.json`   everything needed to rerun: `lecture-rl compare --config config.json`
    `trials/`       one JSON file per finished trial, written as it finishes

    Rerunning into the same `--out` runs only the missing or failed trials (`--fresh`
    starts over). A failing trial is reported (agent, seed, error) and the others go on.
    Ctrl-C stops the run, keeps every finished trial and writes the summary from them (exit
    code 130).

Modules: `settings` (flags and config files into trials), `trials` (one trial, its hash),
`executor` (inline, process pool, Ray), `summary` (statistics), `report` (display,
results.csv, table), `run` (the command).
"""

from lecture_rl.runners.compare.run import run_compare
from lecture_rl.runners.compare.summary import episodes_to_threshold, threshold_window

__all__ = ["episodes_to_threshold", "run_compare", "threshold_window"]
