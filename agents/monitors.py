"""Standing subscribers of the deep agents: the divergence guard and TensorBoard scalars."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from lecture_rl.agents.base import TrainingDiverged
from lecture_rl.agents.event_file import ScalarEventFile
from lecture_rl.agents.events import EpisodeEnd, NetworkUpdate, TrainingCallback


def divergence_message(agent: Any, update: int, what: str, value: float) -> str:
    """The text of [`TrainingDiverged`][lecture_rl.agents.base.TrainingDiverged]: the update, the
    last good checkpoint, the cure."""
    if agent.last_good_checkpoint is not None:
        where = f"the last good checkpoint is {agent.last_good_checkpoint}"
    else:
        where = "no good checkpoint was saved (set log_dir / --out to keep one)"
    return (
        f"training diverged at update {update}: the {what} became {value}; "
        f"{where}. Lower lr (now {agent.hp['lr']:g}) or max_grad_norm and train again"
    )


class DivergenceGuard(TrainingCallback):
    """Stops training with [`TrainingDiverged`][lecture_rl.agents.base.TrainingDiverged] when a
    loss turns NaN or infinite.

    Deep agents emit each [`NetworkUpdate`][lecture_rl.agents.events.NetworkUpdate] after the
    backward pass and before the optimizer step, so the weights are never touched by a non-finite
    gradient. They guard themselves without it (`DeepAgent.apply_gradients`: the same check with no
    host sync when nobody listens); add it by hand to stop at the very update.
    """

    events = (NetworkUpdate,)

    def __init__(self, agent: Any):
        self.agent = agent

    def on_event(self, event: NetworkUpdate) -> None:
        for what, value in event.losses.items():
            if not math.isfinite(value):
                label = "loss" if what == "loss" else f"{what} loss"
                raise TrainingDiverged(divergence_message(self.agent, event.update, label, value))


class TensorBoardScalars(TrainingCallback):
    """TensorBoard scalars under `folder`: the mean losses of each update, the extra scalars
    the agent reports and the mean return of the last 100 episodes (x = env steps). Written by
    `ScalarEventFile`, so a full disk stops training with one `OSError` naming the file and
    leaves the file's complete records readable."""

    events = (NetworkUpdate, EpisodeEnd)

    def __init__(self, folder: Path):
        self.folder = folder
        self._writer: Any = None
        self._update: int | None = None
        self._sums: dict[str, float] = defaultdict(float)
        self._count = 0
        self._scalars: dict[str, float] = {}
        self._env_steps = 0
        self._returns: list[float] = []

    def on_event(self, event: Any) -> None:
        if isinstance(event, EpisodeEnd):
            self._returns = [*self._returns[-99:], float(event.record["return"])]
            return
        if self._update is not None and event.update != self._update:
            self._flush()
        self._update = event.update
        self._env_steps = event.env_steps
        for key, value in event.losses.items():
            self._sums[key] += float(value)
        if event.grad_norm is not None:
            self._sums["grad_norm"] += float(event.grad_norm)
        self._count += 1
        self._scalars = dict(event.scalars)

    def _flush(self) -> None:
        if not self._count:
            return
        if self._writer is None:
            self._writer = ScalarEventFile(self.folder)
        scalars = {f"losses/{key}": value / self._count for key, value in self._sums.items()}
        scalars.update({f"charts/{key}": value for key, value in self._scalars.items()})
        if self._returns:
            scalars["charts/episodic_return"] = sum(self._returns) / len(self._returns)
        for tag, value in scalars.items():
            if value is not None and math.isfinite(float(value)):
                self._writer.add_scalar(tag, float(value), self._env_steps)
        self._sums.clear()
        self._count = 0

    def on_training_end(self, result: Any) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
