"""The Optuna study of a `tune` run: kept in SQLite inside `--out`, resumed where it stopped.

Description:
    `open_study` creates or loads the study `tune` in `OUT/study.db` with a TPE sampler and
    (unless `--pruner none`) a median pruner. A study outlives the process: every asked,
    reported and told trial is in the database as soon as it happens, so after a crash, a
    `kill -9` or Ctrl-C the same command continues it.

    What a rerun finds and does:

    - trials that were *running* when the last process died are marked failed with the user
      attribute `interrupted` and queued again with the same parameters (`retry_of` names the
      old number), so each point of the search is counted once;
    - a trial counts towards `--trials` when it completed, was pruned, or failed for a reason
      of its own (an error, settings the agent refuses); interrupted ones do not.

    The sampler is seeded with `--seed` plus the number of trials already in the study, so a
    resumed search goes on drawing new points instead of repeating its first ones.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from lecture_rl.runners.settings import UsageError

STUDY_NAME = "tune"
DATABASE = "study.db"
LOCK_FILE = ".tune.lock"
#: user attributes a trial carries
INTERRUPTED = "interrupted"  # failed because the process running it stopped: not counted
RETRY_OF = "retry_of"  # this trial reruns an interrupted one (its number)
FAILURE = "error"  # why a trial failed (an error, refused settings)


def quiet_optuna() -> None:
    """Optuna's own log lines (a line per trial) and experimental-feature warnings off: the
    progress display says what happens."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def storage_url(out_dir: Path) -> str:
    """The SQLAlchemy URL of the study database in `out_dir`."""
    return f"sqlite:///{(out_dir / DATABASE).resolve()}"


def lock_out_dir(out_dir: Path):
    """Hold `OUT/.tune.lock` while this process runs (released by the system however the
    process ends, `kill -9` included); another `tune` on the same `--out` is refused."""
    path = out_dir / LOCK_FILE
    handle = open(path, "a+")  # noqa: SIM115 - kept open for the whole run
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks (Windows): run unguarded
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise UsageError(
            f"another lecture-rl tune (pid {owner}) is running in --out {out_dir}; wait for it "
            "to end, or choose another --out"
        ) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def existing_trials(out_dir: Path) -> int:
    """How many trials the study in `out_dir` holds (0 when there is none yet)."""
    if not (out_dir / DATABASE).is_file():
        return 0
    import optuna

    try:
        study = optuna.load_study(study_name=STUDY_NAME, storage=storage_url(out_dir))
    except KeyError:  # a database without our study
        return 0
    return len(study.get_trials(deepcopy=False))


def open_study(out_dir: Path, *, seed: int, startup_trials: int, pruner: str, warmup: int):
    """The study in `out_dir` (created if missing): TPE sampler, median pruner or none.

    Arguments:
        seed: the sampler's seed (the trials already in the study are added to it).
        startup_trials: trials sampled at random before TPE models the results, and trials
            that must complete before the pruner prunes.
        pruner: `"median"` or `"none"`.
        warmup: no pruning before this point of the budget (env steps or episodes).
    """
    import optuna

    quiet_optuna()
    sampler = optuna.samplers.TPESampler(
        seed=seed + existing_trials(out_dir),
        n_startup_trials=startup_trials,
        multivariate=True,
        constant_liar=True,  # parallel trials: pending ones count as bad, so points spread
    )
    if pruner == "median":
        chosen: optuna.pruners.BasePruner = optuna.pruners.MedianPruner(
            n_startup_trials=startup_trials, n_warmup_steps=warmup
        )
    else:
        chosen = optuna.pruners.NopPruner()
    storage = optuna.storages.RDBStorage(
        storage_url(out_dir), engine_kwargs={"connect_args": {"timeout": 60}}
    )
    return optuna.create_study(
        study_name=STUDY_NAME,
        storage=storage,
        direction="maximize",
        sampler=sampler,
        pruner=chosen,
        load_if_exists=True,
    )


def requeue(study, trial_number: int, reason: str) -> None:
    """Mark running trial `trial_number` failed as interrupted (`reason`) and queue its
    parameters again, so the next ask reruns the same point under a new number."""
    import optuna
    from optuna.trial import TrialState

    frozen = study.get_trials(deepcopy=False)[trial_number]
    if frozen.state != TrialState.RUNNING:
        return
    trial = optuna.trial.Trial(study, frozen._trial_id)
    trial.set_user_attr(INTERRUPTED, reason)
    study.tell(trial, state=TrialState.FAIL)
    study.enqueue_trial(dict(frozen.params), user_attrs={RETRY_OF: trial_number})


def recover(study) -> list[int]:
    """Requeue every trial left running by a process that ended (this process holds the
    lock, so none is running now); returns their numbers."""
    from optuna.trial import TrialState

    stale = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    for number in stale:
        requeue(study, number, "the process running it stopped")
    return stale


def counted(trial) -> bool:
    """Whether a trial counts towards `--trials` (finished, and not merely interrupted)."""
    from optuna.trial import TrialState

    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and INTERRUPTED not in trial.user_attrs


def counts(study) -> dict[str, Any]:
    """`{"done", "complete", "pruned", "failed", "interrupted", "waiting"}` of the study."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    return {
        "done": sum(1 for t in trials if counted(t)),
        "complete": sum(1 for t in trials if t.state == TrialState.COMPLETE),
        "pruned": sum(1 for t in trials if t.state == TrialState.PRUNED),
        "failed": sum(1 for t in failed if INTERRUPTED not in t.user_attrs),
        "interrupted": sum(1 for t in failed if INTERRUPTED in t.user_attrs),
        "waiting": sum(1 for t in trials if t.state == TrialState.WAITING),
    }
