"""Where `compare`'s trials run: this process, a local process pool, or Ray.

Description:
    An executor takes the trials, reports progress as `(agent, seed, done)` (and a trial's
    evaluation-curve points as `(agent, seed, done, point)`) and hands each finished trial's
    result to `on_result` in the driver, which writes every file; so resume and the output
    files are the same whichever executor ran the trials. `run` returns True when Ctrl-C
    stopped the run (finished results are kept). The trials may be any iterable: executors
    take the next one only when a worker is free, after handing the results so far to
    `on_result`, so a caller can choose each next trial from the results (`tune`).

    `InlineExecutor`   one trial after another in this process (`--workers 1`)
    `PoolExecutor`     `--workers K` processes, one torch thread each by default
    `RayExecutor`      one Ray task per trial (`--executor ray` or `ray://HOST:PORT`);
                         Ray is the optional extra `cluster`

    A worker that dies mid-trial (`kill -9`, the out-of-memory killer) costs only that trial:
    it runs again, at most `pool.RETRIES` times (Ray: the task's `max_retries`), then is
    reported failed with the cause while the others still land. `notice` gets one line per
    rerun. An exception from `on_result` (an I/O fault while keeping a result) stops the
    workers and rises.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any, Protocol

from lecture_rl.runners.compare.pool import RETRIES, Notice, OnResult, Report, Trials, WorkerPool
from lecture_rl.runners.compare.trials import Trial, failed_result, run_trial
from lecture_rl.runners.settings import UsageError


class Executor(Protocol):
    """Runs trials; returns True when interrupted with Ctrl-C."""

    def run(
        self, trials: Trials, report: Report, on_result: OnResult, notice: Notice | None = None
    ) -> bool: ...


class InlineExecutor:
    """Every trial in this process, one after another."""

    def run(
        self, trials: Trials, report: Report, on_result: OnResult, notice: Notice | None = None
    ) -> bool:
        if "torch" in sys.modules:  # deep agents were planned: the one-off set-up a pool
            # worker gets from its fork server (torch._dynamo for the first optimizer, the
            # TensorBoard writer), before the first trial's clock starts, as in a worker
            import lecture_rl.runners.compare.warm  # noqa: F401
        for trial in trials:
            try:
                on_result(run_trial(trial, report=report))
            except KeyboardInterrupt:
                return True
        return False


class PoolExecutor(WorkerPool):
    """`workers` local processes (`pool.WorkerPool`): a worker that dies costs only its trial,
    which runs again (at most `pool.RETRIES` times)."""


def import_ray():
    """`import ray`, or a UsageError naming the extra that installs it."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError(
            "--executor ray needs Ray, which is not installed; install the extra with "
            'pip install "lecture-rl[cluster]" (or use the default local pool)'
        ) from exc
    return ray


