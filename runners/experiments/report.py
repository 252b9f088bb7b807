"""The report every experiment writes: `report.md`, a self-contained `report.html`,
`numbers.json`, the PNGs; and the index of a run of several experiments.

Description:
    A [`Report`][lecture_rl.runners.experiments.report.Report] collects text, tables and figures in
    order, then [`Report.write`][lecture_rl.runners.experiments.report.Report.write] writes them
    with the claim, the verdict line and the settings to rerun. The HTML embeds every image as
    base64, so the one file can be mailed or opened anywhere. Every file is written atomically with
    the user's umask.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lecture_rl.agents.stats import t_975
from lecture_rl.runners.result_files import finite, write_file


@dataclass(frozen=True)
class Verdict:
    """Whether the claim held in this run, with the numbers that decided it."""

    held: bool
    text: str

    @property
    def line(self) -> str:
        return f"{'HELD' if self.held else 'NOT HELD'}: {self.text}"


@dataclass
class Report:
    """Sections of one experiment's report, in the order they were added."""

    name: str
    claim: str
    cites: str
    rerun: str
    settings: dict[str, Any]
    parts: list[tuple[str, Any]] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)

    def text(self, text: str) -> None:
        self.parts.append(("text", text))

    def table(self, headers: list[str], rows: list[list[Any]], caption: str = "") -> None:
        self.parts.append(("table", (headers, [[cell(v) for v in row] for row in rows], caption)))

    def figure(self, fig: Any, name: str, caption: str) -> None:
        """Save a matplotlib figure as `name` (PNG) and show it here."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        self.images[name] = buffer.getvalue()
        self.parts.append(("figure", (name, caption)))

    def write(self, out: Path, verdict: Verdict, numbers: dict[str, Any]) -> Path:
        """Write the report folder; returns the path of `report.md`."""
        out.mkdir(parents=True, exist_ok=True)
        for name, data in self.images.items():
            write_file(out / name, data)
        write_file(out / "report.md", self.markdown(verdict))
        write_file(out / "report.html", self.html(verdict))
        record = {
            "experiment": self.name,
            "claim": self.claim,
            "held": verdict.held,
            "verdict": verdict.line,
            "settings": self.settings,
            "numbers": numbers,
        }
        write_file(out / "numbers.json", json.dumps(finite(to_plain(record)), indent=2))
        return out / "report.md"

    def markdown(self, verdict: Verdict) -> str:
        lines = [
            f"# Experiment `{self.name}`",
            "",
            f"**Claim.** {self.claim} ({self.cites})",
            "",
            f"**Verdict.** {verdict.line}",
            "",
        ]
        for kind, value in self.parts:
            if kind == "text":
                lines += [value, ""]
            elif kind == "table":
                headers, rows, caption = value
                if caption:
                    lines += [f"*{caption}*", ""]
                lines.append("| " + " | ".join(headers) + " |")
                lines.append("|" + "---|" * len(headers))
                lines += ["| " + " | ".join(row) + " |" for row in rows]
                lines.append("")
            else:
                name, caption = value
                lines += [f"![{caption}]({name})", "", f"*{caption}*", ""]
        lines += [
            "## Settings",
            "",
            "Rerun:",
            "",
            "```",
            self.rerun,
            "```",
            "",
            "```json",
            json.dumps(to_plain(self.settings), indent=2),
            "```",
            "",
        ]
        return "\n".join(lines)

    def html(self, verdict: Verdict) -> str:
        e = html.escape
        colour = "#1a7f37" if verdict.held else "#b42318"
        body = [
            f"<h1>Experiment <code>{e(self.name)}</code></h1>",
            f"<p><b>Claim.</b> {e(self.claim)} ({e(self.cites)})</p>",
            f'<p style="color:{colour}"><b>Verdict.</b> {e(verdict.line)}</p>',
        ]
        for kind, value in self.parts:
            if kind == "text":
                body.append(f"<p>{e(value)}</p>")
            elif kind == "table":
                headers, rows, caption = value
                cells = "".join(f"<th>{e(h)}</th>" for h in headers)
                trs = "".join(
                    "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows
                )
                body.append(f"<table><caption>{e(caption)}</caption><tr>{cells}</tr>{trs}</table>")
            else:
                name, caption = value
                data = base64.b64encode(self.images[name]).decode("ascii")
                body.append(
                    f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{e(caption)}</figcaption></figure>"
                )
        body += [
            "<h2>Settings</h2>",
            f"<pre>{e(self.rerun)}</pre>",
            f"<pre>{e(json.dumps(to_plain(self.settings), indent=2))}</pre>",
        ]
        return page(f"Experiment {self.name}", "\n".join(body))


STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
    "padding:.25em .6em;text-align:right}caption{font-style:italic;text-align:left}"
    "img{max-width:100%}pre{background:#f4f4f4;padding:.5em;overflow-x:auto}"
)


def page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def cell(value: Any) -> str:
    """A table cell: floats with 3 significant digits (or scientific when tiny)."""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return "—"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


#: the files every experiment writes into its report folder, and `experiment all`'s index
REPORT_FILES = ("report.md", "report.html", "numbers.json")
INDEX_FILES = ("index.md", "index.html")


def write_index(out: Path, entries: list[dict[str, Any]], wall: float) -> None:
    """`index.md` and `index.html`: each experiment, its verdict, its time, a link."""
    held = sum(1 for entry in entries if entry["held"])
    lines = [
        "# Experiments",
        "",
        f"{held} of {len(entries)} claims held in this run ({wall:.0f} s in all).",
        "",
        "| experiment | claim | verdict | time |",
        "|---|---|---|---|",
    ]
    rows = []
    for entry in entries:
        link = f"{entry['name']}/report.md"
        lines.append(
            f"| [{entry['name']}]({link}) | {entry['claim']} | {entry['verdict']} | "
            f"{entry['seconds']:.0f} s |"
        )
        colour = "#1a7f37" if entry["held"] else "#b42318"
        rows.append(
            f'<tr><td><a href="{html.escape(entry["name"])}/report.html">'
            f"{html.escape(entry['name'])}</a></td><td>{html.escape(entry['claim'])}</td>"
            f'<td style="color:{colour};text-align:left">{html.escape(entry["verdict"])}</td>'
            f"<td>{entry['seconds']:.0f} s</td></tr>"
        )
    write_file(out / "index.md", "\n".join(lines) + "\n")
    body = (
        f"<h1>Experiments</h1><p>{held} of {len(entries)} claims held in this run "
        f"({wall:.0f} s in all).</p><table><tr><th>experiment</th><th>claim</th>"
        f"<th>verdict</th><th>time</th></tr>{''.join(rows)}</table>"
    )
    write_file(out / "index.html", page("Experiments", body))


def band(ax: Any, x: Any, rows: Any, label: str, **style: Any) -> None:
    """Mean over the rows (seeds) with its Student-t 95% confidence band."""
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    n = np.sum(np.isfinite(rows), axis=0)
    mean = np.nanmean(rows, axis=0)
    line = ax.plot(x, mean, label=label, **style)[0]
    if rows.shape[0] > 1:
        sem = np.nanstd(rows, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1))
        half = t_975(np.maximum(n - 1, 1)) * sem
        ax.fill_between(x, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)


def label_axes(ax: Any, xlabel: str, ylabel: str, title: str, **legend: Any) -> None:
    """The experiments' plot style: axis labels, the title, a light grid and the legend (with
    `legend` as its keywords)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(**legend)


def figure(width: float = 7.0, height: float = 4.2, cols: int = 1):
    """A matplotlib figure without pyplot's global state (safe in any backend)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, cols)
    return fig, axes
