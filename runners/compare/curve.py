"""A trial's evaluation curve: the greedy policy scored at set points of its training budget.

Description:
    `EvaluationCurve` subscribes to a training run's episode ends. Each time the run passes the
    next point of `at` (env steps or episodes, as the budget counts), it scores the greedy
    policy (the `evaluate` it was given: greedy episodes on a separate env, so the training
    env's state and random stream stay as they were) and hands the point to `report`, so the
    driver sees the curve while the trial runs (`lecture-rl tune` prunes on it). Training stops
    at the next episode end once the file `stop_file` exists: the driver asks a trial to stop
    by creating it, which works the same for this process, the local pool and Ray on one
    machine.

    The spec is plain data on the trial (`Trial.curve`):

    ```python
    {"at": [4000, 8000, 12000], "episodes": 10, "stop_file": "runs/tune/stop/trial-0007"}
    ```
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lecture_rl.agents.events import EpisodeEnd, TrainingCallback

#: how often (seconds) a running trial looks for its stop file between evaluation points
STOP_POLL_S = 0.5


class EvaluationCurve(TrainingCallback):
    """Greedy scores at the points `spec["at"]` of the budget; stops on `spec["stop_file"]`.

    Arguments:
        spec: `{"at": [...], "stop_file": PATH or None, ...}` (see the module docstring).
        unit: `"steps"` (points are env steps) or `"episodes"`.
        evaluate: scores the greedy policy now (a greedy return mean).
        report: receives each point, `{"at": POINT, "return": SCORE, "env_steps": N}`.
    """

    events = (EpisodeEnd,)

    def __init__(
        self,
        spec: dict[str, Any],
        unit: str,
        evaluate: Callable[[], float],
        report: Callable[[dict[str, Any]], None],
    ):
        self.todo = sorted(int(point) for point in spec.get("at") or ())
        self.stop_file = Path(spec["stop_file"]) if spec.get("stop_file") else None
        self.unit = unit
        self.evaluate = evaluate
        self.report = report
        self.points: list[dict[str, Any]] = []
        #: where training stopped because the stop file appeared (None: it was not asked to)
        self.stopped_at: int | None = None
        self._episodes = 0
        self._next_poll = 0.0

    def on_event(self, event: EpisodeEnd) -> bool | None:
        self._episodes += 1
        steps = int(event.record.get("env_steps", 0))
        done = steps if self.unit == "steps" else self._episodes
        if self.todo and done >= self.todo[0]:
            score = float(self.evaluate())
            while self.todo and done >= self.todo[0]:  # one long episode may pass several
                point = {"at": self.todo.pop(0), "return": score, "env_steps": steps}
                self.points.append(point)
                self.report(point)
            return self._check_stop(done, force=True)
        return self._check_stop(done, force=False)

    def _check_stop(self, done: int, *, force: bool) -> bool | None:
        if self.stop_file is None:
            return None
        now = time.monotonic()
        if not force and now < self._next_poll:
            return None
        self._next_poll = now + STOP_POLL_S
        if self.stop_file.exists():
            self.stopped_at = done
            return False
        return None
