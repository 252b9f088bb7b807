"""Presets: per-env settings for an agent, kept as data (`assets/presets/<agent>.yml`).

Description:
    A preset file holds one entry per env id, in the spirit of rl-zoo3's `hyperparams/ppo.yml`:

    ```yaml
    CartPole-v1:
      steps: 100000        # optional: the budget the settings were measured at (or episodes:)
      env_set: {}          # optional: env keywords, as --env-set takes them
      set:                 # the agent's hyperparameters, as --set takes them
        lr: 0.001
      nets:                # optional: more settings when the net is this one
        lstm: {update_epochs: 8}
      source: "one line: where these settings came from, the figure measured with them"
    ```

    An entry's key is an env id; a key with `*` is a pattern (`popgym-*`) for the ids it
    matches, used where no entry names the id itself (the longest matching pattern wins).

    What an agent trains with, later layers winning (`hyperparameters`):

    1. the agent's defaults (its `params` table);
    2. the preset's `set`: the env's own defaults;
    3. the agent's defaults for the chosen net (`net_defaults`, e.g. PPO's Transformer rate);
    4. the preset's `nets` entry for the chosen net;
    5. the command line's `--set` (and a `compare` variant's own values).

    `env_set` sits under `--env-set` the same way, and `steps` (or `episodes`) is the budget
    when the command gives no `--steps` / `--episodes`.

    `lecture-rl train`, `compare`, `watch` and the experiments (through `compare`) pick the
    built-in file of the agent by the env id (`--preset auto`, the default), say so on stderr,
    and record what they used (`train`: the checkpoint's `agent.json`; `compare`:
    `config.json`, which a `--config` rerun reads back). `--preset none` trains with the
    agent's defaults, `--preset FILE` with a file of this format (`lecture-rl tune` writes
    one). A missing file, bad YAML, an unknown key, a name the agent does not take, or a file
    with no entry for the env: one line, exit 2 (`UsageError`).

    In Python, `settings_for` gives the same settings (`preset_for` and `hyperparameters` the
    steps of it):

    ```python
    from lecture_rl.runners import presets

    hp = presets.settings_for("ppo", "LectureRL/Parity-v0", {"net": "lstm"})
    agent = lecture_rl.agents.make("ppo", env, seed=0, **hp)
    ```
"""

from __future__ import annotations

import fnmatch
import json
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from lecture_rl.runners.settings import UsageError

#: the package holding the built-in `<agent>.yml` files
PRESETS_PACKAGE = "lecture_rl.assets.presets"
#: the keys an entry may hold
ENTRY_KEYS = ("steps", "episodes", "env_set", "set", "nets", "source")
#: `--preset` values that are not files
AUTO, NONE = "auto", "none"
#: `set_up`'s "look the preset up" (`None` there means: no preset)
LOOK_UP = object()


