"""``lecture-rl compare``: several agents x several seeds, one table and one plot.

Description:
    Every (agent, seed) pair is a *trial*: train on the env with that seed, then evaluate the
    greedy policy on fresh seeds (``1_000_000 + seed * eval_episodes + i``, disjoint from the
    training seeds). Trials run in ``--workers`` processes (default: the CPU count; one torch
    thread each), or in this process with ``--workers 1``. Results do not depend on the
    number of workers. The output folder gets:

    ``results.csv``   one row per training episode: agent, seed, episode, return, length,
                      env_steps (and accuracy on Parity/Copy); no wall-clock column, so the
                      same seeds give the same file byte for byte
    ``summary.json``  per agent: ``eval`` (greedy return mean, std, 95% CI, n = seeds; accuracy),
                      training return over the last 10% of episodes, episodes to the env's
                      threshold, timing; failed trials with their errors
    ``curves.png``    moving-average learning curves, mean with a shaded 95% band per agent
    ``config.json``   everything needed to rerun: ``lecture-rl compare --config config.json``
    ``trials/``       one JSON file per finished trial, written as it finishes

    A failing trial is reported (agent, seed, error) and the others go on. Ctrl-C stops the
    run, keeps every finished trial and writes the summary from them (exit code 130).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import math
import multiprocessing
import os
import queue as queue_module
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lecture_rl import agents
from lecture_rl.agents.checkpoint_io import atomic_write_text
from lecture_rl.agents.stats import mean_ci95
from lecture_rl.envs.protocols import graded_answers as answers_per_episode
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.plots import plot_curves, smooth
from lecture_rl.runners.progress import budget_unit, make_progress
from lecture_rl.runners.settings import (
    UsageError,
    load_config,
    parse_assignments,
    safe_name,
    split_agent_overrides,
)
from lecture_rl.runners.train import (
    EVAL_SEED_BASE,
    agent_class,
    build_agent,
    check_device,
    greedy_evaluation,
    last_fraction_mean,
    records_to_csv,
    resolve_budget,
)

RESULT_COLUMNS = ["agent", "seed", "episode", "return", "length", "env_steps", "accuracy"]
CONFIG_KEYS = (
    "env",
    "env_kwargs",
    "agents",
    "seeds",
    "first_seed",
    "episodes",
    "steps",
    "hyperparameters",
    "eval_episodes",
    "device",
)


# --------------------------------------------------------------------------------------------
# One trial (runs in a worker process or in this one)
# --------------------------------------------------------------------------------------------


@dataclass
class Trial:
    """Everything one (agent, seed) run needs; plain data, so it crosses process boundaries."""

    agent: str
    agent_target: str | None
    seed: int
    env_id: str
    env_kwargs: dict[str, Any]
    hyperparameters: dict[str, Any]
    device: str | None
    budget: dict[str, int]
    eval_episodes: int
    eval_seed: int
    log_dir: str | None


_progress_queue: Any = None


def _init_worker(progress_queue: Any) -> None:
    """Worker set-up: Ctrl-C is the parent's business; one torch thread per worker."""
    global _progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    _progress_queue = progress_queue


