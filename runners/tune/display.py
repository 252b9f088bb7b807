"""`tune`'s progress: a bar for the study, one per running trial, a line per finished trial.

Description:
    The study's bar counts the trials that count towards `--trials` and shows the best so far;
    each running trial has a bar over its seeds' budget with its last evaluation point; when
    a trial ends its bar goes and one line stays above the bars:

    ```text
    trial 7    412.3  (2 seeds: 380.1, 444.5)  lr=0.000735 n_steps=64 ...
    trial 8    pruned at 8,000 steps: eval 21.3 (the median of the others was 150.2)
    ```
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from lecture_rl.runners.progress import make_progress
from lecture_rl.runners.tune.preset import score_text


def settings_text(values: dict[str, Any]) -> str:
    """`lr=0.000735 n_steps=64`: a trial's sampled settings on one line."""
    return " ".join(f"{key}={value}" for key, value in values.items())


class TuneDisplay:
    """The study's bar and one bar per running trial (rich, on stderr like compare's)."""

    def __init__(self, target: int, unit: str, total: int, seeds: int, console: Console | None):
        self.progress = make_progress(console)
        self.unit = unit
        self.total = total * seeds
        self.study = self.progress.add_task("trials", total=target, status="")
        self.tasks: dict[int, Any] = {}

    @property
    def console(self) -> Console:
        return self.progress.console

    def counted(self, done: int, status: str) -> None:
        self.progress.update(self.study, completed=done, status=status)

    def started(self, number: int) -> None:
        self.tasks[number] = self.progress.add_task(
            f"trial {number} ({self.unit})", total=self.total, status=""
        )

    def advanced(self, number: int, completed: int) -> None:
        if number in self.tasks:
            self.progress.update(self.tasks[number], completed=min(completed, self.total))

    def point(self, number: int, at: int, score: float) -> None:
        if number in self.tasks:
            self.progress.update(
                self.tasks[number], status=f"eval {score_text(score)} at {at:,} {self.unit}"
            )

    def ended(self, number: int, text: str) -> None:
        """Remove the trial's bar and print its line."""
        task = self.tasks.pop(number, None)
        if task is not None:
            self.progress.remove_task(task)
        self.console.print(f"trial {number:<4} {escape(text)}", soft_wrap=True, highlight=False)

    def note(self, text: str) -> None:
        self.console.print(escape(text), soft_wrap=True, highlight=False)
