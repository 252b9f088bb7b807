"""One trial of `compare`: train and evaluate one (agent, seed), in whatever process runs it.

Description:
    A `Trial` is plain data, so it crosses process and machine boundaries (local worker
    processes, Ray tasks). `trial_hash` identifies a trial by everything that determines
    its result (env and keywords, agent and hyperparameters, seed, budget, evaluation settings,
    device), so a rerun into the same `--out` can reuse finished trials. `run_trial`
    never raises for a failing trial: the error is part of the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lecture_rl import agents
from lecture_rl.agents.events import EpisodeEnd, TrainingCallback
from lecture_rl.runners.agent_factory import build_agent, train_agent
from lecture_rl.runners.compare.curve import EvaluationCurve
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.io_faults import as_record, is_storage_fault, storage_fault
from lecture_rl.runners.progress import budget_unit
from lecture_rl.runners.scoring import greedy_evaluation
from lecture_rl.runners.settings import safe_name
from lecture_rl.runners.threads import TorchThreads

#: bump when a change to the code makes old trial files mean something else
TRIAL_FORMAT = 1


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
    threads: int | None = None
    #: the agent to build; `agent` is then the variant's label (None: `agent` itself)
    algorithm: str | None = None
    #: an experiment's measurement: `{"target": "module:function", **keywords}`; the function
    #: is called as `f(agent, env, final, **keywords) -> dict` after every training episode
    #: (`final=False`: its numbers join the episode's record) and once after training
    #: (`final=True`: its numbers are the result's `probe`)
    probe: dict[str, Any] | None = None
    #: an evaluation curve (`curve.EvaluationCurve`): ``{"at": [points of the budget],
    #: "stop_file": PATH}``; each point is reported to the driver as it is measured, and
    #: training stops early once the stop file exists (the result then has no `eval`)
    curve: dict[str, Any] | None = None

    @property
    def agent_name(self) -> str:
        return self.algorithm or self.agent

    @property
    def key(self) -> tuple[str, int]:
        return (self.agent, self.seed)

    @property
    def file_name(self) -> str:
        """`trials/<file_name>`: where the finished trial is kept."""
        return safe_name(f"{self.agent}-seed{self.seed}") + ".json"


def trial_identity(trial: Trial) -> dict[str, Any]:
    """What determines a trial's result (not where it logs nor how many threads it uses)."""
    return {
        "format": TRIAL_FORMAT,
        "env": trial.env_id,
        "env_kwargs": trial.env_kwargs,
        "agent": trial.agent,
        "algorithm": trial.agent_name,
        "hyperparameters": trial.hyperparameters,
        "seed": trial.seed,
        "budget": trial.budget,
        "eval_episodes": trial.eval_episodes,
        "eval_seed": trial.eval_seed,
        "device": trial.device,
        **({"probe": trial.probe} if trial.probe else {}),
        **({"curve": {"at": trial.curve["at"]}} if trial.curve else {}),
    }


