"""What a rerun of `compare` finds in its `--out`: finished trials to keep, and files it must
not trust.

Description:
    A trial file is kept only when it is complete JSON, was made by this very trial (its
    `trial_hash`), finished without an error and still holds the numbers `compare` wrote
    (its `checksum`). Any other trial file is run again; one that was damaged or changed is
    first moved aside as `NAME.json.rejected` and named in one line, so nothing a user edited
    is lost and nothing foreign is mixed into the results. `results.csv` is rebuilt from the
    trials at the end of every run; a copy that differs from the one `compare` wrote (its
    SHA-256 is in `summary.json`'s `"files"`) is moved aside the same way first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from lecture_rl.runners.compare.settings import RESULT_KEYS
from lecture_rl.runners.compare.trials import Trial, result_checksum, trial_hash

#: what a file `compare` will not trust is renamed to (beside the original name)
REJECTED_SUFFIX = ".rejected"


def first_difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """`"hyperparameters: {...} there, {...} here"` for the first result-determining key that
    differs between two configs, else None."""
    for key in RESULT_KEYS:
        if old.get(key) != new.get(key):
            return f"{key}: {json.dumps(old.get(key))} there, {json.dumps(new.get(key))} here"
    return None


def load_finished(
    out_dir: Path, trials: list[Trial], rejected: dict[Path, str] | None = None
) -> dict[tuple[str, int], dict[str, Any]]:
    """The trials `out_dir/trials/` already holds finished, unchanged, with the same hash.

    Every other trial file runs again (never executed: plain JSON). Those that are damaged,
    changed or another run's are added to `rejected` (path: why), for `reject` to move
    aside and name; a trial that failed is simply run again."""
    finished = {}
    for trial in trials:
        path = out_dir / "trials" / trial.file_name
        if not path.exists():
            continue
        result, problem = _read_trial(path, trial)
        if problem is not None:
            if rejected is not None:
                rejected[path] = problem
        elif result is not None and not result.get("error"):
            finished[trial.key] = result
    return finished


def reject(rejected: dict[Path, str]) -> list[str]:
    """Move the `rejected` trial files aside (`NAME.json.rejected`); one line per cause,
    naming the files."""
    causes: dict[str, list[str]] = {}
    for path, why in sorted(rejected.items()):
        _move_aside(path)
        causes.setdefault(why, []).append(path.name)
    return [
        f"{', '.join('trials/' + name for name in names)}: {why}; moved aside as "
        f"*{REJECTED_SUFFIX}, {'that trial runs' if len(names) == 1 else 'those trials run'} "
        "again"
        for why, names in causes.items()
    ]


def _read_trial(path: Path, trial: Trial) -> tuple[dict[str, Any] | None, str | None]:
    """The result in `path` and None, or None and why it cannot be used."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    except (UnicodeDecodeError, ValueError):
        return None, "is not complete JSON (truncated or damaged)"
    if not isinstance(result, dict) or not isinstance(result.get("records"), list):
        return None, "is not a trial result"
    if result.get("trial_hash") != trial_hash(trial):
        return None, "was made by another configuration (copied from another run?)"
    if "checksum" not in result:
        return None, "has no checksum (written by an older lecture-rl, or by hand)"
    if result.get("checksum") != result_checksum(result):
        return None, "was changed after compare wrote it (edited by hand?)"
    if not result.get("error") and not isinstance(result.get("eval"), dict):
        return None, "is not a trial result"
    return result, None


def check_results_csv(out_dir: Path) -> str | None:
    """Move aside a `results.csv` that is not the one `compare` last wrote (edited by hand,
    damaged); returns the one line that says so, else None."""
    path = out_dir / "results.csv"
    try:
        recorded = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))["files"]
        expected = recorded["results.csv"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no summary that records it: nothing to compare with
    if not path.is_file() or file_sha256(path) == expected:
        return None
    aside = _move_aside(path)
    return (
        f"{path} was changed after compare wrote it (edited by hand?); it is kept as "
        f"{aside.name} and results.csv is written again from trials/"
    )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_sha256(text: str) -> str:
    """SHA-256 of `text` as UTF-8 (what `file_sha256` gives for the file written from it)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def remove_stale(out_dir: Path, trials: list[Trial]) -> list[str]:
    """Delete trial files (and their TensorBoard folders) that are not part of this run."""
    keep = {trial.file_name for trial in trials}
    removed = []
    for path in sorted((out_dir / "trials").glob("*.json")):
        if path.name not in keep:
            path.unlink()
            shutil.rmtree(out_dir / "tb" / path.stem, ignore_errors=True)
            removed.append(path.stem)
    return removed


def _move_aside(path: Path) -> Path:
    aside = path.with_name(path.name + REJECTED_SUFFIX)
    try:
        os.replace(path, aside)
    except OSError:
        path.unlink(missing_ok=True)
    return aside
