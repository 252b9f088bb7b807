"""Writing result files: atomically, with the user's umask, in strict JSON and plain CSV.

Description:
    Every file a command writes goes through `write_file` (a temporary file in the same folder,
    then a rename), so a crash or a full disk never leaves half a file where a complete one was.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from lecture_rl.agents.checkpoint_io import (
    METADATA_FILE,
    atomic_write,
    atomic_write_text,
    read_metadata,
)


def finite(value: Any) -> Any:
    """`value` for strict JSON: NaN and infinities become `None` (`null`), numpy scalars
    plain numbers, through dicts, lists and tuples."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, np.generic) or (hasattr(value, "item") and np.ndim(value) == 0):
        return finite(value.item())
    return value


def records_to_csv(records: list[dict[str, Any]], lead: list[str] | None = None) -> str:
    """CSV text with the `lead` columns first, then every other key seen, in order."""
    columns = list(lead or [])
    seen = set(columns)
    for record in records:
        for key in record:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_csv_value(record.get(key, "")) for key in columns] for record in records)
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if type(value) in (int, str, float):  # the common case: csv writes floats with repr
        return value
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def annotate_checkpoint(folder: Path, **extra: Any) -> None:
    """Add keys to a checkpoint's `agent.json` (atomically)."""
    meta = read_metadata(folder)
    meta.update(extra)
    atomic_write_text(folder / METADATA_FILE, json.dumps(meta, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray,)):
        return value.tolist()
    return str(value)


def write_file(path: Path, data: str | bytes) -> None:
    """Write `path` atomically (temporary file in the same folder, `fsync`, then rename) with
    the permissions a plain `open` would give (`0o666` less the umask; `mkstemp` alone
    makes `0o600`, which hides a student's results from a teaching assistant).

    The one writer of the runners' files (`agents.checkpoint_io.atomic_write` underneath, the
    agents' own): a full disk or a crash leaves the old file or the new one, and the `OSError`
    names `path`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    atomic_write(path, lambda stream: stream.write(raw))


def write_figure(figure: Any, path: Path, **savefig: Any) -> None:
    """Save a matplotlib `figure` as a PNG through `write_file` (rendered in memory first)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", **savefig)
    write_file(path, buffer.getvalue())
