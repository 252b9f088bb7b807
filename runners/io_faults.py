"""I/O faults during a run (a full disk, a read-only or failing file system): one line, exit 74.

Description:
    Every command lets an `OSError` from writing its files rise to the command line
    (`runners/cli.py`), which prints one line naming the file and the cause and exits with
    `EX_IOERR` (74, the `sysexits.h` code for an I/O error) instead of a traceback. The files a
    command had finished stay complete: every writer replaces files atomically
    (`result_files.write_file`, `agents.checkpoint_io.staged_folder`).

    A command says what survived and how to go on with `next_step`, which adds that advice to
    any `OSError` leaving its block:

    ```python
    with next_step(lambda: f"finished trials are kept in {out}/trials; free space and rerun"):
        run_the_trials()
    ```

    A fault inside a worker process (a `compare` trial) crosses back as `as_record` /
    `from_record`, so the driver stops the run with the same line.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from typing import Any

#: the exit code of a run stopped by an I/O error (`EX_IOERR` of `sysexits.h`)
EX_IOERR = 74

#: faults of the storage itself: they stop a whole run, not one trial
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})

_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})

_ADVICE = {
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space (the disk quota is full)",
    errno.EFBIG: "raise the file-size limit (ulimit -f) or free space",
    errno.EROFS: "make the file system writable again",
    errno.EIO: "check the disk (the system reported a hardware or network I/O error)",
}


#: SQLite's words for the same faults (an Optuna study, through SQLAlchemy, raises these)
_SQLITE_FAULTS = {
    "database or disk is full": errno.ENOSPC,
    "disk i/o error": errno.EIO,
    "attempt to write a readonly database": errno.EROFS,
}


def storage_fault(exc: BaseException) -> OSError | None:
    """The I/O fault behind `exc`, or None: `exc` itself when it is an `OSError`, else a
    storage fault (`STORAGE_ERRNOS`) it was raised from (`raise ... from`, a database
    driver's `orig`), or SQLite's "database or disk is full" as the `OSError` it means."""
    if isinstance(exc, OSError):
        return exc
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in STORAGE_ERRNOS:
            return current
        text = str(current).lower()
        for words, number in _SQLITE_FAULTS.items():
            if words in text and type(current).__name__ == "OperationalError":
                fault = OSError(number, f"{os.strerror(number)} (SQLite: {words})")
                fault.__cause__ = exc
                return fault
        current = getattr(current, "orig", None) or current.__cause__
    return None


def is_storage_fault(exc: BaseException) -> bool:
    """True for a fault of the storage itself (a full disk, a read-only file system, EIO)."""
    fault = storage_fault(exc)
    return fault is not None and fault.errno in STORAGE_ERRNOS


@contextlib.contextmanager
def next_step(advice: str | Callable[[], str]) -> Iterator[None]:
    """Attach `advice` (what survived, how to go on; a function is called at the fault) to an
    `OSError` that leaves the block; the innermost block's advice wins."""
    try:
        yield
    except Exception as exc:
        fault = storage_fault(exc)
        if fault is not None and getattr(fault, "lecture_rl_next_step", None) is None:
            try:
                text = advice() if callable(advice) else advice
            except Exception:  # noqa: BLE001 - the advice must never hide the fault itself
                text = None
            for holder in {id(exc): exc, id(fault): fault}.values():
                holder.lecture_rl_next_step = text
        raise


def describe(exc: OSError) -> str:
    """The one line for an I/O fault: the file, the cause, and what to do next.

    ```
    cannot write runs/x/weights.safetensors: No space left on device (ENOSPC); free some
    space; the last checkpoint (120 episodes, 30,000 env steps) is kept in runs/x; continue
    with: lecture-rl train --resume runs/x
    ```
    """
    cause = exc.strerror or str(exc) or type(exc).__name__
    code = errno.errorcode.get(exc.errno, "") if exc.errno is not None else ""
    cause = f"{cause} ({code})" if code else cause
    path = exc.filename
    if path is not None and exc.filename2 is not None:
        path = f"{exc.filename} -> {exc.filename2}"
    if path is None:
        line = f"a write failed: {cause}" if exc.errno in _WRITE_ERRNOS else f"I/O error: {cause}"
    elif exc.errno in _WRITE_ERRNOS:
        line = f"cannot write {path}: {cause}"
    else:
        line = f"{path}: {cause}"
    advice = _ADVICE.get(exc.errno) if exc.errno is not None else None
    step = getattr(exc, "lecture_rl_next_step", None) or getattr(
        exc.__cause__, "lecture_rl_next_step", None
    )
    if advice:
        line += f"; {advice}"
    if step:
        line += f"; {step}"
    elif advice:
        line += " and run the command again"
    return " ".join(line.split())


def as_record(exc: OSError) -> dict[str, Any]:
    """An `OSError` as plain data, to cross a process boundary."""
    return {"errno": exc.errno, "strerror": exc.strerror, "filename": _text(exc.filename)}


def from_record(record: dict[str, Any]) -> OSError:
    """The `OSError` that `as_record` described."""
    number = record.get("errno")
    text = record.get("strerror") or "I/O error"
    if record.get("filename") is not None:
        return OSError(number, text, record["filename"])
    return OSError(number, text)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
