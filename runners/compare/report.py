"""`compare` output: the progress display, `results.csv` and the summary table.

Description:
    `Display` shows one progress bar per agent, summed over its seeds, with finished and
    failed seeds beside it. `write_results_csv` writes only seeded columns (no wall
    clock), so the same trials give the same file byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from lecture_rl.runners.compare.trials import Trial
from lecture_rl.runners.progress import budget_unit, make_progress
from lecture_rl.runners.result_files import records_to_csv, write_file

RESULT_COLUMNS = ["agent", "seed", "episode", "return", "length", "env_steps", "accuracy"]


class Display:
    """One progress bar per agent, summed over its seeds."""

    def __init__(self, trials: list[Trial]):
        self.progress = make_progress()
        self.done: dict[tuple[str, int], int] = {}
        self.tasks: dict[str, Any] = {}
        totals: dict[str, int] = {}
        for trial in trials:
            unit = budget_unit(trial.budget)
            totals[trial.agent] = totals.get(trial.agent, 0) + trial.budget[unit]
            self.done[(trial.agent, trial.seed)] = 0
        for name, total in totals.items():
            unit = budget_unit(next(t.budget for t in trials if t.agent == name))
            self.tasks[name] = self.progress.add_task(
                f"{escape(name)} ({unit})", total=total, status=""
            )
        self.budget = {trial.agent: trial.budget for trial in trials}
        self.results: dict[str, list[dict[str, Any]]] = {}

    def update(self, agent: str, seed: int, done: int) -> None:
        if (agent, seed) not in self.done:
            return
        unit = budget_unit(self.budget[agent])
        self.done[(agent, seed)] = min(done, self.budget[agent][unit])
        completed = sum(v for (name, _), v in self.done.items() if name == agent)
        self.progress.update(self.tasks[agent], completed=completed)

    def finished(self, result: dict[str, Any]) -> None:
        """Show `k/n seeds done` and any failed seeds beside the agent's bar."""
        agent = result["agent"]
        self.results.setdefault(agent, []).append(result)
        failed = [str(r["seed"]) for r in self.results[agent] if r.get("error")]
        seeds = sum(1 for name, _ in self.done if name == agent)
        status = f"{len(self.results[agent])}/{seeds} seeds"
        if failed:
            status += f" [red](failed: seed {', '.join(failed)})[/red]"
        self.progress.update(self.tasks[agent], status=status)


def write_results_csv(path: Path, settings, results) -> str:
    """`results.csv`: one row per training episode of every finished trial, sorted by agent
    order, seed, episode; returns the text written."""
    order = {name: i for i, name in enumerate(settings["agents"])}
    rows = []
    for (agent, seed), result in sorted(
        results.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])
    ):
        if result.get("error"):
            continue  # a failed trial's partial episodes stay in trials/, not in the results
        for record in result.get("records", []):
            row = {"agent": agent, "seed": seed}
            row.update({k: v for k, v in record.items() if k in RESULT_COLUMNS})
            rows.append(row)
    # only the seeded columns: timings and other extras would make reruns differ
    columns = [
        c for c in RESULT_COLUMNS if any(c in row for row in rows) or c in RESULT_COLUMNS[:5]
    ]
    text = records_to_csv(rows, columns)
    write_file(path, text)
    return text


def print_table(console, summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"compare on {summary['env']}")
    table.add_column("agent")
    table.add_column("greedy return (mean ± 95% CI)", justify="right")
    table.add_column("train return, last 10%", justify="right")
    table.add_column("episodes to threshold", justify="right")
    has_accuracy = any("accuracy" in entry for entry in summary["agents"].values())
    if has_accuracy:
        table.add_column("accuracy", justify="right")
    table.add_column("seeds", justify="right")
    for name, entry in summary["agents"].items():
        evaluation = entry["eval"]
        mean, (low, high) = evaluation["return_mean"], evaluation["ci95"]
        half = (high - low) / 2 if evaluation["n"] > 1 else 0.0
        reach = entry["episodes_to_threshold"]
        reach_text = "no threshold"
        if reach["threshold"] is not None:
            median = reach["median"]
            reach_text = (
                f"{median:.0f} ({reach['reached']}/{reach['of']})"
                if median
                else (f"not reached (0/{reach['of']})")
            )
        cells = [
            escape(name),
            f"{mean:.3f} ± {half:.3f}" if evaluation["n"] else "—",
            _number(entry["train_return_last_10pct"]["mean"]),
            reach_text,
        ]
        if has_accuracy:
            cells.append(f"{entry['accuracy']:.4f}" if "accuracy" in entry else "—")
        failed = f", {len(entry['failed'])} failed" if entry["failed"] else ""
        cells.append(f"{evaluation['n']}{failed}")
        table.add_row(*cells)
    console.print(table)
    for failure in summary["failed"]:
        console.print(
            f"[red]failed[/red]: agent {escape(failure['agent'])}, seed {failure['seed']}: "
            f"{failure['error']}"
        )


def _number(value: float | None) -> str:
    """A mean for the table; "—" when there is none (no trial finished an episode)."""
    return "—" if value is None else f"{value:.3f}"
