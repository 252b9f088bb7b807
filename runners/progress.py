"""Progress bars (rich) fed by the agents' per-episode callback.

Description:
    Bars go to stderr so that ``--json`` output on stdout stays clean. A bar counts episodes
    for an episode budget and env steps for a step budget, and shows the latest return.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from lecture_rl.agents.events import EpisodeEnd, TrainingCallback

stderr_console = Console(stderr=True)


def make_progress(console: Console | None = None) -> Progress:
    """A rich progress display: description, bar, done/total, elapsed, remaining, status."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=console or stderr_console,
        transient=False,
    )


def budget_unit(budget: dict[str, int]) -> str:
    """``"episodes"`` or ``"steps"``: what a budget counts."""
    return "steps" if "steps" in budget else "episodes"


class TrainProgress(TrainingCallback):
    """One bar for one training run: a subscriber to the episode ends of the event stream.

    Usage::

        with TrainProgress("q_learning", {"episodes": 500}) as progress:
            agent.train(env, episodes=500, callbacks=[progress])
    """

    events = (EpisodeEnd,)

    def __init__(self, label: str, budget: dict[str, int], console: Console | None = None):
        self.unit = budget_unit(budget)
        self.total = int(budget[self.unit])
        self.progress = make_progress(console)
        self.task = self.progress.add_task(f"{label} ({self.unit})", total=self.total, status="")
        self.records: list[dict[str, Any]] = []

    def __enter__(self) -> TrainProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_event(self, event: EpisodeEnd) -> None:
        self(dict(event.record))

    def __call__(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        done = record.get("env_steps", 0) if self.unit == "steps" else len(self.records)
        status = f"return {float(record.get('return', 0.0)):.3g}"
        if "accuracy" in record:
            status += f"  accuracy {float(record['accuracy']):.3f}"
        self.progress.update(self.task, completed=min(done, self.total), status=status)