def _queue_report(agent: str, seed: int, done: int) -> None:
    if _progress_queue is not None:
        _progress_queue.put((agent, seed, done))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_trial(trial: Trial, report=None) -> dict[str, Any]:
    """Train and evaluate one (agent, seed); errors are returned, never raised."""
    report = report or _queue_report
    start = time.perf_counter()
    records: list[dict[str, Any]] = []
    result: dict[str, Any] = {"agent": trial.agent, "seed": trial.seed, "error": None}
    unit = budget_unit(trial.budget)
    threads = None
    last_report = [0.0]

    def on_episode(record: dict[str, Any]) -> None:
        records.append({key: _plain(value) for key, value in record.items()})
        now = time.perf_counter()
        if now - last_report[0] > 0.2:
            last_report[0] = now
            done = record.get("env_steps", 0) if unit == "steps" else len(records)
            report(trial.agent, trial.seed, int(done))

    try:
        if trial.agent_target and trial.agent not in agents.names():
            agents.register(trial.agent, trial.agent_target)
        env = make_env(trial.env_id, trial.env_kwargs)
        try:
            agent = build_agent(
                trial.agent,
                env,
                seed=trial.seed,
                hyperparameters=trial.hyperparameters,
                device=trial.device,
            )
            if "torch" in sys.modules:
                import torch

                threads = torch.get_num_threads()
                torch.set_num_threads(1)
            agent.log_dir = Path(trial.log_dir) if trial.log_dir else None
            agent.train(env, callback=on_episode, **trial.budget)
        finally:
            env.close()
        result["eval"] = greedy_evaluation(
            agent, trial.env_id, trial.env_kwargs, trial.eval_episodes, trial.eval_seed
        )
    except Exception as exc:  # noqa: BLE001 - one failing trial must not stop the others
        text = str(exc).strip().splitlines()
        result["error"] = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    finally:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
    done = records[-1].get("env_steps", 0) if (unit == "steps" and records) else len(records)
    report(trial.agent, trial.seed, int(done))
    result["records"] = records
    result["wall_time"] = time.perf_counter() - start
    result["env_steps"] = int(records[-1].get("env_steps", 0)) if records else 0
    return result


# --------------------------------------------------------------------------------------------
# Settings: flags, config files, validation
# --------------------------------------------------------------------------------------------


def _agent_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    names = [str(name).strip() for name in value or [] if str(name).strip()]
    if not names:
        raise UsageError("--agents is empty; give names such as --agents q_learning,sarsa")
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise UsageError(f"--agents names {sorted(duplicates)} twice; give each agent once")
    return names


