"""`compare` summaries: statistics over seeds, episodes to threshold, learning-curve data.

Description:
    `summarize` builds `summary.json` from the finished trials only, so the same trials
    give the same file byte for byte however they were run (one process, a pool, Ray, resumed
    after an interruption); wall-clock figures go to `timing.json` (`timing`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.agents.stats import mean_ci95
from lecture_rl.runners.plots import smooth
from lecture_rl.runners.scoring import last_fraction_mean


def threshold_window(count: int) -> int:
    """Episodes in the moving average used for curves and the threshold: 2% of the
    episodes, at least 5 and at most 50 (10 for 500 episodes)."""
    return max(1, min(count, max(5, min(50, count // 50))))


def episodes_to_threshold(records: list[dict[str, Any]], threshold: float | None):
    """First episode (1-based) whose trailing moving-average return reaches `threshold`,
    with the env steps at that point; `(None, None)` if never."""
    if threshold is None or not records:
        return None, None
    returns = np.array([float(r["return"]) for r in records])
    average = smooth(returns, threshold_window(len(returns)))
    hits = np.nonzero(average >= threshold - 1e-9)[0]
    if hits.size == 0:
        return None, None
    first = int(hits[0])
    return first + 1, int(records[first].get("env_steps", 0))


def _stats(values: list[float]) -> dict[str, Any]:
    mean, std, ci = mean_ci95(values)
    return {"mean": mean, "std": std, "ci95": [ci[0], ci[1]], "n": len(values)}


def summarize(
    settings: dict[str, Any],
    facts: dict[str, Any],
    results: dict[tuple[str, int], dict[str, Any]],
    interrupted: bool,
) -> dict[str, Any]:
    """The `summary.json` object (CONTRACT: env, agents.NAME.eval.{return_mean, ...})."""
    threshold = facts["threshold"]
    summary: dict[str, Any] = {
        "env": settings["env"],
        "env_kwargs": settings["env_kwargs"],
        "seeds": list(range(settings["first_seed"], settings["first_seed"] + settings["seeds"])),
        "eval_episodes": settings["eval_episodes"],
        "threshold": threshold,
        "threshold_rule": "first episode whose moving-average training return (window: 2% of "
        "the episodes, at least 5, at most 50) reaches the threshold",
        "interrupted": interrupted,
        "agents": {},
        "failed": [],
    }
    for name in settings["agents"]:
        done = [r for (agent, _), r in sorted(results.items()) if agent == name]
        ok = [r for r in done if not r.get("error")]
        failed = [
            {"agent": name, "seed": r["seed"], "error": r["error"]} for r in done if r.get("error")
        ]
        summary["failed"].extend(failed)
        per_seed = [r["eval"]["return_mean"] for r in ok]
        evaluation = _stats(per_seed)
        entry: dict[str, Any] = {
            "eval": {
                "return_mean": evaluation["mean"],
                "return_std": evaluation["std"],
                "ci95": evaluation["ci95"],
                "n": evaluation["n"],
                "episodes_per_seed": settings["eval_episodes"],
                "per_seed": per_seed,
            },
            "seeds": [r["seed"] for r in ok],
            "failed": failed,
        }
        if ok and all("accuracy" in r["eval"] for r in ok):
            accuracy = _stats([r["eval"]["accuracy"] for r in ok])
            entry["eval"]["accuracy"] = accuracy["mean"]
            entry["eval"]["accuracy_ci95"] = accuracy["ci95"]
            entry["accuracy"] = accuracy["mean"]
        entry["train_return_last_10pct"] = _stats([last_fraction_mean(r["records"]) for r in ok])
        reach = [episodes_to_threshold(r["records"], threshold) for r in ok]
        reached = [episode for episode, _ in reach if episode is not None]
        entry["episodes_to_threshold"] = {
            "threshold": threshold,
            "per_seed": [episode for episode, _ in reach],
            "env_steps_per_seed": [steps for _, steps in reach],
            "reached": len(reached),
            "of": len(ok),
            "median": float(np.median(reached)) if reached else None,
        }
        variant = settings.get("variants", {}).get(name)
        if variant is not None and not variant.plain:
            entry["agent"] = variant.agent
            entry["variant"] = variant.hyperparameters
        summary["agents"][name] = entry
    return summary


def timing(settings: dict[str, Any], results, wall_time: float) -> dict[str, Any]:
    """`timing.json`: the run's wall time and, per agent, mean trial time (wall and the
    worker's CPU seconds: on a shared machine the CPU time is what the trial costs) and env
    steps/s."""
    agents: dict[str, Any] = {}
    for name in settings["agents"]:
        ok = [
            r for (agent, _), r in sorted(results.items()) if agent == name and not r.get("error")
        ]
        wall = sum(r["wall_time"] for r in ok)
        steps = sum(r["env_steps"] for r in ok)
        cpu = [r["cpu_time"] for r in ok if "cpu_time" in r]  # resumed older trials: none
        agents[name] = {
            "wall_time_s_mean": wall / len(ok) if ok else None,
            "cpu_time_s_mean": sum(cpu) / len(cpu) if cpu else None,
            "env_steps_mean": steps / len(ok) if ok else None,
            "env_steps_per_s": steps / wall if wall > 0 else None,
        }
    return {"wall_time_s": wall_time, "agents": agents}


def curve_data(settings, results, step_axis: bool, use_accuracy: bool):
    """Per agent `(x, rows)` for `plot_curves`: smoothed returns per seed."""
    key = "accuracy" if use_accuracy else "return"
    curves = {}
    for name in settings["agents"]:
        runs = [
            r["records"]
            for (agent, _), r in sorted(results.items())
            if agent == name and not r.get("error") and r["records"]
        ]
        if not runs:
            continue
        smoothed = [
            smooth([float(x[key]) for x in run], threshold_window(len(run))) for run in runs
        ]
        if step_axis:
            end = max(run[-1]["env_steps"] for run in runs)
            x = np.linspace(0, end, 200)
            rows = []
            for run, y in zip(runs, smoothed):
                steps = np.array([float(record["env_steps"]) for record in run])
                row = np.interp(x, steps, y)
                row[(x < steps[0]) | (x > steps[-1])] = np.nan
                rows.append(row)
        else:
            length = max(len(y) for y in smoothed)
            x = np.arange(1, length + 1)
            rows = [np.pad(y, (0, length - len(y)), constant_values=np.nan) for y in smoothed]
        curves[name] = (x, np.array(rows))
    return curves
