"""`lecture-rl tune`: check, open or resume the study, search, write the results.

Description:
    Everything is checked before any work (settings, space, `--out`, executor). The study in
    `OUT/study.db` is then created or resumed: trials an earlier process left running are
    queued again, and only the trials still missing from `--trials` run. Ctrl-C (or SIGTERM)
    stops the workers, queues the unfinished trials again and writes the report from the
    trials that ended (exit 130); running the same command again finishes the study.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

from lecture_rl.runners import out_paths, presets
from lecture_rl.runners.agent_factory import agent_class
from lecture_rl.runners.compare.executor import make_executor
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.processes import ctrl_c, warm_up_pool
from lecture_rl.runners.result_files import write_file
from lecture_rl.runners.settings import UsageError
from lecture_rl.runners.threads import check_threads
from lecture_rl.runners.tune import study as studies
from lecture_rl.runners.tune.display import TuneDisplay
from lecture_rl.runners.tune.preset import plural, score_text
from lecture_rl.runners.tune.report import OUTPUT_FILES, best_trial, write_progress, write_report
from lecture_rl.runners.tune.search import Search
from lecture_rl.runners.tune.settings import (
    check_study_folder,
    plan_study,
    preset_name,
    rerun_command,
    space_from_flags,
)
from lecture_rl.runners.tune.spaces import describe

FOLDERS = ("trials", "stop")


def show_space(args: argparse.Namespace, console) -> int:
    """`tune --show-space`: the space this command would search, and exit."""
    cls = agent_class(args.agent)
    fixed, space = space_from_flags(cls, args)
    base = None
    if args.env:
        base = presets.preset_for(args.agent, args.env, presets.check_choice(args.preset))
    console.print(f"{args.agent}: the search space (--space replaces, --set fixes)")
    width = max(len(name) for name in (*space, *fixed))
    start = {**getattr(cls, "defaults", {}), **(base.settings if base else {})}
    for name, text in describe(space).items():
        where = "preset" if base and name in base.settings else "default"
        value = json.dumps(start[name]) if name in start else "none"
        console.print(f"  {name:<{width}}  {text}  ({where} {value})", highlight=False)
    for name, value in fixed.items():
        console.print(f"  {name:<{width}}  fixed at {json.dumps(value)}", highlight=False)
    if base is not None:
        console.print(
            f"the trials start from the preset {base.file}, entry {base.entry}", soft_wrap=True
        )
    return 0


def run_tune(args: argparse.Namespace, out=None) -> int:
    """Carry out `lecture-rl tune`; 0 when a trial completed, 1 when none did, 130 on Ctrl-C."""
    from rich.console import Console

    console = Console(file=out) if out is not None else Console()
    if args.show_space:
        return show_space(args, console)
    studies.quiet_optuna()
    plan = plan_study(args)
    out_dir = plan.out
    out_paths.check_out_dir(
        out_dir,
        command="tune",
        folders=FOLDERS,
        files=(*OUTPUT_FILES, studies.DATABASE, preset_name(plan.agent)),
    )
    check_threads(plan.threads)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    executor = make_executor(args.executor, args.address, workers, args.trial_cpus, args.trial_gpus)
    if workers > 1 and not args.executor and not args.address:
        warm_up_pool()
    config = plan.config()
    check_study_folder(out_dir, config, args.fresh)
    out_paths.make_out_dir(out_dir, "trials")
    lock = studies.lock_out_dir(out_dir)
    try:
        if args.fresh:
            for name in FOLDERS:
                shutil.rmtree(out_dir / name, ignore_errors=True)
            for name in (*OUTPUT_FILES, studies.DATABASE, preset_name(plan.agent)):
                (out_dir / name).unlink(missing_ok=True)
            out_paths.make_out_dir(out_dir, "trials")
        shutil.rmtree(out_dir / "stop", ignore_errors=True)
        write_file(out_dir / "config.json", json.dumps(config, indent=2))
        return _search(args, plan, executor, console)
    finally:
        lock.close()


def _search(args, plan, executor, console) -> int:
    study = studies.open_study(
        plan.out,
        seed=plan.seed,
        startup_trials=plan.startup_trials,
        pruner=plan.pruner,
        warmup=plan.total // 3,
    )
    stale = studies.recover(study)
    counts = studies.counts(study)
    todo = max(0, plan.trials - counts["done"])
    unit = plan.unit
    console.print(
        f"tune {plan.agent} on {plan.env}: {plan.trials} trials of {plural(plan.seeds, 'seed')}, "
        f"{plan.total:,} {unit} each, searching {', '.join(plan.space)} (study in "
        f"{plan.out / studies.DATABASE})",
        soft_wrap=True,
        highlight=False,
    )
    if plan.base is not None:
        console.print(
            f"the trials start from the preset {plan.base.file} (entry {plan.base.entry}): "
            f"{plan.base.describe()}; --preset none starts from {plan.agent}'s defaults",
            soft_wrap=True,
            highlight=False,
        )
    if counts["done"] or stale:
        rerun = (
            f"; trial {', '.join(map(str, stale))} had not ended and runs again" if stale else ""
        )
        console.print(
            f"{counts['done']} of {plan.trials} trials already done{rerun}; running {todo} "
            "(--fresh starts over)",
            soft_wrap=True,
            highlight=False,
        )
    command = rerun_command(plan)
    interrupted = False
    if todo:
        display = TuneDisplay(plan.trials, unit, plan.total, plan.seeds, None)
        env = make_env(plan.env, plan.env_kwargs)

        def on_told(_number: int) -> None:
            write_progress(study, plan)
            display.counted(search.done, _status(study))

        search = Search(study, plan, env, display, on_told)
        display.counted(search.done, _status(study))
        try:
            with display.progress:
                interrupted = executor.run(search.trials(), search.report, search.on_result)
        except KeyboardInterrupt:  # a Ctrl-C between trials, or a second one while stopping
            interrupted = True
        finally:
            env.close()
        if interrupted or search.running:
            with ctrl_c(defer=False):
                search.interrupt("stopped with Ctrl-C" if interrupted else "the run ended")
                studies.recover(study)  # one asked when the Ctrl-C came
    with ctrl_c(defer=False):  # a further Ctrl-C must not leave half the files behind
        write_progress(study, plan)
        write_report(study, plan, command)
    return _finish(study, plan, console, interrupted)


def _status(study) -> str:
    counts = studies.counts(study)
    best = best_trial(study)
    parts = [f"best {score_text(best.value)} (trial {best.number})"] if best is not None else []
    parts += [f"{counts[key]} {key}" for key in ("pruned", "failed") if counts[key]]
    return " · ".join(parts)


def _finish(study, plan, console, interrupted: bool) -> int:
    counts = studies.counts(study)
    best = best_trial(study)
    out = plan.out
    console.print(
        f"{counts['done']} of {plan.trials} trials done: {counts['complete']} complete, "
        f"{counts['pruned']} pruned, {counts['failed']} failed",
        highlight=False,
    )
    if best is not None:
        preset = out / preset_name(plan.agent)
        console.print(
            f"best: trial {best.number}, mean greedy return {score_text(best.value)}; preset "
            f"{preset} (lecture-rl train --env {plan.env} --agent {plan.agent} --preset "
            f"{preset})",
            soft_wrap=True,
            highlight=False,
        )
    console.print(
        f"wrote {out}/report.md, trials.csv, summary.json, history.png"
        + (", importance.png" if (out / "importance.png").is_file() else "")
        + (", best_curve.png" if best is not None else ""),
        soft_wrap=True,
        highlight=False,
    )
    if interrupted:
        console.print(
            "interrupted: the study is kept; run the same command again to finish the "
            f"remaining {max(0, plan.trials - counts['done'])} trials",
            soft_wrap=True,
            highlight=False,
        )
        return 130
    return 0 if best is not None else 1