@dataclass(frozen=True)
class Preset:
    """One entry of a preset file: the settings of `agent` on the env `entry` names.

    Attributes:
        agent: the agent the settings are for (the file's name for a built-in file).
        entry: the entry's key: the env id, or the pattern that matched it.
        file: where the entry came from, as shown to the user.
        settings: the `set` mapping (hyperparameters).
        env_set: env keywords.
        steps: the budget the settings were measured at (`None`: not given).
        nets: per-net settings, `{net: {name: value}}`.
        source: where the settings came from.
        episodes: the budget in episodes, for an entry measured so (`None`: not given).
    """

    agent: str
    entry: str
    file: str
    settings: dict[str, Any] = field(default_factory=dict)
    env_set: dict[str, Any] = field(default_factory=dict)
    steps: int | None = None
    nets: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""
    episodes: int | None = None

    def record(self) -> dict[str, Any]:
        """The preset as JSON, for a checkpoint's metadata or `compare`'s `config.json`."""
        return {
            "file": self.file,
            "entry": self.entry,
            "steps": self.steps,
            **({"episodes": self.episodes} if self.episodes is not None else {}),
            "env_set": self.env_set,
            "set": self.settings,
            "nets": self.nets,
            "source": self.source,
        }

    @classmethod
    def from_record(cls, agent: str, record: dict[str, Any]) -> Preset:
        """The preset `record` wrote (a `config.json` read back)."""
        return cls(
            agent,
            str(record.get("entry", "")),
            str(record.get("file", "")),
            dict(record.get("set") or {}),
            dict(record.get("env_set") or {}),
            record.get("steps"),
            {k: dict(v) for k, v in (record.get("nets") or {}).items()},
            str(record.get("source", "")),
            record.get("episodes"),
        )

    def describe(
        self,
        net: str | None = None,
        used: dict[str, Any] | None = None,
        given: dict[str, Any] | None = None,
    ) -> str:
        """`lr=0.001, n_steps=32` (with the net's own settings when `net` has some). With the
        settings `used`, a value that is not the preset's says why: `update_epochs=8 (lstm's
        default)`, `lr=0.01 (--set)` (`given`: the command line's)."""
        values = {**self.settings, **self.nets.get(str(net), {})}
        parts = []
        for key, value in values.items():
            actual = (used or {}).get(key, value)
            why = ""
            if actual != value:
                why = " (--set)" if key in (given or {}) else f" ({net}'s default)"
            parts.append(f"{key}={_text(actual)}{why}")
        parts += [f"env {key}={_text(value)}" for key, value in self.env_set.items()]
        return ", ".join(parts) or "no settings"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


def builtin_file(agent: str) -> Path | None:
    """The built-in preset file of `agent` (`None` when it has none)."""
    if not agent.replace("_", "").isalnum():  # sb3:PPO and other outside agents: none
        return None
    path = Path(str(resources.files(PRESETS_PACKAGE) / f"{agent}.yml"))
    return path if path.is_file() else None


def shown_path(path: Path) -> str:
    """A built-in file as `lecture_rl/assets/presets/NAME.yml`, a user's file as given."""
    builtin = Path(str(resources.files(PRESETS_PACKAGE)))
    try:
        return f"lecture_rl/assets/presets/{path.resolve().relative_to(builtin.resolve())}"
    except ValueError:
        return str(path)


