"""Progress bars (rich) fed by the agents' episode reports.

Description:
    Bars go to stderr so that `--json` output on stdout stays clean. A bar counts episodes
    for an episode budget and env steps for a step budget, and shows the latest return. It
    listens to `EpisodeBatch` events: an agent that reports a rollout's episodes at once
    moves the bar once per rollout, reading one number, and builds no per-episode event for
    it; an agent that reports episodes one by one moves it once per episode.
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

from lecture_rl.agents.events import EpisodeBatch, TrainingCallback

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
    """`"episodes"` or `"steps"`: what a budget counts."""
    return "steps" if "steps" in budget else "episodes"


class TrainProgress(TrainingCallback):
    """One bar for one training run: a subscriber to the episode reports of the event stream.

    Usage:
        ```python
        with TrainProgress("q_learning", {"episodes": 500}) as progress:
            agent.train(env, episodes=500, callbacks=[progress])
        ```
    """

    events = (EpisodeBatch,)

    def __init__(self, label: str, budget: dict[str, int], console: Console | None = None):
        self.unit = budget_unit(budget)
        self.total = int(budget[self.unit])
        self.progress = make_progress(console)
        self.task = self.progress.add_task(f"{label} ({self.unit})", total=self.total, status="")
        #: episodes reported so far
        self.episodes = 0

    def __enter__(self) -> TrainProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_event(self, event: EpisodeBatch) -> None:
        if not len(event):
            return
        self.episodes += len(event)
        done = int(event.env_steps[-1]) if self.unit == "steps" else self.episodes
        status = f"return {float(event.returns[-1]):.3g}"
        if event.accuracy is not None:
            status += f"  accuracy {float(event.accuracy[-1]):.3f}"
        self.progress.update(self.task, completed=min(done, self.total), status=status)

    def __call__(self, record: dict[str, Any]) -> None:
        """One finished episode given as a record (a per-episode `callback=`)."""
        self.on_event(EpisodeBatch.of_record({"episode": self.episodes, **record}))
