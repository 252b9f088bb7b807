"""What a study writes: the trials table, the best preset, a summary, a report with plots.

Description:
    `write_progress` (after every trial that ends) writes `trials.csv`, `summary.json` and the
    preset `<agent>.yml` of the best trial so far; `write_report` (when the run ends, also
    after Ctrl-C) adds `report.md` with `history.png` (each trial's score), `importance.png`
    (which hyperparameters mattered: Optuna's PED-ANOVA importances over the complete trials)
    and `best_curve.png` (the best trial's greedy evaluation and training return against the
    budget). Every file is written atomically.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lecture_rl.runners.agent_factory import agent_class
from lecture_rl.runners.compare.summary import threshold_window
from lecture_rl.runners.plots import smooth
from lecture_rl.runners.result_files import finite, records_to_csv, write_figure, write_file
from lecture_rl.runners.tune import study as studies
from lecture_rl.runners.tune.preset import net_layer, preset_text, score_text, source_line
from lecture_rl.runners.tune.search import HYPERPARAMETERS, PER_SEED, PRUNED_AT, WALL
from lecture_rl.runners.tune.settings import Plan, preset_name

OUTPUT_FILES = (
    "config.json",
    "trials.csv",
    "summary.json",
    "report.md",
    "history.png",
    "importance.png",
    "best_curve.png",
)


def _state_text(trial) -> str:
    name = trial.state.name.lower()
    if name == "fail" and studies.INTERRUPTED in trial.user_attrs:
        return "interrupted"
    return {"complete": "complete", "pruned": "pruned", "fail": "failed"}.get(name, name)


def best_trial(study):
    """The complete trial with the highest mean greedy return, or None. Between equals (several
    trials at CartPole's 500) the one whose evaluation curve lies higher wins, the one that
    learned sooner; then the earlier trial."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None

    def rank(trial) -> tuple[float, float, int]:
        curve = list(trial.intermediate_values.values())
        return (trial.value, float(np.mean(curve)) if curve else trial.value, -trial.number)

    return max(complete, key=rank)


def trial_rows(study, plan: Plan) -> list[dict[str, Any]]:
    """One row per trial of the study: number, state, score, sampled settings, time."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        hp = trial.user_attrs.get(HYPERPARAMETERS, {})
        row: dict[str, Any] = {
            "trial": trial.number,
            "state": _state_text(trial),
            "mean_eval_return": trial.value if trial.value is not None else "",
            "per_seed": ";".join(f"{v:g}" for v in trial.user_attrs.get(PER_SEED, [])),
            "pruned_at": trial.user_attrs.get(PRUNED_AT, ""),
        }
        for name in plan.space:
            row[name] = hp.get(name, trial.params.get(name, ""))
        row["wall_s"] = round(float(trial.user_attrs.get(WALL, 0.0)), 2)
        row["retry_of"] = trial.user_attrs.get(studies.RETRY_OF, "")
        row["note"] = trial.user_attrs.get(studies.FAILURE) or trial.user_attrs.get(
            studies.INTERRUPTED, ""
        )
        rows.append(row)
    return rows


def write_progress(study, plan: Plan) -> None:
    """`trials.csv`, `summary.json` and the best trial's preset, as the study stands."""
    out = plan.out
    write_file(out / "trials.csv", records_to_csv(trial_rows(study, plan)))
    best = best_trial(study)
    counts = studies.counts(study)
    summary: dict[str, Any] = {
        "env": plan.env,
        "env_kwargs": plan.env_kwargs,
        "agent": plan.agent,
        "budget": plan.budget,
        "seeds": plan.seeds,
        "trials": plan.trials,
        "counts": counts,
        "space": {name: dim.text() for name, dim in plan.space.items()},
        "fixed": plan.fixed,
        "best": None,
    }
    if best is not None:
        summary["best"] = {
            "trial": best.number,
            "mean_eval_return": best.value,
            "per_seed": best.user_attrs.get(PER_SEED, []),
            "hyperparameters": best.user_attrs.get(HYPERPARAMETERS, {}),
            "preset": preset_name(plan.agent),
        }
        source = source_line(best.number, plan.trials, best.value, plan.seeds)
        settings = best.user_attrs.get(HYPERPARAMETERS, {})
        nets = net_layer(agent_class(plan.agent), settings)
        text = preset_text(plan.env, plan.budget, plan.env_kwargs, settings, source, nets)
        write_file(out / preset_name(plan.agent), text)
    write_file(out / "summary.json", json.dumps(finite(summary), indent=2))


# ----- the report ---------------------------------------------------------------------------


def _figure(width: float = 8, height: float = 4.8):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def plot_history(study, plan: Plan, path: Path) -> None:
    """Each trial's mean greedy return (pruned ones at their last evaluation), and the best
    so far."""
    from optuna.trial import TrialState

    figure = _figure()
    axes = figure.add_subplot(1, 1, 1)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    pruned = [t for t in trials if t.state == TrialState.PRUNED and t.intermediate_values]
    if complete:
        numbers = [t.number for t in complete]
        values = [t.value for t in complete]
        axes.plot(numbers, values, "o", color="#1f77b4", label="complete: mean greedy return")
        best = np.maximum.accumulate(values)
        axes.step(numbers, best, where="post", color="#1f77b4", alpha=0.6, label="best so far")
    if pruned:
        axes.plot(
            [t.number for t in pruned],
            [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
            "x",
            color="#d62728",
            markersize=8,
            label="pruned: its last evaluation",
        )
    axes.set_xlabel("trial")
    axes.set_ylabel("greedy return")
    axes.set_title(f"{plan.agent} on {plan.env}: {len(trials)} trials")
    axes.grid(True, alpha=0.3)
    if complete or pruned:
        axes.legend(loc="best")
    figure.tight_layout()
    write_figure(figure, path)


def importances(study) -> dict[str, float]:
    """Optuna's parameter importances over the complete trials (PED-ANOVA: how differently a
    parameter is spread in the best trials than in all; deterministic). The best trials are
    the top 10%, at least 3; empty when that cannot tell the parameters apart (fewer than 4
    complete trials, or the best trials are all of them)."""
    import optuna
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 4:
        return {}
    evaluator = optuna.importance.PedAnovaImportanceEvaluator(
        target_quantile=min(0.5, max(0.1, 3 / len(complete)))
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = optuna.importance.get_param_importances(study, evaluator=evaluator)
        except (ValueError, RuntimeError, ZeroDivisionError):
            return {}
    if any("same set of trials" in str(warning.message) for warning in caught):
        return {}
    return dict(values)


def plot_importance(values: dict[str, float], plan: Plan, complete: int, path: Path) -> None:
    figure = _figure(7, max(2.4, 0.45 * len(values) + 1.4))
    axes = figure.add_subplot(1, 1, 1)
    names = list(values)[::-1]
    shares = [values[name] for name in names]
    bars = axes.barh(names, shares, color="#1f77b4")
    for bar, share in zip(bars, shares):
        axes.text(
            bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, f"{share:.2f}",
            va="center", fontsize=9,
        )  # fmt: skip
    axes.set_xlim(0, max(1.0, max(shares, default=0) + 0.12))
    axes.set_xlabel("importance (PED-ANOVA, sums to 1)")
    axes.set_title(f"which settings mattered: {complete} complete trials")
    axes.grid(True, axis="x", alpha=0.3)
    figure.tight_layout()
    write_figure(figure, path)


def seed_results(plan: Plan, number: int) -> list[dict[str, Any]]:
    """The finished seeds of Optuna trial `number`, from `trials/`."""
    results = []
    for seed in range(plan.seeds):
        path = plan.out / "trials" / f"{plan.label(number)}-seed{seed}.json"
        try:
            results.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return results


def plot_best_curve(study, plan: Plan, best, path: Path) -> None:
    """The best trial against the budget: its greedy evaluation (each seed, and their mean
    with the final score), its training return (moving average per seed), and the median
    evaluation of all complete trials for comparison."""
    from optuna.trial import TrialState

    figure = _figure()
    axes = figure.add_subplot(1, 1, 1)
    x_key = "env_steps" if plan.unit == "steps" else None
    results = seed_results(plan, best.number)
    for i, result in enumerate(results):
        records = result.get("records") or []
        if records:
            returns = smooth([float(r["return"]) for r in records], threshold_window(len(records)))
            xs = [float(r[x_key]) for r in records] if x_key else np.arange(1, len(records) + 1)
            axes.plot(
                xs, returns, color="#9aa7b4", linewidth=1,
                label="training return, moving average (each seed)" if i == 0 else None,
            )  # fmt: skip
    points = sorted(best.intermediate_values)
    xs = [*points, plan.total]
    means = [best.intermediate_values[p] for p in points] + [best.value]
    per_seed = best.user_attrs.get(PER_SEED, [])
    for i, result in enumerate(results):
        curve = {int(p["at"]): p["return"] for p in result.get("curve") or ()}
        ys = [curve.get(p, np.nan) for p in points]
        ys.append(per_seed[i] if i < len(per_seed) else np.nan)
        axes.plot(
            xs, ys, "o", color="#1f77b4", alpha=0.45, markersize=4,
            label="greedy evaluation (each seed)" if i == 0 else None,
        )  # fmt: skip
    axes.plot(xs, means, "-o", color="#1f77b4", linewidth=2.2, label="greedy evaluation, mean")
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) > 1:
        median = [
            float(np.median([t.intermediate_values.get(p, np.nan) for t in complete]))
            for p in points
        ]
        median.append(float(np.median([t.value for t in complete])))
        axes.plot(
            xs, median, "--", color="#555555", linewidth=1.4,
            label=f"median of the {len(complete)} complete trials",
        )  # fmt: skip
    axes.set_xlabel("env steps" if plan.unit == "steps" else "episode")
    axes.set_ylabel("return")
    axes.set_title(
        f"best trial {best.number} of {plan.trials}: mean greedy return {score_text(best.value)}"
        f" ({len(per_seed)} seeds)"
    )
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    figure.tight_layout()
    write_figure(figure, path)


def study_time(study) -> str:
    """`24 min 3 s`: from the start of the study's first trial to the end of its last (over
    every run that worked on it), and the seeds' own training time summed."""
    trials = study.get_trials(deepcopy=False)
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    if not starts or not ends:
        return "no time yet"
    seconds = (max(ends) - min(starts)).total_seconds()
    busy = sum(float(t.user_attrs.get(WALL, 0.0)) for t in trials)
    return f"{duration(seconds)} from its first trial to its last ({duration(busy)} of training)"


def duration(seconds: float) -> str:
    """`3 min 12 s`, `1 h 4 min`."""
    minutes, whole = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {whole} s" if minutes else f"{whole} s"


def write_report(study, plan: Plan, command: str) -> None:
    """`report.md` and its three plots (the plots that have something to show)."""
    out = plan.out
    counts = studies.counts(study)
    best = best_trial(study)
    rows = trial_rows(study, plan)
    plot_history(study, plan, out / "history.png")
    values = importances(study)
    if values:
        plot_importance(values, plan, counts["complete"], out / "importance.png")
    else:
        (out / "importance.png").unlink(missing_ok=True)
    if best is not None:
        plot_best_curve(study, plan, best, out / "best_curve.png")
    else:
        (out / "best_curve.png").unlink(missing_ok=True)

    unit = plan.unit
    points = ", ".join(f"{p:,}" for p in plan.points) or "none"
    lines = [
        f"# tune: {plan.agent} on {plan.env}",
        "",
        f"`{command}`",
        "",
        f"{counts['done']} of {plan.trials} trials ({counts['complete']} complete, "
        f"{counts['pruned']} pruned, {counts['failed']} failed; {counts['interrupted']} "
        f"interrupted and rerun), {plan.seeds} seeds each, {plan.total:,} {unit} per seed; "
        f"{study_time(study)}. TPE sampler (seed {plan.seed}, {plan.startup_trials} random "
        f"trials first); pruner: {plan.pruner}, on the mean greedy return of the seeds at "
        f"{points} {unit} ({plan.eval_episodes} episodes each); a trial's score is its seeds' "
        f"mean greedy return after training ({plan.eval_episodes} episodes per seed).",
        "",
    ]
    if best is not None:
        name = preset_name(plan.agent)
        lines += [
            f"## Best: trial {best.number}, mean greedy return {score_text(best.value)}",
            "",
            f"The preset `{name}`:",
            "",
            "```yaml",
            (out / name).read_text(encoding="utf-8").rstrip(),
            "```",
            "",
            "Train with it:",
            "",
            "```bash",
            f"lecture-rl train --env {plan.env} --agent {plan.agent} --preset {out / name}",
            "```",
            "",
            "![the best trial's curve](best_curve.png)",
            "",
        ]
    else:
        lines += ["## No trial completed", "", "Nothing to write as a preset yet.", ""]
    lines += ["## Which settings mattered", ""]
    if values:
        lines += ["![parameter importances](importance.png)", ""]
    else:
        lines += [
            "Not measured: it needs at least 4 complete trials whose best ones stand apart.",
            "",
        ]
    lines += ["## Trials", "", "![each trial's score](history.png)", ""]
    headers = ["trial", "state", "mean eval return", *plan.space, "wall s", "note"]
    lines.append("| " + " | ".join(headers) + " |")
    aligns = ["---:", "---", "---:", *("---:" for _ in plan.space), "---:", "---"]
    lines.append("|" + "|".join(aligns) + "|")
    for row in rows:
        value = row["mean_eval_return"]
        if row["state"] == "pruned":
            value = f"pruned at {row['pruned_at']:,}" if row["pruned_at"] != "" else "pruned"
        elif value != "":
            value = score_text(float(value))
        note = str(row["note"])
        if row["retry_of"] != "":
            note = f"rerun of trial {row['retry_of']}" + (f"; {note}" if note else "")
        cells = [row["trial"], row["state"], value, *(row[name] for name in plan.space)]
        cells += [row["wall_s"], note.replace("|", "/")]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    write_file(out / "report.md", "\n".join(lines) + "\n")