def read_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """The entries of a preset file, each checked; any problem is one `UsageError` line."""
    import yaml

    path = Path(path)
    name = shown_path(path)
    if not path.is_file():
        raise UsageError(
            f"--preset {name}: no such file; give a preset file (YAML, one entry per env id), "
            "'none' or 'auto'"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UsageError(f"--preset {name}: not valid YAML{line}: {problem}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--preset {name}: cannot read it: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(
            f"--preset {name}: must map env ids to entries (ENV_ID: {{set: {{...}}}}), "
            f"not a {type(data).__name__}"
        )
    return {str(env_id): _check_entry(name, str(env_id), entry) for env_id, entry in data.items()}


def _check_entry(name: str, env_id: str, entry: Any) -> dict[str, Any]:
    where = f"--preset {name}, entry {env_id}"
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: must be a mapping with keys {', '.join(ENTRY_KEYS)}")
    unknown = [key for key in entry if key not in ENTRY_KEYS]
    if unknown:
        raise UsageError(
            f"{where}: unknown key '{unknown[0]}'; an entry holds {', '.join(ENTRY_KEYS)}"
        )
    for key in ("set", "env_set", "nets"):
        value = entry.get(key)
        if value is not None and not isinstance(value, dict):
            raise UsageError(f"{where}: '{key}' must be a mapping of NAME: VALUE")
    for net, values in (entry.get("nets") or {}).items():
        if not isinstance(values, dict):
            raise UsageError(f"{where}: nets.{net} must be a mapping of NAME: VALUE")
    for key in ("steps", "episodes"):
        count = entry.get(key)
        if count is not None and (isinstance(count, bool) or not isinstance(count, (int, float))
                                  or count < 1 or int(count) != count):  # fmt: skip
            raise UsageError(f"{where}: {key} must be a whole number >= 1, got {count!r}")
    if entry.get("steps") is not None and entry.get("episodes") is not None:
        raise UsageError(f"{where}: give its budget as steps or as episodes, not both")
    source = entry.get("source")
    if source is not None and not isinstance(source, str):
        raise UsageError(f"{where}: source must be one line of text")
    return entry


def entry_for(entries: dict[str, dict[str, Any]], env_id: str) -> str | None:
    """The key of the entry for `env_id`: the id itself, else the longest matching pattern."""
    if env_id in entries:
        return env_id
    patterns = [key for key in entries if "*" in key and fnmatch.fnmatchcase(env_id, key)]
    return max(patterns, key=len) if patterns else None


def preset_for(agent: str, env_id: str, choice: str | None = AUTO) -> Preset | None:
    """The preset `agent` trains with on `env_id` for `--preset choice`.

    Args:
        agent: the agent's name (`ppo`).
        env_id: the env id as given to `--env`.
        choice: `auto` (or `None`): the built-in file's entry, if any; `none`: no preset; any
            other text: a preset file, which must hold an entry for `env_id`.

    Returns:
        The preset, or `None` where none applies.

    Raises:
        UsageError: an unreadable or malformed file, or a user's file without the env.
    """
    choice = AUTO if choice is None else str(choice)
    if choice.lower() == NONE:
        return None
    if choice.lower() == AUTO:
        path = builtin_file(agent)
        if path is None:
            return None
    else:
        path = Path(choice).expanduser()
    entries = read_file(path)
    key = entry_for(entries, env_id)
    if key is None:
        if choice.lower() == AUTO:
            return None
        listed = ", ".join(sorted(entries)) or "none"
        raise UsageError(
            f"--preset {shown_path(path)}: no entry for {env_id} (its entries: {listed}); "
            f"add one ({env_id}: {{set: {{...}}}}) or pass --preset none"
        )
    entry = entries[key]
    steps, episodes = entry.get("steps"), entry.get("episodes")
    return Preset(
        agent=agent,
        entry=key,
        file=shown_path(path),
        settings=dict(entry.get("set") or {}),
        env_set=dict(entry.get("env_set") or {}),
        steps=int(steps) if steps is not None else None,
        nets={str(net): dict(values) for net, values in (entry.get("nets") or {}).items()},
        source=str(entry.get("source") or ""),
        episodes=int(episodes) if episodes is not None else None,
    )


# --------------------------------------------------------------------------------------------
# Applying a preset
# --------------------------------------------------------------------------------------------


def hyperparameters(
    preset: Preset | None, agent: str, given: dict[str, Any], cls: type | None = None
) -> dict[str, Any]:
    """What `agent` is built with: the layers of the module docstring merged.

    `given` are the command line's values (they win); `net_kwargs` merge key by key. Names the
    agent does not take raise `UsageError`, naming the preset's file.
    """
    if preset is None:
        return dict(given)
    if cls is None:
        from lecture_rl.runners.agent_factory import agent_class

        cls = agent_class(agent)
    params = getattr(cls, "params", None) or {}
    net = chosen_net(preset, given, cls)
    layers = [
        preset.settings,
        getattr(cls, "net_defaults", {}).get(str(net).lower(), {}),
        preset.nets.get(str(net), {}),
    ]
    merged: dict[str, Any] = {}
    net_kwargs: dict[str, Any] = {}
    for layer in [*layers, given]:
        merged.update(layer)
        if isinstance(layer.get("net_kwargs"), dict):
            net_kwargs.update(layer["net_kwargs"])
    if net_kwargs:
        merged["net_kwargs"] = net_kwargs
    if params:
        unknown = [key for key in {**preset.settings, **preset.nets.get(str(net), {})}
                   if key not in params]  # fmt: skip
        if unknown:
            raise UsageError(
                f"--preset {preset.file}, entry {preset.entry}: '{unknown[0]}' is not a "
                f"hyperparameter of {agent} (see 'lecture-rl agents {agent}')"
            )
    return merged


def budget_of(
    preset: Preset | None, episodes: int | None, steps: int | None
) -> tuple[int | None, int | None]:
    """`(episodes, steps)` to train for: the command's, else the preset's budget (steps or
    episodes, with neither flag given), else `(None, None)` (the agent's default budget)."""
    if steps is not None or episodes is not None or preset is None:
        return episodes, steps
    return preset.episodes, preset.steps


def settings_for(agent: str, env_id: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The hyperparameters `lecture-rl train --agent AGENT --env ENV_ID` builds with: the
    built-in preset (if any) under `given`; for scripts that call `agents.make` themselves."""
    return hyperparameters(preset_for(agent, env_id), agent, dict(given or {}))


def chosen_net(preset: Preset | None, given: dict[str, Any], cls: type) -> str | None:
    """The net the agent will have: `--set net=`, else the preset's, else the default."""
    params = getattr(cls, "params", None) or {}
    default = params["net"].default if "net" in params else None
    net = given.get("net", preset.settings.get("net", default) if preset else default)
    return None if net is None else str(net)


@dataclass
class Setup:
    """What a command builds an agent with, its preset applied (`set_up`)."""

    agent: str
    env_id: str
    preset: Preset | None
    hyperparameters: dict[str, Any]
    env_kwargs: dict[str, Any]
    budget: dict[str, int]
    net: str | None
    given: dict[str, Any] = field(default_factory=dict)

    def announce(self, label: str | None = None, file: TextIO | None = None) -> None:
        """Say on stderr which preset is used (nothing without one)."""
        shown = self.agent if label in (None, self.agent) else f"{label} ({self.agent})"
        announce(self.preset, shown, self.env_id, self.net, file, self.hyperparameters,
                 self.given)  # fmt: skip


def set_up(
    agent: str,
    env_id: str,
    given: dict[str, Any],
    env_set: dict[str, Any],
    *,
    choice: str | None = AUTO,
    preset: Preset | None | object = LOOK_UP,
    episodes: int | None = None,
    steps: int | None = None,
) -> Setup:
    """What `agent` trains with on `env_id`: the preset for `--preset choice` (or `preset`,
    when given, e.g. one a `config.json` recorded) applied under the command line's `--set`
    values `given`, its `--env-set` values `env_set` and its budget flags."""
    from lecture_rl.runners.agent_factory import agent_class, resolve_budget

    cls = agent_class(agent)
    if preset is LOOK_UP:
        preset = preset_for(agent, env_id, check_choice(choice))
    assert preset is None or isinstance(preset, Preset)
    hp = hyperparameters(preset, agent, given, cls)
    budget = resolve_budget(cls, *budget_of(preset, episodes, steps))
    net = chosen_net(preset, given, cls)
    return Setup(agent, env_id, preset, hp, env_kwargs(preset, env_set), budget, net, given)


def env_kwargs(preset: Preset | None, given: dict[str, Any]) -> dict[str, Any]:
    """The env keywords: the preset's `env_set`, then the command line's `--env-set`."""
    return {**(preset.env_set if preset else {}), **given}


def announce(
    preset: Preset | None,
    agent: str,
    env_id: str,
    net: str | None = None,
    file: TextIO | None = None,
    used: dict[str, Any] | None = None,
    given: dict[str, Any] | None = None,
) -> None:
    """`ppo on CartPole-v1: preset from FILE: lr=0.001, ...` on stderr (nothing without one);
    with the settings `used`, the values that differ from the preset's say why."""
    if preset is None:
        return
    matched = "" if preset.entry == env_id else f" (entry {preset.entry})"
    count, unit = (preset.episodes, "episodes") if preset.episodes else (preset.steps, "steps")
    budget = f"; budget {count:,} {unit} unless --steps/--episodes" if count else ""
    settings = preset.describe(net, used, given)
    print(
        f"{agent} on {env_id}: preset from {preset.file}{matched}: {settings}{budget}; "
        "--set overrides, --preset none turns it off",
        file=file or sys.stderr,
        flush=True,
    )


def check_choice(choice: str | None) -> str:
    """`--preset`'s value, `auto` when not given (an empty value is misuse)."""
    if choice is None:
        return AUTO
    if not str(choice).strip():
        raise UsageError("--preset needs a value: a preset file, 'none' or 'auto'")
    return str(choice)
