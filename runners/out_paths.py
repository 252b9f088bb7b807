"""What may be in the way of an output path: one check for every command that writes files.

Description:
    Every output flag (`train --out`, `compare --out`, `experiment --out`,
    `inspect --out`, `vanishing-gradient --out`, `watch --record`) is checked here before
    any work, so that what is in the way is one line on stderr and exit code 2
    (`UsageError`), never a traceback after training:

    * `check_out_dir` — a folder the command creates or fills: no file at its place or at
      a folder above it, writable, and no file where the command keeps a folder (or a folder
      where it writes a file) inside it.
    * `check_out_file` — a file the command writes: not a folder, not under a file, in a
      folder we may write.
    * `make_out_dir` — create the folder; a system that refuses is the same one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from lecture_rl.runners.settings import UsageError


def _check_place(path: Path, flag: str, what: str) -> None:
    """`path` and the folders above it: the first that exists must be a writable folder."""
    for parent in (path, *path.parents):
        if not parent.exists():
            continue
        if parent == path:
            if what == "folder" and not parent.is_dir():
                raise UsageError(f"{flag} {path} is a file, not a folder; choose another {flag}")
            if what == "file" and parent.is_dir():
                raise UsageError(
                    f"{flag} {path} is a folder, not a file; name a file, e.g. "
                    f"{flag} {path / 'out'}{path.suffix or ''}"
                )
            if what == "file":
                continue  # an existing file is replaced; its folder must be writable
        elif not parent.is_dir():
            raise UsageError(
                f"{flag} {path} lies under {parent}, which is a file, not a folder; "
                f"choose another {flag}"
            )
        if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(
                f"{flag} {path}: cannot write in {parent} (permission denied); "
                f"choose another {flag}"
            )
        return


def check_out_dir(
    out_dir: Path,
    *,
    command: str,
    flag: str = "--out",
    folders: Iterable[str] = (),
    files: Iterable[str] = (),
) -> None:
    """`out_dir` must be a folder `command` can create and write, with no file named like
    one of its `folders` and no folder named like one of its `files` inside (one line,
    exit 2, otherwise)."""
    out_dir = Path(out_dir)
    _check_place(out_dir, flag, "folder")
    if not out_dir.is_dir():
        return
    for name in folders:
        if (out_dir / name).exists() and not (out_dir / name).is_dir():
            raise UsageError(
                f"{flag} {out_dir} holds a file named {name} where {command} keeps a folder; "
                f"move it or choose another {flag}"
            )
    for name in files:
        if (out_dir / name).is_dir():
            raise UsageError(
                f"{flag} {out_dir} holds a folder named {name} where {command} writes a file; "
                f"move it or choose another {flag}"
            )


def check_out_file(path: Path, *, flag: str) -> None:
    """`path` must be a file we can write: not a folder, not under a file, in a writable
    folder (one line, exit 2, otherwise)."""
    _check_place(Path(path), flag, "file")


def make_out_dir(out_dir: Path, *inside: str, flag: str = "--out") -> None:
    """Create `out_dir` and the folders `inside` it (one line, exit 2, if the system
    refuses)."""
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for name in inside:
            (Path(out_dir) / name).mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{flag} {out_dir}: cannot create it ({exc.strerror or exc}); choose another {flag}"
        ) from exc
