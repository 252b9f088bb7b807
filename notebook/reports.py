"""`compare`, `experiment`, `train` and `inspect` in a notebook: the CLI's engines, their results
shown in the cell and returned as Python objects.

Description:
    Each helper runs the command's own engine (`lecture_rl.notebook.command`) and prints what
    the CLI prints, then shows what the command wrote: `compare` returns its table as a pandas
    `DataFrame` (the numbers of the printed table, unrounded) and shows `curves.png`;
    `experiment` shows its report (claim, verdict, tables, plots) and returns the verdict and
    the numbers; `train` returns the checkpoint folder; `inspect` shows the figure. Without
    `out`, files go to a new temporary folder, so rerunning a cell with other settings never
    meets the folder of the run before.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lecture_rl.notebook.budgets import shrink, smoke
from lecture_rl.notebook.command import assignments, comma_list, command_args, run_command
from lecture_rl.notebook.frontend import require_jupyter, view_mode
from lecture_rl.runners.settings import UsageError

#: the columns of `compare`'s table (`lecture-rl compare` prints the same, rounded)
TABLE_COLUMNS = (
    "greedy return",
    "± 95% CI",
    "train return, last 10%",
    "episodes to threshold",
    "seeds reaching it",
    "accuracy",
    "seeds",
)


def _folder(out: str | Path | None, prefix: str) -> Path:
    return Path(out) if out is not None else Path(tempfile.mkdtemp(prefix=f"lecture-rl-{prefix}-"))


@contextlib.contextmanager
def _no_progress_without_frontend() -> Iterator[None]:
    """In an executed notebook (no widget frontend), no progress bars: rich's live display in
    a kernel is an ipywidgets `Output`, which only a frontend draws, and a finished run's
    output shows its results, not its bars."""
    from lecture_rl.runners import progress

    console = progress.stderr_console
    before = console.quiet, console.is_jupyter
    if view_mode() == "animation":  # quiet, and no Output widget made for the bars either
        console.quiet, console.is_jupyter = True, False
    try:
        yield
    finally:
        console.quiet, console.is_jupyter = before


def _run(args: Any) -> tuple[int, str]:
    with _no_progress_without_frontend():
        code, printed = run_command(args)
    return code, printed


def _show_png(path: Path) -> None:
    display, _ = require_jupyter()
    display.display(display.Image(data=path.read_bytes(), format="png"))


def summary_table(summary: dict[str, Any]) -> Any:
    """`summary.json` as the table `lecture-rl compare` prints: one row per agent, `NaN` where
    the printed table shows "—" (no threshold, not reached, no accuracy)."""
    import pandas as pd

    rows = {}
    for name, entry in summary["agents"].items():
        evaluation = entry["eval"]
        low, high = evaluation["ci95"]
        # the interval of equal values is 0, not the 1e-16 its arithmetic leaves
        half = round((high - low) / 2, 12) if evaluation["n"] > 1 else 0.0
        reach = entry["episodes_to_threshold"]
        train = entry["train_return_last_10pct"]["mean"]
        rows[name] = {
            "greedy return": evaluation["return_mean"] if evaluation["n"] else None,
            "± 95% CI": half if evaluation["n"] else None,
            "train return, last 10%": train,
            "episodes to threshold": reach["median"] if reach["threshold"] is not None else None,
            "seeds reaching it": reach["reached"] if reach["threshold"] is not None else None,
            "accuracy": entry.get("accuracy"),
            "seeds": evaluation["n"],
        }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(TABLE_COLUMNS))
    table.index.name = "agent"
    counts = ("seeds reaching it", "seeds")
    table = table.astype({c: "Int64" if c in counts else "float64" for c in TABLE_COLUMNS})
    # what the printed table shows as "no threshold" or leaves out (no accuracy): no column
    return table.dropna(axis="columns", how="all")


def compare(
    env_id: str,
    agents: str | list[str],
    *,
    seeds: int | None = None,
    episodes: int | None = None,
    steps: int | None = None,
    env_set: dict[str, Any] | None = None,
    out: str | Path | None = None,
    eval_episodes: int | None = None,
    workers: int | None = None,
    first_seed: int | None = None,
    grid: dict[str, list[Any]] | None = None,
    device: str | None = None,
    show: bool = True,
    **settings: Any,
) -> Any:
    """`lecture-rl compare` in the cell: agents × seeds, the table and the learning curves.

    Arguments:
        env_id: the env (`--env`).
        agents: names as `"q_learning,sarsa"` or a list; variants as on the command line
            (`"mlp=ppo(net=mlp),lstm=ppo(net=lstm)"`).
        seeds: seeds per agent (`--seeds`, default 5).
        episodes: training episodes per seed (`--episodes`; or `steps`).
        steps: env steps per seed (`--steps`).
        eval_episodes: greedy episodes per seed (`--eval-episodes`, default 100).
        workers: worker processes (`--workers`, default: the CPU count).
        first_seed: seeds are `first_seed`, `first_seed + 1`, ... (`--first-seed`).
        device: where deep agents run (`--device`).
        env_set: the env's keywords (`--env-set`).
        out: the output folder (default: a new temporary folder).
        grid: one variant per value, e.g. `{"net": ["mlp", "lstm"]}` (`--grid net=mlp,lstm`).
        show: show `curves.png` in the cell.
        **settings: hyperparameters (`--set`), `agent.name=value` for one agent's.

    Returns:
        The table as a `DataFrame` (index: agent), with `table.attrs["out"]` (the folder) and
        `table.attrs["summary"]` (`summary.json`).
    """
    folder = _folder(out, "compare")
    budget = {"episodes": shrink("episodes", episodes), "steps": shrink("steps", steps)}
    if smoke() and episodes is None and steps is None:
        raise UsageError("give compare a budget (episodes= or steps=) for the smoke run to cut")
    args = command_args(
        "compare",
        env=env_id,
        agents=comma_list(agents),
        seeds=shrink("seeds", seeds, default=True),
        **budget,
        env_set=assignments(env_set),
        set=assignments(settings),
        grid=[f"{key}={','.join(map(str, values))}" for key, values in (grid or {}).items()],
        out=str(folder),
        eval_episodes=shrink("eval_episodes", eval_episodes, default=True),
        workers=shrink("workers", workers, default=True),
        first_seed=first_seed,
        device=device,
    )
    code, _ = _run(args)
    summary_path = folder / "summary.json"
    if not summary_path.exists():
        raise UsageError(f"compare wrote no summary (exit code {code})")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    if show and (folder / "curves.png").exists():
        _show_png(folder / "curves.png")
    table = summary_table(summary)
    table.attrs["out"] = str(folder)
    table.attrs["summary"] = summary
    return table


@dataclass
class ExperimentResult:
    """What `lecture-rl experiment NAME` decided: the verdict and the numbers behind it."""

    name: str
    claim: str
    held: bool
    verdict: str
    numbers: dict[str, Any]
    out: Path
    printed: str = field(repr=False, default="")

    def _repr_markdown_(self) -> str:
        return f"**{self.name}**: {self.verdict}"


def experiment(
    name: str,
    *,
    quick: bool = True,
    seeds: int | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    show: bool = True,
) -> ExperimentResult:
    """`lecture-rl experiment NAME` in the cell: run one of the notes' claims and show its report.

    Arguments:
        name: the experiment (`lecture-rl experiment list` names them), e.g. `"cliff"`.
        quick: class-sized (`--quick`, the default here); `False`: the careful run.
        seeds: seeds (`--seeds`; default: the experiment's).
        workers: worker processes (`--workers`).
        out: the report folder (default: a new temporary folder).
        show: show the report (claim, verdict, tables, plots) in the cell.

    Returns:
        The verdict (`held`, `verdict`), the measured `numbers` and the folder.
    """
    folder = _folder(out, f"experiment-{name}")
    if smoke():
        quick = True
        seeds = shrink("seeds", seeds if seeds is not None else 1)
    workers = shrink("workers", workers, default=True)
    args = command_args("experiment", name, quick=quick, seeds=seeds, out=str(folder),
                        workers=workers, fresh=True)  # fmt: skip
    _, printed = _run(args)
    record = json.loads((folder / "numbers.json").read_text(encoding="utf-8"))
    if show:
        display, _ = require_jupyter()
        display.display(display.Markdown(report_markdown(folder)))
    return ExperimentResult(
        name=record["experiment"],
        claim=record["claim"],
        held=bool(record["held"]),
        verdict=record["verdict"],
        numbers=record["numbers"],
        out=folder,
        printed=printed,
    )


def report_markdown(folder: Path) -> str:
    """An experiment's `report.md` with its plots embedded (so the cell's output holds them)."""
    text = (folder / "report.md").read_text(encoding="utf-8")

    def embed(match: re.Match[str]) -> str:
        caption, name = match.group(1), match.group(2)
        path = folder / name
        if "/" in name or not path.is_file():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"![{caption}](data:image/png;base64,{data})"

    return re.sub(r"!\[([^\]]*)\]\(([^)\s]+\.png)\)", embed, text)


def train(
    env_id: str,
    agent: str,
    *,
    episodes: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    env_set: dict[str, Any] | None = None,
    out: str | Path | None = None,
    eval_episodes: int | None = None,
    device: str | None = None,
    **settings: Any,
) -> Path:
    """`lecture-rl train` in the cell: train one agent and save it.

    Returns:
        The checkpoint folder (for `inspect`, `watch(checkpoint=...)`, `lecture-rl evaluate`).
    """
    folder = _folder(out, "train")
    args = command_args(
        "train",
        env=env_id,
        agent=agent,
        episodes=shrink("episodes", episodes),
        steps=shrink("steps", steps),
        seed=seed,
        env_set=assignments(env_set),
        set=assignments(settings),
        out=str(folder),
        eval_episodes=shrink("eval_episodes", eval_episodes, default=True),
        device=device,
    )
    _run(args)
    return folder


def inspect(
    checkpoint: str | Path,
    *,
    episodes: int | None = None,
    seed: int | None = None,
    env_id: str | None = None,
    env_set: dict[str, Any] | None = None,
    units: int | None = None,
    out: str | Path | None = None,
    show: bool = True,
) -> Path:
    """`lecture-rl inspect` in the cell: the figure of a trained deep agent's insides.

    Arguments:
        checkpoint: the folder `train` wrote.
        episodes: greedy episodes drawn (`--episodes`, default 1).
        seed: the first episode's seed (`--seed`).
        units: units (a CNN: feature maps) drawn (`--units`, default 3).
        env_id: another env to play it on (`--env`).
        env_set: other keywords for the env (`--env-set`).
        out: the PNG to write (default: `insides.png` in the checkpoint folder).
        show: show the figure in the cell.

    Returns:
        The PNG's path.
    """
    path = Path(out) if out is not None else Path(checkpoint) / "insides.png"
    args = command_args(
        "inspect",
        checkpoint=str(checkpoint),
        out=str(path),
        episodes=episodes,
        seed=seed,
        env=env_id,
        env_set=assignments(env_set),
        units=units,
    )
    _run(args)
    if show:
        _show_png(path)
    return path
