"""Checkpoint files: atomic writes, arrays (npz), weights (safetensors), JSON metadata.

Description:
    Everything an agent writes to disk goes through `atomic_write`: a temporary file in
    the same folder, then `os.replace`, so a reader (or a crash) sees the old file or the new
    one, never half of one. Files get the permissions of an ordinary `open()` (0666 less the
    user's umask), so a teaching assistant can read a student's `runs/`.

    Nothing is ever unpickled: metadata is JSON, arrays load with `allow_pickle=False` and
    weights with safetensors.

Checkpoint folder:
    `agent.json`           metadata: agent name, hyperparameters, seed, env id and keywords,
                             observation and action spaces, lecture-rl version.
    `arrays.npz`           tabular agents' tables.
    `weights.safetensors`  deep agents' weights.

    A save is all or nothing: `staged_folder` writes the files into a staging folder inside the
    checkpoint and moves them in only when every one was written (`agent.json` last), so a
    full disk or a crash during a save leaves the last good checkpoint as it was. `agent.json`
    lists the size and SHA-256 of every file it goes with (`"files"`); `check_files` finds a
    file that was truncated, edited or copied in from another checkpoint.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import gymnasium as gym
import numpy as np

CHECKPOINT_FORMAT = 1
METADATA_FILE = "agent.json"
ARRAYS_FILE = "arrays.npz"
WEIGHTS_FILE = "weights.safetensors"
#: `agent.json`'s list of the files it goes with: `{name: {"bytes": n, "sha256": hex}}`
FILES_KEY = "files"
#: the staging folder a save writes into before its files move into place
STAGING_PREFIX = ".saving-"


class CheckpointError(ValueError):
    """A checkpoint folder is missing, corrupt, or does not fit the env it is used on."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write `path` through `write(handle)` on a temporary file and an atomic rename.

    The data reaches the disk (`fsync`) before the rename, so after a crash or a full disk the
    path holds the old file or the new one, never half of one. An `OSError` names `path`
    itself (not the temporary file), so the one line a user sees is the file they know."""
    path = Path(path)
    for attempt in range(3):  # the folder (or the temporary file) removed under us: again
        try:
            _write_and_rename(path, write)
        except FileNotFoundError:
            if attempt == 2:
                raise
        else:
            break
    return path


@contextlib.contextmanager
def staged_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Write a set of files into `folder` as one: all of them, or none.

    Yields a staging folder inside `folder`; when the block ends without an error, every
    file written there moves into `folder` (`agent.json` last, so a reader that finds the
    new metadata finds its files); on an error (a full disk, a read-only file system) nothing
    in `folder` has changed. A staging folder left by a killed process is removed by the next
    save. Sub-folders of the staging folder are not moved.

    ```python
    with staged_folder("runs/q") as staging:
        atomic_save_npz(staging / ARRAYS_FILE, q=table)
        write_metadata(staging, meta)
    ```
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for left in folder.glob(STAGING_PREFIX + "*"):  # a save killed half-way
        shutil.rmtree(left, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
    made = staging.stat().st_ino
    try:
        yield staging
        if not staging.is_dir() or staging.stat().st_ino != made:  # removed meanwhile
            raise FileNotFoundError(errno.ENOENT, "removed during the save", str(folder))
        names = sorted(p.name for p in staging.iterdir() if p.is_file())
        _check_complete(staging, names)
        names.sort(key=lambda name: name == METADATA_FILE)  # the metadata last
        for name in names:
            os.replace(staging / name, folder / name)
    except OSError as exc:
        if exc.filename and str(exc.filename).startswith(str(staging)):
            exc.filename = str(folder / Path(exc.filename).relative_to(staging))
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_complete(staging: Path, names: list[str]) -> None:
    """Every file the staged `agent.json` lists is there (none removed meanwhile)."""
    if METADATA_FILE not in names:
        return
    listed = json.loads((staging / METADATA_FILE).read_text(encoding="utf-8")).get(FILES_KEY)
    missing = sorted(set(listed or ()) - set(names))
    if missing:
        raise FileNotFoundError(errno.ENOENT, "removed during the save", str(staging / missing[0]))


def file_manifest(folder: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """`{name: {"bytes": n, "sha256": hex}}` of the files in `folder` (not `agent.json`)."""
    manifest = {}
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and path.name != METADATA_FILE:
            manifest[path.name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    return manifest


def check_files(folder: str | os.PathLike, meta: dict[str, Any]) -> None:
    """Raise `CheckpointError` when a file listed in `agent.json`'s `"files"` is missing or
    is not the one saved with it (truncated, edited, copied from another checkpoint).
    Checkpoints written before the list existed are not checked."""
    folder = Path(folder)
    listed = meta.get(FILES_KEY)
    if not isinstance(listed, dict):
        return
    for name, expected in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"checkpoint {folder} has no {name} (agent.json lists it)")
        if not isinstance(expected, dict):
            continue
        if path.stat().st_size != expected.get("bytes") or _sha256(path) != expected.get("sha256"):
            raise CheckpointError(
                f"checkpoint file {path} is corrupt: not the one saved with its agent.json "
                "(truncated, edited, or copied from another checkpoint); use a complete "
                "checkpoint folder, or train again"
            )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_and_rename(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """One attempt of `atomic_write`: a temporary file beside `path`, synced, renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; honour the user's umask
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename in (None, tmp):
            exc.filename = str(path)
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) so that readers see the old file or the new one, never half."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """`np.savez` through a temporary file and an atomic rename."""
    return atomic_write(path, lambda handle: np.savez(handle, **arrays))


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load arrays saved by `atomic_save_npz` without ever unpickling."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint file {path} is missing") from exc
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"checkpoint file {path} is corrupt: {exc}") from exc


def save_tensors(
    path: str | os.PathLike, tensors: dict[str, Any], metadata: dict[str, str]
) -> Path:
    """Write `{name: tensor}` as safetensors, atomically."""
    from safetensors.torch import save

    data = save(tensors, metadata=metadata)
    return atomic_write(path, lambda handle: handle.write(data))


def load_tensors(path: str | os.PathLike) -> dict[str, Any]:
    """Read a safetensors file onto the CPU; a missing or corrupt file is a CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path.parent} has no {path.name}")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint file {path} is corrupt: {exc}") from exc


