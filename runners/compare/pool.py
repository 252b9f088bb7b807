"""`compare --workers K`'s local process pool: a worker that dies costs only the trial it ran.

Description:
    `concurrent.futures.ProcessPoolExecutor` breaks as a whole when one worker dies (`kill -9`,
    the out-of-memory killer): every pending trial fails with `BrokenProcessPool`. Here each
    worker is a process of its own with a private pipe to the driver, which therefore knows
    which trial each worker runs. When a worker dies, its trial runs again in a new worker (at
    most `RETRIES` times; trials are seeded, so the rerun gives the undisturbed result), the
    other workers go on untouched, and a trial that keeps killing its worker is reported failed
    with the cause.

    The workers fork from the fork server of `runners/processes.py` (torch and the agents
    already imported) and exit when the driver dies, through the same lifeline as before.
"""

from __future__ import annotations

import signal
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing import connection
from typing import Any

from lecture_rl.runners.compare.trials import Trial, failed_result, init_worker, run_trial
from lecture_rl.runners.processes import ctrl_c, worker_context

#: how many times a trial whose worker died runs again before it is reported failed
RETRIES = 2

Report = Callable[..., None]  # (agent, seed, done, ...)
OnResult = Callable[[dict[str, Any]], None]
Trials = Iterable[Trial]
Notice = Callable[[str], None]


@dataclass
class _Worker:
    process: Any
    conn: Any  # the driver's end of the worker's pipe
    trial: Trial | None = None


def serve(conn: Any, lifeline: Any) -> None:
    """A worker's life: run the trials the driver sends, one at a time, until it sends None.
    Progress and the result go back through the worker's own pipe (nothing shared with the
    other workers, so a worker killed mid-message breaks no one else)."""
    init_worker(lifeline)

    def report(*item: Any) -> None:  # (agent, seed, done, ...)
        conn.send(("progress", *item))

    while True:
        try:
            trial = conn.recv()
        except (EOFError, OSError):
            return
        if trial is None:
            return
        conn.send(("result", run_trial(trial, report=report)))


def death_cause(exitcode: int | None) -> str:
    """`killed by SIGKILL: kill -9, or out of memory` and the like."""
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = ": kill -9, or out of memory" if name == "SIGKILL" else ""
        return f"killed by {name}{why}"
    return f"it exited with code {exitcode}"


class WorkerPool:
    """`size` worker processes; `run` hands out the trials and reruns those whose worker died.

    Args:
        size: how many workers run at once.
        retries: how many times a trial whose worker died runs again.
    """

    def __init__(self, size: int, retries: int = RETRIES):
        self.size = size
        self.retries = retries

    def run(
        self, trials: Trials, report: Report, on_result: OnResult, notice: Notice | None = None
    ) -> bool:
        """Run `trials`, taking the next one only when a worker is free (after the results
        so far went to `on_result`); True when Ctrl-C stopped the run. An exception from
        `on_result` (an I/O fault while keeping a result) stops the workers and rises."""
        notice = notice or (lambda text: None)
        context = worker_context()
        # the workers exit when this end closes: at the end of the run, or if the driver dies
        lifeline, lifeline_end = context.Pipe(duplex=False)
        source = iter(trials)
        again: deque[Trial] = deque()  # trials whose worker died, to run before new ones
        deaths: Counter[tuple[str, int]] = Counter()
        workers: list[_Worker] = []

        def next_trial() -> Trial | None:
            return again.popleft() if again else next(source, None)

        finished = False
        try:
            # a Ctrl-C while the workers start waits until they have (at most the fork
            # server's imports): a worker stopped half-started prints a traceback
            with ctrl_c(defer=True):
                for _ in range(self.size):
                    workers.append(_start(context, lifeline))
            while True:
                for index, worker in enumerate(workers):
                    if worker.trial is not None:
                        continue
                    trial = next_trial()
                    if trial is None:
                        break
                    if worker.process.exitcode is not None:  # died idle, or its trial did
                        worker.conn.close()
                        workers[index] = worker = _start(context, lifeline)
                    worker.trial = trial
                    try:
                        worker.conn.send(trial)
                    except OSError:
                        pass  # it died: its pipe says so below
                busy = [worker for worker in workers if worker.trial is not None]
                if not busy:
                    break
                for conn in connection.wait([worker.conn for worker in busy], timeout=0.5):
                    worker = next(w for w in busy if w.conn is conn)
                    if not self._read(worker, report, on_result):
                        self._buried(worker, deaths, again, on_result, notice)
            finished = True
        except KeyboardInterrupt:
            return True
        finally:
            _stop(workers, gently=finished)
            lifeline_end.close()
            lifeline.close()
        return False

    def _read(self, worker: _Worker, report: Report, on_result: OnResult) -> bool:
        """Every message the worker has sent; False when its pipe broke (the worker died)."""
        while True:
            try:
                if not worker.conn.poll():
                    return True
                message = worker.conn.recv()
            except Exception:  # noqa: BLE001 - end of file, or half a message: it died
                return False
            if message[0] == "progress":
                report(*message[1:])
            else:
                worker.trial = None
                on_result(message[1])
                return True

    def _buried(self, worker, deaths, again, on_result: OnResult, notice: Notice) -> None:
        """A worker died running `worker.trial`: queue the trial to run again, or report it
        failed after `retries` deaths."""
        trial = worker.trial
        worker.trial = None
        worker.process.join(timeout=5)
        cause = death_cause(worker.process.exitcode)
        if trial is None:
            return
        deaths[trial.key] += 1
        count = deaths[trial.key]
        if count <= self.retries:
            notice(
                f"the worker running {trial.agent} seed {trial.seed} died ({cause}); running "
                f"that trial again (attempt {count + 1} of {self.retries + 1})"
            )
            again.append(trial)
            return
        times = "once" if count == 1 else f"{count} times"
        on_result(failed_result(trial, f"WorkerDied: its worker process died {times}, {cause}"))


def _start(context: Any, lifeline: Any) -> _Worker:
    mine, theirs = context.Pipe(duplex=True)
    process = context.Process(target=serve, args=(theirs, lifeline), daemon=True)
    process.start()
    theirs.close()  # only the worker holds its end: its death reads as end-of-file here
    return _Worker(process, mine)


def _stop(workers: list[_Worker], *, gently: bool) -> None:
    """End every worker: ask them to (after a finished run), else terminate them; then wait,
    so no process is left behind."""
    for worker in workers:
        if gently and worker.process.exitcode is None:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        elif worker.process.exitcode is None:
            worker.process.terminate()
    try:
        for worker in workers:
            worker.process.join(timeout=10 if gently else 5)
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join(timeout=5)
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting, the caller writes the summary
        for worker in workers:
            if worker.process.exitcode is None:
                worker.process.kill()
    finally:
        for worker in workers:
            worker.conn.close()
