"""Learning-curve plots: mean across seeds with a shaded 95% confidence band per agent.

Description:
    Uses matplotlib's object-oriented API on the Agg canvas, so it works headless and never
    depends on (or changes) the pyplot backend. Files are written atomically.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from lecture_rl.agents.stats import t_975
from lecture_rl.runners.result_files import write_figure


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average: `out[i] = mean(values[max(0, i-window+1) : i+1])`."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or values.size == 0:
        return values
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(0, idx - window)
    return (cumsum[idx] - cumsum[lo]) / (idx - lo)


def mean_band(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise mean and Student-t 95% band of `rows` (seeds x points; NaN = missing)."""
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    count = np.sum(~np.isnan(rows), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # columns with one seed: no band
        mean = np.nanmean(np.where(count > 0, rows, 0.0), axis=0)
        mean = np.where(count > 0, mean, np.nan)
        std = np.nanstd(rows, axis=0, ddof=1) if rows.shape[0] > 1 else np.zeros(rows.shape[1])
        t = np.where(count > 1, t_975(np.maximum(count - 1, 1)), 0.0)
        half = np.where(count > 1, t * std / np.sqrt(np.maximum(count, 1)), 0.0)
    return mean, mean - half, mean + half


def _focus_y(axes, values: np.ndarray) -> None:
    """Keep a few very poor early episodes (e.g. -2000 on the cliff) from flattening the rest."""
    if values.size < 20:
        return
    low, high = float(np.percentile(values, 5)), float(values.max())
    if high > low and high - float(values.min()) > 3 * (high - low):
        margin = 0.15 * (high - low)
        axes.set_ylim(low - margin, high + margin)


def plot_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    *,
    x_label: str,
    y_label: str,
    title: str,
    threshold: float | None = None,
) -> Path:
    """Write `curves.png`: for each agent, `(x, rows)` with rows = seeds x len(x)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    means = []
    for name, (x, rows) in curves.items():
        if len(x) == 0:
            continue
        mean, low, high = mean_band(rows)
        means.append(mean[np.isfinite(mean)])
        n = np.atleast_2d(rows).shape[0]
        (line,) = axes.plot(x, mean, label=f"{name} (n={n})", linewidth=1.6)
        axes.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if threshold is not None and math.isfinite(threshold):
        axes.axhline(threshold, color="grey", linestyle="--", linewidth=1, label="threshold")
    _focus_y(axes, np.concatenate(means) if means else np.array([]))
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    figure.tight_layout()

    path = Path(path)
    write_figure(figure, path)
    return path
