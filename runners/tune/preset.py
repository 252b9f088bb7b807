"""The best settings of a study as a preset file, the format `train --preset FILE` reads.

Description:
    One YAML mapping per env id, as in `assets/presets/<agent>.yml`:

    ```yaml
    CartPole-v1:
      steps: 20000           # the per-trial budget the best settings were found at
      env_set: {}            # env keywords given to tune, as --env-set
      set:                   # the agent's hyperparameters, names and values as --set takes them
        lr: 0.00025
      source: "lecture-rl tune, trial 17 of 40, mean eval return 500.0 (3 seeds), 2026-12-07"
    ```

    `set` holds every setting the trial trained with besides the agent's defaults (the base
    preset's, `--set`'s, the sampled ones), so the file stands alone. Where the chosen net has
    defaults of its own (PPO's Transformer lr, its LSTM's epochs), which sit above an entry's
    `set` when a preset is applied, the file repeats the trial's values for them under
    `nets: {NET: {...}}` (`net_layer`): `train --preset FILE` then trains with exactly what the
    trial did.

    The text is written here rather than by a YAML library so that it keeps those comments;
    every value is written in a form YAML 1.1 and 1.2 readers both read back as the same
    value (floats always with a `.`, strings double-quoted).
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")


def yaml_value(value: Any) -> str:
    """`value` as a YAML flow scalar or collection that reads back as `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text:  # YAML 1.1 (PyYAML) reads 1e-05 as a string: 1.0e-05 is a float
            mantissa, exponent = text.split("e")
            if "." not in mantissa:
                mantissa += ".0"
            if exponent[0] not in "+-":
                exponent = "+" + exponent
            text = f"{mantissa}e{exponent}"
        return text
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        items = ", ".join(f"{yaml_key(key)}: {yaml_value(item)}" for key, item in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} into a preset")


def yaml_key(key: Any) -> str:
    """A mapping key: plain where it is safe (`lr`, `CartPole-v1`, `LectureRL/Parity-v0`),
    double-quoted otherwise (`module:Id`, words YAML would read as true, false or null)."""
    text = str(key)
    words = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"}
    if _PLAIN_KEY.match(text) and text.lower() not in words:
        return text
    return json.dumps(text, ensure_ascii=False)


def score_text(value: float) -> str:
    """A mean return for the source line: `500.0`, `0.964`, `-123.4`."""
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def plural(count: int, word: str) -> str:
    """`1 seed`, `3 seeds`."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def source_line(trial: int, trials: int, value: float, seeds: int, date: str | None = None) -> str:
    """`lecture-rl tune, trial 17 of 40, mean eval return 500.0 (3 seeds), 2026-12-07`."""
    date = date or time.strftime("%Y-%m-%d")
    return (
        f"lecture-rl tune, trial {trial} of {trials}, mean eval return {score_text(value)} "
        f"({plural(seeds, 'seed')}), {date}"
    )


def net_layer(cls: type, hyperparameters: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`{NET: {name: value}}`: the values of `hyperparameters` that the chosen net's own
    defaults (`cls.net_defaults`) would override when the file is applied; empty for most."""
    params = getattr(cls, "params", None) or {}
    default = params["net"].default if "net" in params else None
    net = str(hyperparameters.get("net", default)).lower()
    own = getattr(cls, "net_defaults", {}).get(net, {})
    kept = {key: hyperparameters[key] for key in own if key in hyperparameters}
    return {net: kept} if kept else {}


def preset_text(
    env_id: str,
    budget: dict[str, int],
    env_kwargs: dict[str, Any],
    hyperparameters: dict[str, Any],
    source: str,
    nets: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The preset file for one env: budget, `env_set`, `set`, `source` (see the module), and
    `nets` where the chosen net needs it."""
    unit = "steps" if "steps" in budget else "episodes"

    def commented(text: str, comment: str) -> str:
        return f"{text:<24} # {comment}"

    budget_line = f"  {unit}: {int(budget[unit])}"
    env_line = f"  env_set: {yaml_value(dict(env_kwargs))}"
    lines = [
        f"{yaml_key(env_id)}:",
        commented(budget_line, "the per-trial budget the best settings were found at"),
        commented(env_line, "env keywords given to tune, as --env-set"),
        commented(
            "  set:" if hyperparameters else "  set: {}",
            "the agent's hyperparameters, names and values as --set takes them",
        ),
    ]
    for key, value in hyperparameters.items():
        lines.append(f"    {yaml_key(key)}: {yaml_value(value)}")
    if nets:
        lines.append(commented("  nets:", "with this net these win over the net's own defaults"))
        for net, values in nets.items():
            lines.append(f"    {yaml_key(net)}: {yaml_value(values)}")
    lines.append(f"  source: {yaml_value(source)}")
    return "\n".join(lines) + "\n"