def _flatten_hyperparameters(value: Any) -> dict[str, Any]:
    """``{"ppo": {"lr": 1e-3}, "gamma": 0.9}`` (TOML tables) -> ``{"ppo.lr": 1e-3, ...}``."""
    flat: dict[str, Any] = {}
    for key, item in (value or {}).items():
        if isinstance(item, dict):
            for sub, sub_value in item.items():
                flat[f"{key}.{sub}"] = sub_value
        else:
            flat[key] = item
    return flat


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Config file values, overridden by the flags given on the command line."""
    config: dict[str, Any] = load_config(args.config) if args.config else {}
    unknown = [key for key in config if key not in (*CONFIG_KEYS, "out", "command", "version")]
    if unknown:
        raise UsageError(
            f"config file {args.config}: unknown key '{unknown[0]}'; valid keys: "
            f"{', '.join(CONFIG_KEYS)}, out"
        )
    settings = {key: config.get(key) for key in CONFIG_KEYS}
    settings["out"] = config.get("out")
    settings["hyperparameters"] = _flatten_hyperparameters(config.get("hyperparameters"))
    settings["env_kwargs"] = dict(config.get("env_kwargs") or {})
    flags = {
        "env": args.env,
        "agents": args.agents,
        "seeds": args.seeds,
        "first_seed": args.first_seed,
        "eval_episodes": args.eval_episodes,
        "device": args.device,
        "out": args.out,
    }
    settings.update({key: value for key, value in flags.items() if value is not None})
    if args.episodes is not None or args.steps is not None:
        settings["episodes"], settings["steps"] = args.episodes, args.steps
    settings["hyperparameters"].update(parse_assignments(args.set, "--set"))
    settings["env_kwargs"].update(parse_assignments(args.env_set, "--env-set"))
    for key, flag in (("env", "--env"), ("agents", "--agents"), ("out", "--out")):
        if not settings.get(key):
            raise UsageError(f"compare needs {flag} (or a --config file that sets '{key}')")
    settings["agents"] = _agent_list(settings["agents"])
    settings["seeds"] = int(settings["seeds"] if settings["seeds"] is not None else 5)
    settings["first_seed"] = int(settings["first_seed"] or 0)
    settings["eval_episodes"] = int(settings["eval_episodes"] or 100)
    if settings["seeds"] < 1:
        raise UsageError(f"--seeds must be at least 1, got {settings['seeds']}")
    if settings["eval_episodes"] < 1:
        raise UsageError(f"--eval-episodes must be at least 1, got {settings['eval_episodes']}")
    if settings["device"] not in (None, "auto", "cpu", "cuda"):
        raise UsageError(f"device '{settings['device']}' is not one of auto, cpu, cuda")
    return settings


def plan_trials(settings: dict[str, Any], out_dir: Path) -> tuple[list[Trial], dict[str, Any]]:
    """Validate every agent against the env (in this process, so misuse exits 2 before any
    work starts) and list the trials. Returns the trials and facts about the env."""
    check_device(settings["device"])
    common, per_agent = split_agent_overrides(settings["hyperparameters"], settings["agents"])
    env = make_env(settings["env"], settings["env_kwargs"])
    try:
        answers = answers_per_episode(env)
        spec = env.spec
        # the env's own threshold first (GridWorld: its map's optimal return), then the spec's
        own = getattr(env.unwrapped, "reward_threshold", None)
        if own is None:
            own = getattr(spec, "reward_threshold", None)
        threshold = 0.99 * answers if answers else own
        classes = {name: agent_class(name) for name in settings["agents"]}
        for key, value in common.items():
            # A shared --set applies to the agents that take it; a name none of them takes is
            # misuse (validation raises with a did-you-mean for the first agent).
            if not any(key in cls.defaults for cls in classes.values()):
                next(iter(classes.values())).validate_hyperparameters({key: value})
        trials = []
        for name in settings["agents"]:
            cls = classes[name]
            budget = resolve_budget(cls, settings["episodes"], settings["steps"])
            shared = {key: value for key, value in common.items() if key in cls.defaults}
            hp = {**shared, **per_agent[name]}
            build_agent(name, env, seed=0, hyperparameters=hp, device=settings["device"])
            target = f"{cls.__module__}:{cls.__qualname__}" if ":" not in name else None
            for seed in range(settings["first_seed"], settings["first_seed"] + settings["seeds"]):
                trials.append(
                    Trial(
                        agent=name,
                        agent_target=target,
                        seed=seed,
                        env_id=settings["env"],
                        env_kwargs=settings["env_kwargs"],
                        hyperparameters=hp,
                        device=settings["device"],
                        budget=budget,
                        eval_episodes=settings["eval_episodes"],
                        eval_seed=EVAL_SEED_BASE + seed * settings["eval_episodes"],
                        log_dir=str(out_dir / "tb" / safe_name(f"{name}-seed{seed}")),
                    )
                )
    finally:
        env.close()
    return trials, {"answers_per_episode": answers, "threshold": threshold}


# --------------------------------------------------------------------------------------------
# Running the trials
# --------------------------------------------------------------------------------------------


class _Display:
    """One progress bar per agent, summed over its seeds."""

    def __init__(self, trials: list[Trial]):
        self.progress = make_progress()
        self.done: dict[tuple[str, int], int] = {}
        self.tasks: dict[str, Any] = {}
        totals: dict[str, int] = {}
        for trial in trials:
            unit = budget_unit(trial.budget)
            totals[trial.agent] = totals.get(trial.agent, 0) + trial.budget[unit]
            self.done[(trial.agent, trial.seed)] = 0
        for name, total in totals.items():
            unit = budget_unit(next(t.budget for t in trials if t.agent == name))
            self.tasks[name] = self.progress.add_task(f"{name} ({unit})", total=total, status="")
        self.budget = {trial.agent: trial.budget for trial in trials}
        self.results: dict[str, list[dict[str, Any]]] = {}

    def update(self, agent: str, seed: int, done: int) -> None:
        if (agent, seed) not in self.done:
            return
        unit = budget_unit(self.budget[agent])
        self.done[(agent, seed)] = min(done, self.budget[agent][unit])
        completed = sum(v for (name, _), v in self.done.items() if name == agent)
        self.progress.update(self.tasks[agent], completed=completed)

    def finished(self, result: dict[str, Any]) -> None:
        """Show ``k/n seeds done`` and any failed seeds beside the agent's bar."""
        agent = result["agent"]
        self.results.setdefault(agent, []).append(result)
        failed = [str(r["seed"]) for r in self.results[agent] if r.get("error")]
        seeds = sum(1 for name, _ in self.done if name == agent)
        status = f"{len(self.results[agent])}/{seeds} seeds"
        if failed:
            status += f" [red](failed: seed {', '.join(failed)})[/red]"
        self.progress.update(self.tasks[agent], status=status)


