"""Settings from the command line and from config files.

Description:
    `--set KEY=VALUE` and `--env-set KEY=VALUE` values parse as JSON where they can
    (`gamma=0.7` is a float, `net="lstm"` or `net=lstm` a string, `sizes=[64,64]` a list),
    and as plain strings otherwise. `compare` also accepts per-agent overrides such as
    `--set ppo.lr=1e-3`. Config files are JSON (`config.json` as `compare` writes it) or
    TOML with the same keys.

    Every mistake raises `UsageError`, whose message names the problem and the fix; the
    command line prints it as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class UsageError(Exception):
    """The command line was misused: printed as one line on stderr, exit code 2."""


_PYTHON_WORDS = {"True": True, "False": False, "None": None}


def parse_value(text: str) -> Any:
    """`"0.7"` -> 0.7, `"[64, 64]"` -> [64, 64], `"true"`/`"True"` -> True, else text."""
    if text in _PYTHON_WORDS:
        return _PYTHON_WORDS[text]
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignments(items: Iterable[str] | None, option: str = "--set") -> dict[str, Any]:
    """Parse `["alpha=0.5", "net=lstm"]` into `{"alpha": 0.5, "net": "lstm"}`."""
    result: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise UsageError(
                f"{option} '{item}' has no '='; write it as KEY=VALUE, e.g. {option} gamma=0.9"
            )
        if not key:
            raise UsageError(f"{option} '{item}' has no name before '='; write it as KEY=VALUE")
        result[key] = parse_value(value.strip())
    return result


def split_agent_overrides(
    hyperparameters: dict[str, Any], agents: Sequence[str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Split `{"gamma": 0.9, "ppo.lr": 1e-3}` into common and per-agent settings.

    A dotted key `AGENT.NAME` applies only to `AGENT` (one of `agents`).
    """
    common: dict[str, Any] = {}
    per_agent: dict[str, dict[str, Any]] = {name: {} for name in agents}
    for key, value in hyperparameters.items():
        if "." not in key:
            common[key] = value
            continue
        agent, _, name = key.rpartition(".")
        if agent not in per_agent:
            raise UsageError(
                f"--set {key}: '{agent}' is not one of the agents being run "
                f"({', '.join(agents)}); write --set {agent}.NAME=VALUE with one of them"
            )
        per_agent[agent][name] = value
    return common, per_agent


def hyperparameters_for(agent: str, common: dict[str, Any], per_agent: dict) -> dict[str, Any]:
    """The settings one agent gets: the common ones, then its own overrides."""
    return {**common, **per_agent.get(agent, {})}


def safe_name(text: str) -> str:
    """A file-name-safe form of an env id or agent name (`LectureRL/Parity-v0` ->
    `LectureRL_Parity-v0`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "run"


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a `compare` config: JSON (`config.json`) or TOML (`*.toml`)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"config file {path} does not exist; pass the config.json compare wrote")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError as exc:  # Python 3.10
            raise UsageError("TOML config files need Python 3.11 or newer; use JSON") from exc
        try:
            config = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"config file {path} is not valid TOML: {exc}") from exc
    else:
        try:
            config = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"config file {path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise UsageError(f"config file {path} must hold a table/object of settings")
    return config


_EVERY_UNITS = {
    "": ("seconds", 1.0),
    "s": ("seconds", 1.0),
    "m": ("seconds", 60.0),
    "h": ("seconds", 3600.0),
    "steps": ("steps", 1.0),
    "episodes": ("episodes", 1.0),
}
_EVERY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SaveEvery:
    """How often `train` saves a resumable checkpoint: every `amount` seconds, env steps or
    episodes (checked at the end of each episode; 0: after every episode)."""

    amount: float
    unit: str = "seconds"

    @classmethod
    def parse(cls, text: str) -> SaveEvery:
        """`"60"` or `"60s"`, `"5m"`, `"1h"`, `"20000steps"`, `"100episodes"`."""
        match = _EVERY.match(str(text))
        unit = _EVERY_UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a period: give seconds (60, 90s, 10m, 1h), env steps "
                "(20000steps) or episodes (100episodes)"
            )
        amount = float(match.group(1)) * unit[1]
        return cls(int(amount) if unit[0] != "seconds" else amount, unit[0])

    def due(self, seconds: float, steps: int, episodes: int) -> bool:
        """True when this much time, env steps or episodes passed since the last save."""
        passed = {"seconds": seconds, "steps": steps, "episodes": episodes}[self.unit]
        return passed >= self.amount

    def __str__(self) -> str:
        if self.unit == "seconds":
            return f"{self.amount:g} s"
        return f"{self.amount:,} {self.unit}"