class RayExecutor:
    """One Ray task per trial. `address` None starts a local Ray (`num_cpus` CPUs, no
    dashboard); `ray://HOST:PORT` or `HOST:PORT` joins a running cluster."""

    def __init__(
        self,
        address: str | None = None,
        *,
        trial_cpus: float = 1,
        trial_gpus: float = 0,
        num_cpus: int | None = None,
    ):
        self.ray = import_ray()
        self.address = address
        self.trial_cpus = trial_cpus
        self.trial_gpus = trial_gpus
        self.num_cpus = num_cpus

    def _start(self) -> bool:
        """Connect (or start a local Ray); True if this call started it (and must stop it)."""
        ray = self.ray
        if ray.is_initialized():
            return False
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        options: dict[str, Any] = {"include_dashboard": False, **quiet}
        if self.address:
            options = {"address": self.address, **quiet}
        elif self.num_cpus is not None:
            options["num_cpus"] = self.num_cpus
        try:
            ray.init(**options)
        except ConnectionError as exc:
            raise UsageError(f"cannot reach the Ray cluster at {self.address}: {exc}") from exc
        return True

    def run(
        self, trials: Trials, report: Report, on_result: OnResult, notice: Notice | None = None
    ) -> bool:
        from ray.util.queue import Queue

        ray = self.ray
        started = self._start()
        remote = ray.remote(
            num_cpus=self.trial_cpus, num_gpus=self.trial_gpus, max_retries=RETRIES
        )(_ray_trial)  # a task whose worker died runs again, as in the local pool
        progress = Queue(actor_options={"num_cpus": 0})  # the tasks' progress, as the pool's
        source = iter(trials)
        refs: dict[Any, Trial] = {}
        pending: list[Any] = []

        def submit_next() -> None:  # the next trial, when there is one, to a free slot
            trial = next(source, None)
            if trial is not None:
                ref = remote.remote(trial, progress)
                refs[ref] = trial
                pending.append(ref)

        for _ in range(self._slots()):
            submit_next()
        interrupted = False
        try:
            while pending:
                done, pending[:] = ray.wait(pending, num_returns=1, timeout=0.2)
                _drain_ray(progress, report)
                for ref in done:
                    trial = refs[ref]
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - a lost worker or node
                        lines = str(exc).strip().splitlines() or [""]
                        result = failed_result(trial, f"{type(exc).__name__}: {lines[0]}")
                    report(trial.agent, trial.seed, _budget_total(trial))
                    on_result(result)
                    submit_next()
        except KeyboardInterrupt:
            interrupted = True
            for ref in pending:
                ray.cancel(ref, force=True)
        except BaseException:  # an I/O fault while keeping a result: stop the other tasks
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        finally:
            with contextlib.suppress(Exception):  # its actor, on a cluster we leave running
                progress.shutdown()
            if started:
                ray.shutdown()
        return interrupted

    def _slots(self) -> int:
        """How many trials the cluster runs at once (its CPUs and GPUs over a trial's)."""
        resources = self.ray.cluster_resources()
        slots = resources.get("CPU", 1) / self.trial_cpus
        if self.trial_gpus:
            slots = min(slots, resources.get("GPU", 0) / self.trial_gpus)
        return max(1, int(slots))


def _budget_total(trial: Trial) -> int:
    return int(next(iter(trial.budget.values())))


def _ray_trial(trial: Trial, progress: Any = None) -> dict[str, Any]:
    """A Ray task: one torch thread unless the trial says otherwise; progress (and curve
    points) to the driver through `progress`, a Ray queue."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")

    def report(*item: Any) -> None:
        if progress is not None:
            progress.put_nowait(item)

    return run_trial(trial, report=report)


def _drain_ray(progress: Any, report: Callable[..., None]) -> None:
    """Hand the progress the Ray tasks queued to `report`."""
    try:
        count = progress.qsize()
        items = progress.get_nowait_batch(count) if count else []
    except Exception:  # noqa: BLE001 - the queue's actor has gone (a lost node): no progress
        return
    for item in items:
        report(*item)


def check_ray_address(address: str, timeout: float = 5.0) -> None:
    """`ray://HOST:PORT` or `HOST:PORT` must name a port that answers (Ray itself retries an
    unreachable head for minutes, or forever): a UsageError otherwise. `auto` (the cluster
    `ray start` left on this machine) is Ray's to find."""
    import socket

    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(
            f"Ray address '{address}' is not HOST:PORT (e.g. ray://10.0.0.5:10001 or "
            "--address 10.0.0.5:6379)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"cannot reach the Ray cluster at {address} ({reason}); is 'ray start --head' "
            "running there, and is the port open?"
        ) from exc


def make_executor(
    name: str | None,
    address: str | None,
    workers: int,
    trial_cpus: float | None,
    trial_gpus: float | None,
) -> Executor:
    """The executor the flags ask for (validated before any work starts)."""
    name = name or "local"
    if name.startswith("ray://"):
        name, address = "ray", address or name
    if address and name == "local":
        name = "ray"
    if name == "ray":
        if address:
            check_ray_address(address)
        if trial_cpus is not None and trial_cpus <= 0:
            raise UsageError(f"--trial-cpus must be positive, got {trial_cpus}")
        if trial_gpus is not None and trial_gpus < 0:
            raise UsageError(f"--trial-gpus must be 0 or more, got {trial_gpus}")
        return RayExecutor(
            address,
            trial_cpus=trial_cpus if trial_cpus is not None else 1,
            trial_gpus=trial_gpus or 0,
            num_cpus=workers if not address else None,
        )
    if name != "local":
        raise UsageError(f"--executor '{name}' is not one of local, ray, ray://HOST:PORT")
    if trial_cpus is not None or trial_gpus is not None:
        raise UsageError("--trial-cpus and --trial-gpus apply to --executor ray")
    return InlineExecutor() if workers == 1 else PoolExecutor(workers)
