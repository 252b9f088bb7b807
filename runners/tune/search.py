"""The search loop in the driver: asks Optuna for trials, hands their seeds to compare's
executor, reports the evaluation curve to the pruner and tells Optuna each result.

Description:
    `Search.trials()` is the iterable an executor pulls from whenever a worker is free: the
    next seed of a running trial, else a new trial from `study.ask()` (until `--trials` trials
    count, running ones included). Each seed is one compare `Trial` whose evaluation curve
    comes back while it trains (`report`); when every seed of a trial has scored point k, the
    mean goes to `trial.report(mean, k)` and the median pruner decides. A pruned trial's seeds
    stop at their next episode end (its stop file) and those not started are dropped. When a
    trial's seeds are all back, Optuna is told: the mean greedy return of the seeds, or pruned,
    or failed with the first error. A trial rerun after an interruption reuses the seeds the
    interrupted one finished (same settings, same seed: the same result).

    Every seed's result is written to `trials/` as it arrives, atomically, before Optuna is
    told, so nothing finished is lost however the process ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lecture_rl.runners.agent_factory import build_agent
from lecture_rl.runners.compare.trials import Trial
from lecture_rl.runners.processes import ctrl_c
from lecture_rl.runners.result_files import finite, write_file
from lecture_rl.runners.settings import UsageError
from lecture_rl.runners.tune import study as studies
from lecture_rl.runners.tune.display import TuneDisplay, settings_text
from lecture_rl.runners.tune.preset import plural, score_text
from lecture_rl.runners.tune.settings import Plan, seed_key
from lecture_rl.runners.tune.spaces import round_sample

#: user attributes of a trial (besides the study module's)
HYPERPARAMETERS = "hyperparameters"  # everything the trial ran with (fixed and sampled)
PER_SEED = "per_seed"  # each seed's mean greedy return
PRUNED_AT = "pruned_at"  # the point of the budget where the pruner stopped it
WALL = "wall_s"  # the seeds' training and evaluation time, summed


@dataclass
class Running:
    """One Optuna trial in flight."""

    trial: Any  # optuna.Trial
    hyperparameters: dict[str, Any]
    todo: list[int]
    retry_of: int | None = None
    handed: set[int] = field(default_factory=set)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    done: dict[int, int] = field(default_factory=dict)
    scores: dict[int, dict[int, float]] = field(default_factory=dict)  # point -> seed -> score
    pruned_at: int | None = None
    error: str | None = None

    @property
    def number(self) -> int:
        return self.trial.number

    @property
    def finished(self) -> bool:
        return not self.todo and all(seed in self.results for seed in self.handed)


class Search:
    """The driver's side of a study: pull trials with `trials()`, feed `report` and
    `on_result` from the executor, and `interrupt()` when it stops early."""

    def __init__(self, study, plan: Plan, env, display: TuneDisplay, on_told: Callable):
        self.study = study
        self.plan = plan
        self.env = env  # to check each sampled point with the agent before it runs
        self.display = display
        self.on_told = on_told
        self.distributions = {name: dim.distribution() for name, dim in plan.space.items()}
        self.running: dict[int, Running] = {}
        self.labels: dict[str, int] = {}
        self.done = studies.counts(study)["done"]

    # ----- what the executor pulls ------------------------------------------------------------

    def trials(self) -> Iterator[Trial]:
        """The next seed to run, whenever a worker is free, until `--trials` trials count."""
        while True:
            item = self._next_seed()
            if item is None:
                return
            yield item

    def _next_seed(self) -> Trial | None:
        while True:
            for run in list(self.running.values()):
                while run.todo:
                    seed = run.todo.pop(0)
                    trial = self.plan.trial(run.number, seed, run.hyperparameters)
                    run.handed.add(seed)
                    kept = self._kept_seed(run, trial)
                    if kept is not None:  # finished by the interrupted trial this one reruns
                        self._accept(run, kept, reused=True)
                        continue
                    return trial
            if self.done + len(self.running) >= self.plan.trials:
                return None
            self._ask()

    def _ask(self) -> None:
        """A new trial from the sampler (or the queue of interrupted ones); settings the agent
        refuses fail it at once, with the agent's message."""
        trial = self.study.ask(self.distributions)
        sampled = {name: round_sample(trial.params[name]) for name in self.plan.space}
        hyperparameters = self.plan.hyperparameters(sampled)
        trial.set_user_attr(HYPERPARAMETERS, hyperparameters)
        try:
            build_agent(
                self.plan.agent,
                self.env,
                seed=0,
                hyperparameters=hyperparameters,
                device=self.plan.device,
            )
        except Exception as exc:  # noqa: BLE001 - refused settings fail this trial only
            text = str(exc) if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
            trial.set_user_attr(studies.FAILURE, f"refused settings: {text}")
            self.study.tell(trial, state=_state("FAIL"))
            self.done += 1
            self.display.ended(trial.number, f"failed: {text}")
            self.on_told(trial.number)
            return
        retry_of = trial.user_attrs.get(studies.RETRY_OF)
        run = Running(trial, hyperparameters, list(range(self.plan.seeds)), retry_of=retry_of)
        self.running[trial.number] = run
        self.labels[self.plan.label(trial.number)] = trial.number
        self.plan.stop_file(trial.number).unlink(missing_ok=True)
        self.display.started(trial.number)

    def _kept_seed(self, run: Running, trial: Trial) -> dict[str, Any] | None:
        """The finished result of this seed that the interrupted trial left, if any."""
        if run.retry_of is None:
            return None
        path = self._file(run.retry_of, trial.seed)
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(result, dict)
            or result.get("tune_key") != seed_key(trial)
            or result.get("error")
            or not isinstance(result.get("eval"), dict)
        ):
            return None
        return {**result, "agent": trial.agent}

    # ----- what the executor reports --------------------------------------------------------

    def report(self, label: str, seed: int, done: int, point: dict | None = None) -> None:
        """Progress of one seed, and a point of its evaluation curve."""
        run = self.running.get(self.labels.get(label, -1))
        if run is None:
            return
        run.done[seed] = done
        self.display.advanced(run.number, sum(run.done.values()))
        if point is not None:
            self._point(run, seed, point)

    def _point(self, run: Running, seed: int, point: dict[str, Any]) -> None:
        at = int(point["at"])
        scores = run.scores.setdefault(at, {})
        scores[seed] = float(point["return"])
        if len(scores) < self.plan.seeds or run.pruned_at is not None or run.error:
            return
        mean = float(np.mean(list(scores.values())))
        self.display.point(run.number, at, mean)
        run.trial.report(mean, at)
        if run.trial.should_prune():
            run.pruned_at = at
            self._stop(run)

    def on_result(self, result: dict[str, Any]) -> None:
        """A seed finished (or stopped, or failed): keep it, and tell Optuna when it was the
        trial's last."""
        run = self.running.get(self.labels.get(result["agent"], -1))
        if run is None:
            return
        self._accept(run, result, reused=False)

    def _accept(self, run: Running, result: dict[str, Any], *, reused: bool) -> None:
        seed = int(result["seed"])
        trial = self.plan.trial(run.number, seed, run.hyperparameters)
        kept = {**result, "tune_key": seed_key(trial), "trial": run.number}
        with ctrl_c(defer=True):  # the file is whole or absent, and counted with it
            write_file(self._file(run.number, seed), json.dumps(finite(kept)))
            run.results[seed] = kept
        if reused:
            for point in kept.get("curve") or ():
                self._point(run, seed, point)
        if result.get("error") and not run.error:
            run.error = str(result["error"])
            self._stop(run)
        run.done[seed] = self.plan.total
        self.display.advanced(run.number, sum(run.done.values()))
        if run.finished:
            with ctrl_c(defer=True):
                self._tell(run)

    def _stop(self, run: Running) -> None:
        """Stop the trial's running seeds (its stop file) and drop those not started."""
        run.todo.clear()
        path = self.plan.stop_file(run.number)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, "stop\n")

    def _tell(self, run: Running) -> None:
        trial, number = run.trial, run.number
        seeds = sorted(run.results)
        wall = float(sum(run.results[s].get("wall_time", 0.0) for s in seeds))
        trial.set_user_attr(WALL, wall)
        if run.error:
            trial.set_user_attr(studies.FAILURE, run.error)
            self.study.tell(trial, state=_state("FAIL"))
            text = f"failed: {run.error}"
        elif run.pruned_at is not None:
            trial.set_user_attr(PRUNED_AT, run.pruned_at)
            self.study.tell(trial, state=_state("PRUNED"))
            last = float(np.mean(list(run.scores[run.pruned_at].values())))
            text = (
                f"pruned at {run.pruned_at:,} {self.plan.unit}: eval {score_text(last)} "
                f"({settings_text(self._sampled(run))})"
            )
        else:
            per_seed = [float(run.results[s]["eval"]["return_mean"]) for s in seeds]
            value = float(np.mean(per_seed))
            trial.set_user_attr(PER_SEED, per_seed)
            self.study.tell(trial, value)
            scores = ", ".join(score_text(v) for v in per_seed)
            text = (
                f"{score_text(value):>8}  ({plural(len(seeds), 'seed')}: {scores})  "
                f"{settings_text(self._sampled(run))}"
            )
        self.plan.stop_file(number).unlink(missing_ok=True)
        del self.running[number]
        self.done += 1
        self.display.ended(number, text)
        self.on_told(number)

    def _sampled(self, run: Running) -> dict[str, Any]:
        return {name: run.hyperparameters[name] for name in self.plan.space}

    def _file(self, number: int, seed: int) -> Path:
        return self.plan.out / "trials" / f"{self.plan.label(number)}-seed{seed}.json"

    # ----- stopping early ---------------------------------------------------------------------

    def interrupt(self, reason: str) -> list[int]:
        """The run stops before these trials ended: fail them as interrupted and queue them
        again (the seeds they finished are kept in `trials/` and reused)."""
        numbers = sorted(self.running)
        for number in numbers:
            studies.requeue(self.study, number, reason)
            self.plan.stop_file(number).unlink(missing_ok=True)
            self.display.ended(number, f"interrupted ({reason}); it runs again next time")
        self.running.clear()
        return numbers


def _state(name: str):
    from optuna.trial import TrialState

    return TrialState[name]
