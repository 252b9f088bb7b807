"""Hyperparameters declared once: default, allowed range and a one-line doc in one place.

Description:
    An agent class lists its hyperparameters as ``params = {"alpha": Param(0.1, "step size α",
    low=0, high=1, low_open=True), ...}``. From that one table come the defaults
    (`cls.defaults`), the validation of user values (unknown names get a did-you-mean hint,
    out-of-range values a message naming the range), `lecture-rl agents NAME` and the README's
    tables (`describe`). Rules between several values (PPO's ``num_minibatches <=
    num_envs`) stay in the agent's `check_hyperparameters``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any


class HyperparameterError(ValueError):
    """A hyperparameter name is unknown or its value is out of range."""


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its default, a one-line doc and what values it accepts.

    Arguments:
        default: the value used when the user gives none.
        doc: one line for `lecture-rl agents NAME` and the README.
        low, high: bounds of a number (`None`: unbounded); `low_open`/`high_open` exclude
            the bound itself.
        integer: the value must be a whole number.
        choices: the value must be one of these (strings such as backbone names).
        kind: `"number"` (the default when bounds are given), `"int"`, `"choice"`,
            `"bool"`, `"dict"` or `"any"` (checked by the agent itself).
    """

    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None
    kind: str = ""

    @property
    def kind_name(self) -> str:
        if self.kind:
            return self.kind
        if self.choices is not None:
            return "choice"
        if self.integer:
            return "int"
        if self.low is not None or self.high is not None:
            return "number"
        return "any"

    def range_text(self) -> str:
        """The accepted values as text: `(0, 1]`, `integer >= 1`, `one of: a, b`."""
        kind = self.kind_name
        if kind == "choice":
            return "one of: " + ", ".join(str(c) for c in self.choices or ())
        if kind == "bool":
            return "true or false"
        if kind == "dict":
            return "a JSON object"
        if kind == "number" and self.low is None and self.high is None:
            return "any finite number"
        if kind in ("number", "int"):
            low = -math.inf if self.low is None else self.low
            high = math.inf if self.high is None else self.high
            if kind == "int" and math.isinf(high):
                return f"an integer >= {low:g}" if not self.low_open else f"an integer > {low:g}"
            left = "(" if self.low_open or math.isinf(low) else "["
            right = ")" if self.high_open or math.isinf(high) else "]"
            prefix = "an integer in " if kind == "int" else "in "
            return f"{prefix}{left}{_num(low)}, {_num(high)}{right}"
        return "any value"

    def check(self, key: str, value: Any, agent: str) -> None:
        """Raise `HyperparameterError` unless `value` is acceptable for `key`."""
        kind = self.kind_name
        where = f"{agent}: " if agent else ""
        if kind == "choice":
            if value not in (self.choices or ()):
                close = difflib.get_close_matches(
                    str(value), [str(c) for c in self.choices or ()], n=1, cutoff=0.5
                )
                folded = [c for c in self.choices or () if str(c).lower() == str(value).lower()]
                hint = folded[0] if folded else (close[0] if close else None)
                hint_text = f" (did you mean '{hint}'?)" if hint is not None else ""
                raise HyperparameterError(
                    f"{where}{key}={value!r} is not valid{hint_text}; use {self.range_text()}"
                )
            return
        if kind == "bool":
            if not isinstance(value, bool):
                raise HyperparameterError(f"{where}{key}={value!r} must be true or false")
            return
        if kind == "dict":
            if not isinstance(value, dict):
                raise HyperparameterError(
                    f'{where}{key}={value!r} must be a JSON object such as {{"layers": 2}}'
                )
            return
        if kind not in ("number", "int"):
            return
        if kind == "int":
            ok = isinstance(value, (int,)) and not isinstance(value, bool)
            if not ok and hasattr(value, "is_integer") and isinstance(value, Real):
                ok = False
            if not ok:
                try:
                    import numpy as np

                    ok = isinstance(value, np.integer)
                except ImportError:  # pragma: no cover
                    ok = False
            if not ok:
                raise HyperparameterError(
                    f"{where}{key}={value!r} is out of range; {key} must be {self.range_text()}"
                )
        elif isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise HyperparameterError(
                f"{where}{key}={value!r} is not a finite number; {key} must be {self.range_text()}"
            )
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        too_low = value <= low if self.low_open else value < low
        too_high = value >= high if self.high_open else value > high
        if too_low or too_high:
            raise HyperparameterError(
                f"{where}{key}={_num(value)} is out of range; {key} must be {self.range_text()}"
            )


def _num(value: float) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if float(value).is_integer() and abs(value) >= 10_000:
        return f"{int(value):,}"
    return f"{value:g}"


def validate(params: Mapping[str, Param], given: Mapping[str, Any], agent: str) -> dict[str, Any]:
    """Defaults merged with `given`, each value checked; unknown names raise with a hint."""
    unknown = [key for key in given if key not in params]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(params), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        valid = ", ".join(sorted(params)) or "none"
        raise HyperparameterError(
            f"unknown hyperparameter '{key}' for agent '{agent}'{hint}; valid names: {valid}"
        )
    merged = {key: param.default for key, param in params.items()}
    merged.update(given)
    for key, param in params.items():
        param.check(key, merged[key], agent)
    return merged


def describe(params: Mapping[str, Param]) -> list[tuple[str, Any, str, str]]:
    """`(name, default, accepted values, doc)` rows for help texts and README tables."""
    return [(key, p.default, p.range_text(), p.doc) for key, p in params.items()]


def unit_interval(default: float, doc: str, *, low_open: bool = False) -> Param:
    """A number in [0, 1] (`(0, 1]` with `low_open`)."""
    return Param(default, doc, low=0.0, high=1.0, low_open=low_open)


def positive_int(default: int, doc: str, *, low: int = 1, high: float | None = None) -> Param:
    """A whole number >= `low`."""
    return Param(default, doc, low=low, high=high, integer=True)


def positive(default: float, doc: str) -> Param:
    """A number > 0."""
    return Param(default, doc, low=0.0, low_open=True)


def non_negative(default: float, doc: str) -> Param:
    """A number >= 0."""
    return Param(default, doc, low=0.0)


def with_defaults(params: Mapping[str, Param], **defaults: Any) -> dict[str, Param]:
    """`params` with some defaults changed (an algorithm's own choice for a shared knob)."""
    from dataclasses import replace

    unknown = set(defaults) - set(params)
    if unknown:
        raise KeyError(f"no such hyperparameters to override: {sorted(unknown)}")
    return {
        key: replace(p, default=defaults[key]) if key in defaults else p
        for key, p in params.items()
    }