def trial_hash(trial: Trial) -> str:
    """A stable hash of `trial_identity` (canonical JSON, SHA-256, 16 hex digits)."""
    text = json.dumps(trial_identity(trial), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def result_checksum(result: dict[str, Any]) -> str:
    """SHA-256 of a trial's result as strict JSON (without its own `checksum` key): a trial
    file whose numbers were changed after `compare` wrote it no longer matches."""
    body = {key: value for key, value in result.items() if key != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def init_worker(lifeline: Any = None) -> None:
    """Worker set-up: Ctrl-C is the parent's business; one torch thread.

    `lifeline`: the read end of a pipe whose write end only the driver holds. When the driver
    dies (even by `kill -9`) the pipe reads end-of-file and the worker exits at once, instead
    of blocking forever on a result nobody reads (and keeping the fork server alive)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    if lifeline is not None:
        import threading

        def watch() -> None:
            try:
                lifeline.poll(None)  # returns when the driver's end closes: it has gone
            except (OSError, EOFError):
                pass
            os._exit(1)

        threading.Thread(target=watch, name="driver-lifeline", daemon=True).start()


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def failed_result(trial: Trial, error: str) -> dict[str, Any]:
    """The result of a trial whose process died before it could report."""
    return {
        "agent": trial.agent,
        "seed": trial.seed,
        "error": error,
        "records": [],
        "wall_time": 0.0,
        "env_steps": 0,
    }


def load_probe(spec: dict[str, Any] | None):
    """`{"target": "module:function", **keywords}` -> `f(agent, env, final)` (or None)."""
    if not spec:
        return None
    import functools
    import importlib

    module, _, name = str(spec["target"]).partition(":")
    function = getattr(importlib.import_module(module), name)
    keywords = {key: value for key, value in spec.items() if key != "target"}
    return functools.partial(function, **keywords)


def run_trial(trial: Trial, report=None) -> dict[str, Any]:
    """Train and evaluate one (agent, seed); errors are returned, never raised."""
    report = report or (lambda *item: None)  # (agent, seed, done[, curve point])
    start, cpu_start = time.perf_counter(), time.process_time()
    records: list[dict[str, Any]] = []
    result: dict[str, Any] = {"agent": trial.agent, "seed": trial.seed, "error": None}
    unit = budget_unit(trial.budget)
    last_report = [0.0]

    class TrialRecords(TrainingCallback):
        """The trial's per-episode records, and its progress to the driver every 0.2 s."""

        events = (EpisodeEnd,)

        def on_event(self, event: EpisodeEnd) -> None:
            record = dict(event.record)
            if probe is not None:  # an experiment measures more after each episode
                record.update(probe(agent, env, False))
            records.append({key: _plain(value) for key, value in record.items()})
            now = time.perf_counter()
            if now - last_report[0] > 0.2:
                last_report[0] = now
                done = record.get("env_steps", 0) if unit == "steps" else len(records)
                report(trial.agent, trial.seed, int(done))

    probe = None
    env = agent = None
    curve = None
    if trial.curve:
        curve = EvaluationCurve(
            trial.curve,
            unit,
            lambda: greedy_evaluation(
                agent, trial.env_id, trial.env_kwargs, trial.eval_episodes, trial.eval_seed
            )["return_mean"],
            lambda point: report(trial.agent, trial.seed, int(point["at"]), point),
        )

    try:
        if trial.log_dir:  # a trial runs from scratch: no TensorBoard events of an earlier try
            shutil.rmtree(trial.log_dir, ignore_errors=True)
        probe = load_probe(trial.probe)
        with TorchThreads(trial.threads) as threads:
            if trial.agent_target and trial.agent_name not in agents.names():
                agents.register(trial.agent_name, trial.agent_target)
            env = make_env(trial.env_id, trial.env_kwargs)
            try:
                agent = build_agent(
                    trial.agent_name,
                    env,
                    seed=trial.seed,
                    hyperparameters=trial.hyperparameters,
                    device=trial.device,
                )
                threads.apply(agent)
                agent.log_dir = Path(trial.log_dir) if trial.log_dir else None
                subscribers = [TrialRecords()] if curve is None else [TrialRecords(), curve]
                train_agent(agent, env, subscribers, **trial.budget)
                if probe is not None:
                    result["probe"] = {k: _plain(v) for k, v in probe(agent, env, True).items()}
            finally:
                env.close()
            if curve is not None and curve.stopped_at is not None:  # asked to stop: no score
                result["stopped_at"] = curve.stopped_at
            else:
                result["eval"] = greedy_evaluation(
                    agent, trial.env_id, trial.env_kwargs, trial.eval_episodes, trial.eval_seed
                )
    except Exception as exc:  # noqa: BLE001 - one failing trial must not stop the others
        text = str(exc).strip().splitlines()
        result["error"] = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
        if is_storage_fault(exc):  # a full disk is no fault of the trial: it stops the run
            result["io_error"] = as_record(storage_fault(exc))
    done = records[-1].get("env_steps", 0) if (unit == "steps" and records) else len(records)
    report(trial.agent, trial.seed, int(done))
    result["records"] = records
    if curve is not None:
        result["curve"] = curve.points
    result["wall_time"] = time.perf_counter() - start
    result["cpu_time"] = time.process_time() - cpu_start  # this worker's CPU seconds
    result["env_steps"] = int(records[-1].get("env_steps", 0)) if records else 0
    result["trial_hash"] = trial_hash(trial)
    return result