def _run_inline(trials, display, on_result) -> bool:
    for trial in trials:
        try:
            on_result(run_trial(trial, report=display.update))
        except KeyboardInterrupt:
            return True
    return False


def _run_pool(trials, display, on_result, workers: int) -> bool:
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue()
    executor = cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(progress_queue,),
    )
    futures = {executor.submit(run_trial, trial): trial for trial in trials}
    pending = set(futures)
    interrupted = False
    try:
        while pending:
            finished, pending = cf.wait(pending, timeout=0.1, return_when=cf.FIRST_COMPLETED)
            _drain(progress_queue, display)
            for future in finished:
                trial = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker process
                    result = {
                        "agent": trial.agent,
                        "seed": trial.seed,
                        "error": f"{type(exc).__name__}: {exc}",
                        "records": [],
                        "wall_time": 0.0,
                        "env_steps": 0,
                    }
                on_result(result)
        _drain(progress_queue, display)
    except KeyboardInterrupt:
        interrupted = True
        for future in pending:
            future.cancel()
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()
    finally:
        executor.shutdown(wait=not interrupted, cancel_futures=True)
        progress_queue.close()
    return interrupted


def _drain(progress_queue, display) -> None:
    while True:
        try:
            display.update(*progress_queue.get_nowait())
        except queue_module.Empty:
            return
        except (OSError, ValueError, EOFError):
            return


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def threshold_window(count: int) -> int:
    """Episodes in the moving average used for curves and the threshold: 2% of the
    episodes, at least 5 and at most 50 (10 for 500 episodes)."""
    return max(1, min(count, max(5, min(50, count // 50))))


def episodes_to_threshold(records: list[dict[str, Any]], threshold: float | None):
    """First episode (1-based) whose trailing moving-average return reaches ``threshold``,
    with the env steps at that point; ``(None, None)`` if never."""
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
    wall_time: float,
) -> dict[str, Any]:
    """The ``summary.json`` object (CONTRACT: env, agents.NAME.eval.{return_mean, ...})."""
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
        "wall_time_s": wall_time,
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
        wall = sum(r["wall_time"] for r in ok)
        steps = sum(r["env_steps"] for r in ok)
        entry["timing"] = {
            "wall_time_s_mean": wall / len(ok) if ok else None,
            "env_steps_mean": steps / len(ok) if ok else None,
            "env_steps_per_s": steps / wall if wall > 0 else None,
        }
        summary["agents"][name] = entry
    return summary


def curve_data(settings, results, step_axis: bool, use_accuracy: bool):
    """Per agent ``(x, rows)`` for :func:`plot_curves`: smoothed returns per seed."""
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


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def write_results_csv(path: Path, settings, results) -> None:
    """``results.csv``: one row per training episode of every finished trial, sorted by agent
    order, seed, episode."""
    order = {name: i for i, name in enumerate(settings["agents"])}
    rows = []
    for (agent, seed), result in sorted(
        results.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])
    ):
        if result.get("error"):
            continue  # a failed trial's partial episodes stay in trials/, not in the results
        for record in result.get("records", []):
            row = {"agent": agent, "seed": seed}
            row.update({k: v for k, v in record.items() if k in RESULT_COLUMNS})
            rows.append(row)
    # only the seeded columns: timings and other extras would make reruns differ
    columns = [
        c for c in RESULT_COLUMNS if any(c in row for row in rows) or c in RESULT_COLUMNS[:5]
    ]
    atomic_write_text(path, records_to_csv(rows, columns))


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def run_compare(args: argparse.Namespace, out=None) -> int:
    """Carry out ``lecture-rl compare``; returns 0, 1 if some trial failed, 130 on Ctrl-C."""
    from rich.console import Console

    console = Console(file=out) if out is not None else Console()
    settings = resolve_settings(args)
    out_dir = Path(settings["out"])
    trials, facts = plan_trials(settings, out_dir)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    workers = min(workers, len(trials))

    out_dir.mkdir(parents=True, exist_ok=True)
    config = {"command": "compare", **{key: settings[key] for key in CONFIG_KEYS}}
    config["out"] = str(out_dir)
    atomic_write_text(out_dir / "config.json", json.dumps(config, indent=2))

    results: dict[tuple[str, int], dict[str, Any]] = {}

    def on_result(result: dict[str, Any]) -> None:
        results[(result["agent"], result["seed"])] = result
        display.finished(result)
        name = safe_name(f"{result['agent']}-seed{result['seed']}")
        atomic_write_text(out_dir / "trials" / f"{name}.json", json.dumps(_finite(result)))
        write_results_csv(out_dir / "results.csv", settings, results)
        if result.get("error"):
            display.progress.console.print(
                f"[red]trial failed[/red]: agent {result['agent']}, seed {result['seed']}: "
                f"{result['error']}"
            )

    display = _Display(trials)
    start = time.perf_counter()
    with display.progress:
        if workers == 1:
            interrupted = _run_inline(trials, display, on_result)
        else:
            interrupted = _run_pool(trials, display, on_result, workers)
    wall = time.perf_counter() - start

    write_results_csv(out_dir / "results.csv", settings, results)
    summary = summarize(settings, facts, results, interrupted, wall)
    atomic_write_text(out_dir / "summary.json", json.dumps(_finite(summary), indent=2))
    step_axis = any("steps" in trial.budget for trial in trials)
    use_accuracy = bool(facts["answers_per_episode"])
    plot_curves(
        curve_data(settings, results, step_axis, use_accuracy),
        out_dir / "curves.png",
        x_label="env steps" if step_axis else "episode",
        y_label=(
            "training accuracy (moving average)"
            if use_accuracy
            else "training return (moving average)"
        ),
        title=f"{settings['env']} — mean and 95% band over seeds",
        threshold=0.99 if use_accuracy else facts["threshold"],
    )
    _print_table(console, summary)
    console.print(
        f"wrote {out_dir}/results.csv, summary.json, curves.png, config.json "
        f"({len(results)} of {len(trials)} trials finished)"
    )
    if interrupted:
        console.print("interrupted: the summary covers the trials that finished")
        return 130
    return 1 if summary["failed"] else 0


def _print_table(console, summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"compare on {summary['env']}")
    table.add_column("agent")
    table.add_column("greedy return (mean ± 95% CI)", justify="right")
    table.add_column("train return, last 10%", justify="right")
    table.add_column("episodes to threshold", justify="right")
    has_accuracy = any("accuracy" in entry for entry in summary["agents"].values())
    if has_accuracy:
        table.add_column("accuracy", justify="right")
    table.add_column("seeds", justify="right")
    for name, entry in summary["agents"].items():
        evaluation = entry["eval"]
        mean, (low, high) = evaluation["return_mean"], evaluation["ci95"]
        half = (high - low) / 2 if evaluation["n"] > 1 else 0.0
        reach = entry["episodes_to_threshold"]
        reach_text = "no threshold"
        if reach["threshold"] is not None:
            median = reach["median"]
            reach_text = (
                f"{median:.0f} ({reach['reached']}/{reach['of']})"
                if median
                else (f"not reached (0/{reach['of']})")
            )
        cells = [
            name,
            f"{mean:.3f} ± {half:.3f}" if evaluation["n"] else "—",
            f"{entry['train_return_last_10pct']['mean']:.3f}" if evaluation["n"] else "—",
            reach_text,
        ]
        if has_accuracy:
            cells.append(f"{entry['accuracy']:.4f}" if "accuracy" in entry else "—")
        failed = f", {len(entry['failed'])} failed" if entry["failed"] else ""
        cells.append(f"{evaluation['n']}{failed}")
        table.add_row(*cells)
    console.print(table)
    for failure in summary["failed"]:
        console.print(
            f"[red]failed[/red]: agent {failure['agent']}, seed {failure['seed']}: "
            f"{failure['error']}"
        )