# ----- spaces and env identity --------------------------------------------------------------


def space_to_json(space: gym.Space) -> dict[str, Any]:
    """A JSON description of a space, precise enough to check that two spaces fit."""
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        low, high = np.asarray(space.low), np.asarray(space.high)
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": float(low.min()) if low.size else 0.0,
            "high": float(high.max()) if high.size else 0.0,
        }
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).tolist()}
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    return {"type": type(space).__name__, "repr": repr(space)}


def describe_space(saved: dict[str, Any]) -> str:
    """A short text for a space saved by `space_to_json` (`Discrete(2)`, `Box(...)`)."""
    kind = saved.get("type", "?")
    if kind == "Discrete":
        start = saved.get("start", 0)
        return f"Discrete({saved['n']})" if not start else f"Discrete({saved['n']}, start={start})"
    if kind == "Box":
        return f"Box(shape={tuple(saved['shape'])}, dtype={saved['dtype']})"
    return json.dumps(saved)


def check_spaces_fit(
    trained_on: str | None,
    observation: dict[str, Any] | None,
    action: dict[str, Any] | None,
    env: gym.Env,
) -> None:
    """Raise `CheckpointError` when `env`'s spaces differ from the recorded ones
    (a space not recorded, `None`, is not checked)."""
    for label, mine, theirs in (
        ("observation", observation, env.observation_space),
        ("action", action, env.action_space),
    ):
        if mine is not None and mine != space_to_json(theirs):
            raise CheckpointError(
                f"the agent was trained on {trained_on or 'another env'} with {label} space "
                f"{describe_space(mine)}, but this env has {theirs}; evaluate on an env with the "
                "same spaces"
            )


def env_identity(env: gym.Env) -> tuple[str | None, dict[str, Any]]:
    """The registered id and JSON-serialisable keywords an env was made with (no render mode)."""
    spec = getattr(env, "spec", None) or getattr(getattr(env, "unwrapped", env), "spec", None)
    if spec is None:
        return None, {}
    kwargs = {}
    for key, value in (spec.kwargs or {}).items():
        if key == "render_mode":
            continue
        try:
            json.dumps(value)
        except TypeError:
            continue
        kwargs[key] = value
    return spec.id, kwargs


# ----- metadata -----------------------------------------------------------------------------


def write_metadata(folder: Path, meta: dict[str, Any]) -> Path:
    """Write `agent.json` atomically."""
    return atomic_write_text(
        folder / METADATA_FILE, json.dumps(meta, indent=2, default=json_default)
    )


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read and sanity-check `agent.json` of a checkpoint folder."""
    folder = Path(path)
    meta_path = folder / METADATA_FILE
    if not folder.exists():
        raise CheckpointError(f"checkpoint {folder} does not exist")
    if not meta_path.is_file():
        raise CheckpointError(
            f"checkpoint {folder} has no {METADATA_FILE}; is it a checkpoint folder?"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {meta_path} is corrupt: {exc}") from exc
    if not isinstance(meta, dict) or "agent" not in meta:
        raise CheckpointError(f"checkpoint {meta_path} is corrupt: no 'agent' entry")
    return meta


def json_default(value: Any) -> Any:
    """`json.dumps(default=...)` for numpy scalars and arrays and paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
