"""Search spaces: which hyperparameters `tune` searches for each agent, and over which values.

Description:
    `SPACES` holds one space per agent, in the spirit of rl-zoo3's `hyperparams_opt.py`:
    learning rates and entropy weights log-uniform, sizes and discounts as short lists of the
    values people use. A space names the agent's own hyperparameters (`lecture-rl agents
    NAME`), so a sampled point is exactly what `--set` would give.

    On the command line:

    - `--space NAME=DIST` adds a dimension or replaces one: `log(1e-5,1e-2)` (log-uniform),
      `float(0.1,0.4)` (uniform), `int(1,20)`, `logint(8,512)`, `choice(16,32,64)` (values
      parse as JSON, like `--set`: `choice(mlp,gru)`, `choice(true,false)`);
    - `--set NAME=VALUE` fixes a hyperparameter: it leaves the space and every trial uses it;
    - `--only NAME,...` searches only these dimensions (the others keep the agent's defaults).

    Sampled floats are rounded to 3 significant digits before a trial runs, so the preset
    reads `lr: 0.000735`, and it is the value that ran.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from lecture_rl.agents.base import Agent
from lecture_rl.agents.hyperparameters import HyperparameterError
from lecture_rl.runners.compare.variants import split_top_level
from lecture_rl.runners.settings import UsageError, parse_value

KINDS = ("log", "float", "int", "logint", "choice")
_FORM = re.compile(r"^\s*(?P<kind>[a-z]+)\s*\((?P<args>.*)\)\s*$", re.DOTALL)
_EXAMPLE = "e.g. --space lr=log(1e-5,1e-2) or --space n_steps=choice(16,32,64)"


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: a range (`log`, `float`, `int`, `logint`) or a `choice`."""

    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()

    def text(self) -> str:
        """The `--space` form: `log(1e-05,0.01)`, `choice(16,32,64)`."""
        if self.kind == "choice":
            return f"choice({','.join(_value_text(value) for value in self.choices)})"
        return f"{self.kind}({_value_text(self.low)},{_value_text(self.high)})"

    def distribution(self):
        """The Optuna distribution of this dimension."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices))
        if self.kind in ("int", "logint"):
            return IntDistribution(int(self.low), int(self.high), log=self.kind == "logint")
        return FloatDistribution(float(self.low), float(self.high), log=self.kind == "log")

    def values_to_check(self) -> tuple[Any, ...]:
        """The values whose acceptance by the agent shows the whole dimension is valid."""
        if self.kind == "choice":
            return self.choices
        if self.kind in ("int", "logint"):
            return (int(self.low), int(self.high))
        return (float(self.low), float(self.high))


def log(low: float, high: float) -> Dimension:
    """Log-uniform on [low, high] (learning rates, entropy weights)."""
    return Dimension("log", low, high)


def uniform(low: float, high: float) -> Dimension:
    """Uniform on [low, high]."""
    return Dimension("float", low, high)


def integer(low: int, high: int, *, log: bool = False) -> Dimension:
    """A whole number in [low, high], log-uniform with `log`."""
    return Dimension("logint" if log else "int", low, high)


def choice(*values: Any) -> Dimension:
    """One of `values`."""
    return Dimension("choice", choices=tuple(values))


GAMMAS = choice(0.9, 0.95, 0.98, 0.99, 0.995, 0.999)

#: the default search space of each agent (its hyperparameter names, as `--set` takes them)
SPACES: dict[str, dict[str, Dimension]] = {
    "ppo": {
        "lr": log(1e-5, 1e-2),
        "ent_coef": log(1e-8, 0.1),
        "gamma": GAMMAS,
        "gae_lambda": choice(0.8, 0.9, 0.92, 0.95, 0.98, 0.99, 1.0),
        "clip_coef": choice(0.1, 0.2, 0.3, 0.4),
        "update_epochs": choice(1, 4, 5, 8, 10, 20),
        "num_envs": choice(4, 8, 16, 32, 64, 128),  # >= num_minibatches: every pair is valid
        "n_steps": choice(8, 16, 32, 64, 128, 256),
        "num_minibatches": choice(1, 2, 4),
        "max_grad_norm": uniform(0.3, 2.0),
        "hidden_size": choice(32, 64, 128, 256),
    },
    "reinforce": {
        "lr": log(1e-5, 1e-1),
        "ent_coef": log(1e-8, 0.1),
        "gamma": GAMMAS,
        "num_envs": choice(4, 8, 16, 32, 64, 128),
        "max_grad_norm": uniform(0.3, 2.0),
        "hidden_size": choice(32, 64, 128, 256),
    },
    "dqn": {
        "lr": log(1e-5, 1e-2),
        "gamma": GAMMAS,
        "batch_size": choice(16, 32, 64, 128, 256, 512),
        "buffer_size": choice(10_000, 50_000, 100_000),
        "learning_starts": choice(0, 1000, 5000, 10_000),
        "train_freq": choice(1, 4, 8, 16),
        "gradient_steps": choice(1, 2, 4),
        "target_update": choice(1, 250, 1000, 5000, 10_000),
        "eps_end": uniform(0.0, 0.2),
        "eps_decay_steps": choice(1000, 5000, 10_000, 50_000),
        "hidden_size": choice(32, 64, 128, 256),
    },
}
_TABULAR = {
    "alpha": log(0.01, 1.0),
    "epsilon": uniform(0.0, 0.3),
    "epsilon_decay": choice(0.99, 0.995, 0.999, 1.0),
    "gamma": choice(0.9, 0.95, 0.99, 1.0),
    "initial_q": choice(0.0, 1.0),
}
for _name in ("q_learning", "sarsa", "expected_sarsa", "double_q"):
    SPACES[_name] = dict(_TABULAR)
SPACES["mc"] = {key: value for key, value in _TABULAR.items() if key != "alpha"}
SPACES["mc"]["alpha"] = log(0.005, 0.5)


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", value) else json.dumps(value)
    if isinstance(value, float):
        return f"{value:g}" if value == float(f"{value:g}") else repr(value)
    return json.dumps(value)


def parse_dimension(name: str, text: str) -> Dimension:
    """`log(1e-5,1e-2)` -> `Dimension("log", 1e-5, 1e-2)`; one line naming the fix if not."""
    form = _FORM.match(text)
    where = f"--space {name}={text}"
    if not form or form["kind"] not in KINDS:
        raise UsageError(
            f"{where}: write one of {', '.join(k + '(...)' for k in KINDS)}; {_EXAMPLE}"
        )
    kind = form["kind"]
    values = [parse_value(item) for item in split_top_level(form["args"])]
    if kind == "choice":
        if not values:
            raise UsageError(f"{where}: choice(...) needs at least one value; {_EXAMPLE}")
        for value in values:
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise UsageError(
                    f"{where}: choice values must be numbers, strings, true or false, not "
                    f"{json.dumps(value)}"
                )
        if len({json.dumps(value) for value in values}) < len(values):
            raise UsageError(f"{where}: a value appears twice in choice(...)")
        return choice(*values)
    if len(values) != 2 or not all(_is_number(value) for value in values):
        raise UsageError(f"{where}: {kind}(LOW,HIGH) takes two numbers; {_EXAMPLE}")
    low, high = values
    if kind in ("int", "logint") and not all(float(v).is_integer() for v in values):
        raise UsageError(f"{where}: {kind}(LOW,HIGH) takes whole numbers")
    if not low < high:
        raise UsageError(f"{where}: LOW must be below HIGH")
    if kind in ("log", "logint") and low <= 0:
        raise UsageError(f"{where}: a log range must start above 0")
    if kind in ("int", "logint"):
        return integer(int(low), int(high), log=kind == "logint")
    return Dimension(kind, float(low), float(high))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def resolve_space(
    cls: type[Agent],
    agent: str,
    overrides: dict[str, str],
    fixed: dict[str, Any],
    only: list[str] | None,
) -> dict[str, Dimension]:
    """The space a study searches: the agent's default space, `--space` replacing or adding
    dimensions, without the hyperparameters `--set` fixes, cut to `--only`. Every dimension
    is checked against the agent's hyperparameter table (name and range) here, before any
    work; an empty space is a usage error."""
    space = dict(SPACES.get(agent, {}))
    for name, text in overrides.items():
        space[name] = parse_dimension(name, text)
    if only:
        missing = [name for name in only if name not in space]
        if missing:
            raise UsageError(
                f"--only {','.join(only)}: '{missing[0]}' is not in {agent}'s search space "
                f"({', '.join(space) or 'empty'}); add it with --space {missing[0]}=DIST"
            )
        space = {name: space[name] for name in only}
    space = {name: dim for name, dim in space.items() if name not in fixed}
    if not space:
        if agent not in SPACES and not overrides:
            raise UsageError(
                f"tune has no search space for agent '{agent}'; give one with --space, {_EXAMPLE}"
            )
        raise UsageError(
            "nothing left to search: --set fixes every dimension of the space; drop a --set "
            "or add a dimension with --space NAME=DIST"
        )
    params = getattr(cls, "params", None) or {}
    for name, dim in space.items():
        if params and name not in params:
            try:  # the agent's own message: unknown name, did-you-mean, the valid names
                cls.validate_hyperparameters({name: None})
            except HyperparameterError as exc:
                raise UsageError(f"--space {name}: {exc}") from exc
            raise UsageError(f"--space {name}: agent '{agent}' has no hyperparameter '{name}'")
        if name in params:
            for value in dim.values_to_check():
                try:
                    params[name].check(name, value, agent)
                except HyperparameterError as exc:
                    raise UsageError(f"--space {name}={dim.text()}: {exc}") from exc
    return space


def round_sample(value: Any) -> Any:
    """A sampled float to 3 significant digits (ints, choices and strings as they are)."""
    if isinstance(value, float) and value != 0.0 and math.isfinite(value):
        return float(f"{value:.3g}")
    return value


def describe(space: dict[str, Dimension]) -> dict[str, str]:
    """`{name: "log(1e-05,0.01)"}`: the space as text (config.json, the report)."""
    return {name: dim.text() for name, dim in space.items()}
