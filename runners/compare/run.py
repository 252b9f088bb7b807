"""`lecture-rl compare`: plan, resume, run, summarize.

Description:
    The driver validates everything (settings, agents, `--out`, executor) before any work,
    then runs only the trials that `--out` does not already hold finished (resume is the
    default; `--fresh` starts over). Every finished trial is written to `trials/` as it
    arrives; `results.csv`, `summary.json`, `timing.json` and `curves.png` are written
    from all finished trials when the run ends or is interrupted, so an interrupted and resumed
    run ends with the same `results.csv` and `summary.json` as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from rich.markup import escape

from lecture_rl.runners import out_paths
from lecture_rl.runners.compare.executor import InlineExecutor, make_executor
from lecture_rl.runners.compare.report import Display, print_table, write_results_csv
from lecture_rl.runners.compare.resume import (
    check_results_csv,
    first_difference,
    load_finished,
    reject,
    remove_stale,
    text_sha256,
)
from lecture_rl.runners.compare.settings import (
    CONFIG_KEYS,
    plan_trials,
    resolve_settings,
)
from lecture_rl.runners.compare.summary import curve_data, summarize, timing
from lecture_rl.runners.compare.trials import result_checksum
from lecture_rl.runners.io_faults import from_record, next_step
from lecture_rl.runners.plots import plot_curves
from lecture_rl.runners.processes import ctrl_c, warm_up_pool
from lecture_rl.runners.result_files import finite, write_file
from lecture_rl.runners.settings import UsageError
from lecture_rl.runners.threads import check_threads

OUTPUT_FILES = ("results.csv", "summary.json", "timing.json", "curves.png", "config.json")


def check_out_dir(out_dir: Path) -> None:
    """`--out` must be a folder we can create and write: one line, exit 2, otherwise."""
    out_paths.check_out_dir(
        out_dir, command="compare", folders=("trials", "tb"), files=OUTPUT_FILES
    )


def make_out_dir(out_dir: Path) -> None:
    """Create `--out` and its `trials/` (one line, exit 2, if the system refuses)."""
    out_paths.make_out_dir(out_dir, "trials")


def run_compare(args: argparse.Namespace, out=None) -> int:
    """Carry out `lecture-rl compare`; returns 0, 1 if some trial failed, 130 on Ctrl-C."""
    from rich.console import Console

    # a file given is written to, in a Jupyter kernel too (where rich would display instead)
    console = Console(file=out, force_jupyter=False) if out is not None else Console()
    settings = resolve_settings(args)
    out_dir = Path(settings["out"])
    check_out_dir(out_dir)
    threads = getattr(args, "threads", None)
    check_threads(threads)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if workers > 1 and not getattr(args, "executor", None) and not getattr(args, "address", None):
        warm_up_pool()  # the workers' imports overlap the planning below
    trials, facts = plan_trials(settings, out_dir, threads)
    workers = min(workers, len(trials))

    config = {"command": "compare", **{key: settings[key] for key in CONFIG_KEYS}}
    config["agents"] = settings["agent_specs"]
    if settings["grid"]:
        config["grid"] = settings["grid"]
    if settings.get("probe"):
        config["probe"] = settings["probe"]
    if not config.get("preset"):
        config.pop("preset", None)
    if settings["presets"]:  # what each agent's preset set, so --config repeats the run
        config["presets"] = settings["presets"]
    config["out"] = str(out_dir)
    fresh = bool(getattr(args, "fresh", False))
    old_config_path = out_dir / "config.json"
    if old_config_path.is_file() and not fresh:
        try:
            old = json.loads(old_config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        difference = first_difference(old, config) if isinstance(old, dict) else "config.json"
        if difference:
            raise UsageError(
                f"--out {out_dir} holds a run with another configuration ({difference}); "
                "add --fresh to start over there, or choose another --out"
            )
    rejected: dict[Path, str] = {}
    finished = {} if fresh else load_finished(out_dir, trials, rejected)
    todo = [trial for trial in trials if trial.key not in finished]
    executor = make_executor(
        getattr(args, "executor", None),
        getattr(args, "address", None),
        min(workers, max(1, len(todo))),
        getattr(args, "trial_cpus", None),
        getattr(args, "trial_gpus", None),
    )

    for label, setup in settings["setups"].items():  # which presets the agents train with
        setup.announce(label)
    if fresh:
        for name in ("trials", "tb"):
            shutil.rmtree(out_dir / name, ignore_errors=True)
        for name in OUTPUT_FILES:
            (out_dir / name).unlink(missing_ok=True)
    make_out_dir(out_dir)
    for line in [*reject(rejected), check_results_csv(out_dir)]:
        if line:  # files compare will not trust: named, moved aside, never mixed in
            console.print(escape(line), soft_wrap=True)
    removed = remove_stale(out_dir, trials)
    write_file(out_dir / "config.json", json.dumps(config, indent=2))
    if removed:
        console.print(f"removed {len(removed)} trial files not part of this run", soft_wrap=True)
    if finished:
        console.print(
            f"{len(finished)} of {len(trials)} trials already done, running {len(todo)} "
            f"(in {out_dir}; --fresh starts over)",
            soft_wrap=True,
        )

    results: dict[tuple[str, int], dict[str, Any]] = dict(finished)
    display = Display(trials)
    for key, result in sorted(finished.items()):
        trial = next(t for t in trials if t.key == key)
        display.update(*key, int(next(iter(trial.budget.values()))))
        display.finished(result)

    def on_result(result: dict[str, Any]) -> None:
        if result.get("io_error"):  # a full disk in a worker: the same for every trial
            raise from_record(result["io_error"])
        trial = next(t for t in trials if t.key == (result["agent"], result["seed"]))
        # results.csv is written once at the end: rewriting it per trial costs time quadratic in
        # the trials, and trials/ already keeps every finished one for a rerun to collect. A
        # Ctrl-C waits until the trial is both kept and counted, so the summary covers exactly
        # the files in trials/.
        kept = finite(result)
        kept["checksum"] = result_checksum(kept)  # a rerun trusts only unchanged numbers
        with ctrl_c(defer=True):
            write_file(out_dir / "trials" / trial.file_name, json.dumps(kept))
            results[trial.key] = result
        display.finished(result)
        if result.get("error"):
            display.progress.console.print(
                f"[red]trial failed[/red]: agent {escape(result['agent'])}, seed {result['seed']}: "
                f"{result['error']}"
            )

    if not isinstance(executor, InlineExecutor):
        _prepare_outputs_in_background()  # the driver waits on workers: import what it writes with

    def notice(line: str) -> None:
        display.progress.console.print(f"[yellow]{escape(line)}[/yellow]", soft_wrap=True)

    def kept() -> str:  # what an I/O fault leaves, and how to go on
        done = sum(1 for result in results.values() if not result.get("error"))
        if not done:
            return "no trial had finished yet; then run the same command again"
        kept = (
            f"the {done} finished trials of {len(trials)} are"
            if done > 1
            else (f"the finished trial (1 of {len(trials)}) is")
        )
        return f"{kept} kept in {out_dir}/trials; then run the same command again (it resumes)"

    start = time.perf_counter()
    interrupted = False
    with next_step(kept):
        try:
            with display.progress:
                interrupted = executor.run(todo, display.update, on_result, notice=notice)
        except KeyboardInterrupt:  # a second Ctrl-C while stopping: still write the summary
            interrupted = True
        wall = time.perf_counter() - start
        with ctrl_c(defer=False):  # a further Ctrl-C must not leave half the files behind
            _write_outputs(out_dir, settings, facts, trials, results, interrupted, wall)
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    print_table(console, summary)
    failed = sum(1 for result in results.values() if result.get("error"))
    console.print(
        f"wrote {out_dir}/results.csv, summary.json, curves.png, config.json "
        f"({len(results) - failed} of {len(trials)} trials finished"
        + (f", {failed} failed" if failed else "")
        + ")"
    )
    if interrupted:
        console.print(
            "interrupted: the summary covers the trials that finished; "
            "run the same command again to run the rest"
        )
        return 130
    return 1 if summary["failed"] else 0


def _write_outputs(out_dir, settings, facts, trials, results, interrupted, wall) -> None:
    """results.csv, summary.json, timing.json, curves.png from the finished trials."""
    csv_text = write_results_csv(out_dir / "results.csv", settings, results)
    summary = summarize(settings, facts, results, interrupted)
    summary["files"] = {"results.csv": text_sha256(csv_text)}  # a rerun spots a changed copy
    write_file(out_dir / "summary.json", json.dumps(finite(summary), indent=2))
    write_file(
        out_dir / "timing.json", json.dumps(finite(timing(settings, results, wall)), indent=2)
    )
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


def _prepare_outputs_in_background() -> None:
    """Import what the summary and the plot need (scipy's t-distribution, matplotlib's Agg
    canvas) while the workers train, instead of after the last trial."""
    import threading

    def imports() -> None:
        from matplotlib import figure  # noqa: F401
        from matplotlib.backends import backend_agg  # noqa: F401
        from scipy import special  # noqa: F401

    threading.Thread(target=imports, name="compare-prepare-outputs", daemon=True).start()
