"""Helpers shared by the runner commands (train, evaluate, compare, watch).

Description:
    Building agents from names and ``--set`` values (misuse becomes :class:`UsageError`),
    resolving a training budget, greedy evaluation on fresh seeds, and CSV / checkpoint
    metadata writing. The command modules import from here, never from each other.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from lecture_rl import agents
from lecture_rl.agents.base import Agent
from lecture_rl.agents.checkpoint_io import METADATA_FILE, atomic_write_text, read_metadata
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.settings import UsageError, safe_name

#: first evaluation seed; training seeds are small numbers, so evaluation seeds never meet them
EVAL_SEED_BASE = 1_000_000
#: greedy episodes are cut here when the env sets no limit of its own (a looping policy)
DEFAULT_EVAL_STEP_CAP = 1_000


def finite(value: Any) -> Any:
    """``value`` for strict JSON: NaN and infinities become ``None`` (``null``), numpy scalars
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


def agent_class(name: str) -> type[Agent]:
    """The agent class for ``name``; unknown or unavailable names become a UsageError."""
    try:
        return agents.agent_class(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0]) if exc.args else f"unknown agent '{name}'") from exc
    except ImportError as exc:
        raise UsageError(
            f"agent '{name}' is unavailable here ({exc}); run 'lecture-rl agents' to see "
            "which agents can run"
        ) from exc


def check_device(device: str | None) -> None:
    """``--device cuda`` on a machine without CUDA is a usage error."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError(
                "--device cuda: CUDA is not available on this machine; use --device cpu or auto"
            )


def build_agent(
    name: str,
    env: gym.Env,
    *,
    seed: int | None,
    hyperparameters: dict[str, Any],
    device: str | None = None,
) -> Agent:
    """``agents.make`` with ``device`` passed only to agents that take it; errors -> UsageError."""
    cls = agent_class(name)
    hp = dict(hyperparameters)
    if device is not None and "device" in cls.defaults:
        hp.setdefault("device", device)
    try:
        return cls(env, seed=seed, **hp)
    except KeyError as exc:
        raise UsageError(f"agent '{name}': {exc.args[0] if exc.args else exc}") from exc
    except (ValueError, gym.error.Error) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if name not in message:
            message = f"agent '{name}': {message}"
        raise UsageError(message) from exc


def resolve_budget(cls: type[Agent], episodes: int | None, steps: int | None) -> dict[str, int]:
    """``{"episodes": N}`` or ``{"steps": N}`` from the flags, else the agent's default."""
    if episodes is not None and steps is not None:
        raise UsageError("give either --episodes or --steps, not both")
    for flag, value in (("--episodes", episodes), ("--steps", steps)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if episodes is not None:
        return {"episodes": int(episodes)}
    if steps is not None:
        return {"steps": int(steps)}
    budget = dict(getattr(cls, "default_budget", None) or {"episodes": 500})
    return {key: int(value) for key, value in budget.items() if key in ("episodes", "steps")}


def eval_step_cap(env: gym.Env) -> int:
    """Greedy episodes stop here: the env's own limit, else :data:`DEFAULT_EVAL_STEP_CAP`."""
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None)
    return int(limit) if limit else DEFAULT_EVAL_STEP_CAP


def greedy_evaluation(
    agent: Agent, env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int
) -> dict[str, Any]:
    """Greedy returns of ``agent`` on a fresh env, episodes seeded ``seed, seed+1, ...``."""
    env = make_env(env_id, env_kwargs)
    try:
        return agent.evaluate(env, episodes, seed=seed, max_episode_steps=eval_step_cap(env))
    finally:
        env.close()


def last_fraction_mean(records: list[dict[str, Any]], key: str = "return", frac=0.1) -> float:
    """Mean of ``key`` over the last ``frac`` of the episodes (at least one episode)."""
    values = [float(r[key]) for r in records if key in r]
    if not values:
        return math.nan
    count = max(1, int(math.ceil(len(values) * frac)))
    return float(np.mean(values[-count:]))


def records_to_csv(records: list[dict[str, Any]], lead: list[str] | None = None) -> str:
    """CSV text with the ``lead`` columns first, then every other key seen, in order."""
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
    """Add keys to a checkpoint's ``agent.json`` (atomically)."""
    meta = read_metadata(folder)
    meta.update(extra)
    atomic_write_text(folder / METADATA_FILE, json.dumps(meta, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray,)):
        return value.tolist()
    return str(value)


def default_out_dir(env_id: str, agent: str, seed: int) -> Path:
    """``runs/<env>-<agent>-<seed>`` with unsafe characters replaced."""
    return Path("runs") / safe_name(f"{env_id}-{agent}-{seed}")


#: networks with more parameters than this get more than one torch thread by default
MANY_PARAMETERS = 1_000_000


def parameter_count(agent: Any) -> int:
    """Parameters of the torch modules an agent holds as attributes (0 for tabular agents)."""
    if "torch" not in sys.modules:
        return 0
    import torch

    seen: set[int] = set()
    total = 0
    for value in vars(agent).values():
        if isinstance(value, torch.nn.Module):
            for parameter in value.parameters():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    total += parameter.numel()
    return total


def default_threads(agent: Any) -> int:
    """Torch threads for ``agent`` when ``--threads`` is not given: one for small networks
    (thread hand-offs cost more than the tiny matrix products save; on a busy 2-core machine
    torch's default ran PPO-LSTM 30x slower), up to 4 for networks above
    :data:`MANY_PARAMETERS`."""
    if parameter_count(agent) > MANY_PARAMETERS:
        return max(1, min(4, os.cpu_count() or 1))
    return 1


def check_threads(threads: int | None) -> None:
    """``--threads`` must be at least 1."""
    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")


class TorchThreads:
    """Context manager: run a block with a torch thread count and restore torch's after.

    ``apply(agent)`` sets the count (``None``: :func:`default_threads` for the agent); it does
    nothing if torch was never imported (tabular agents do not load it)."""

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._old: int | None = None

    def __enter__(self) -> TorchThreads:
        return self

    def apply(self, agent: Any = None) -> None:
        if "torch" not in sys.modules:
            return
        import torch

        count = self.threads if self.threads is not None else default_threads(agent)
        if self._old is None:
            self._old = torch.get_num_threads()
        torch.set_num_threads(count)

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            import torch

            torch.set_num_threads(self._old)


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file(path: Path, data: str | bytes) -> None:
    """Write ``path`` atomically (temporary file in the same folder, then rename) with the
    permissions a plain ``open`` would give (``0o666`` less the umask; ``mkstemp`` alone makes
    ``0o600``, which hides a student's results from a teaching assistant)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(raw)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def train_agent(agent: Agent, env: gym.Env, callbacks: list, **budget: int) -> Any:
    """``agent.train(env, callbacks=..., **budget)``; an agent written before the event stream
    (its ``train`` takes only the per-episode ``callback=``) gets the episode ends through it."""
    import inspect

    from lecture_rl.agents.events import EpisodeEnd, EventStream

    parameters = inspect.signature(agent.train).parameters
    takes_callbacks = "callbacks" in parameters or any(
        p.kind is p.VAR_KEYWORD for p in parameters.values()
    )
    if takes_callbacks:
        return agent.train(env, callbacks=callbacks, **budget)
    stream = EventStream([c for c in callbacks if EpisodeEnd in c.events])
    stream.start(agent, budget)
    result = None
    try:
        result = agent.train(env, callback=lambda record: stream.emit(EpisodeEnd(record)), **budget)
    finally:
        stream.end(result)
    return result
