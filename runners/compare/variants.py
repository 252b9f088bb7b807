"""Agents and variants in `compare`: `--agents`, the config's `agents` list, `--grid`.

Description:
    An entry of `--agents` (comma separated) is an agent name, or a *variant*: the same agent
    with its own settings and a label that names it in every output (table, `results.csv`,
    `summary.json`, plot legend):

    ```text
    --agents q_learning,sarsa
    --agents "mlp=ppo(net=mlp),lstm=ppo(net=lstm,lr=3e-4)"    # LABEL=AGENT(KEY=VALUE,...)
    --agents "ppo(net=gru)"                                   # label: ppo(net=gru)
    ```

    Single quotes around the whole list keep the shell away from the parentheses. In a config
    file, `agents` is a list of names or tables (`[[agents]]` in TOML):

    ```python
    [[agents]]
    label = "lstm"
    agent = "ppo"
    net = "lstm"
    ```

    `--grid KEY=V1,V2` (repeatable) expands every entry into one variant per combination,
    labelled `LABEL[KEY=V1]`. Values parse as JSON where they can, as with `--set`.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from lecture_rl.runners.settings import UsageError, parse_value

_LABEL = re.compile(r"^[A-Za-z0-9_-]+$")
_AGENT = re.compile(r"^[A-Za-z0-9_:.-]+$")
_FORM = "write LABEL=AGENT(KEY=VALUE,...), e.g. --agents 'mlp=ppo(net=mlp),lstm=ppo(net=lstm)'"


@dataclass
class Variant:
    """One column of the comparison: `label` everywhere in the outputs, `agent` built with
    `hyperparameters` (on top of the shared `--set` values)."""

    label: str
    agent: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def plain(self) -> bool:
        return self.label == self.agent and not self.hyperparameters

    def to_config(self) -> str | dict[str, Any]:
        """The config.json form: the name for a plain agent, else a table."""
        if self.plain:
            return self.agent
        return {"label": self.label, "agent": self.agent, **self.hyperparameters}


def split_top_level(text: str) -> list[str]:
    """Split at commas outside (), [] and {} (so `ppo(net=gru,lr=1e-3)` stays whole)."""
    parts, depth, current = [], 0, []
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            if not stack or stack.pop() != pairs[char]:
                raise UsageError(f"--agents '{text}': unbalanced '{char}'; {_FORM}")
        depth = len(stack)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if stack:
        raise UsageError(f"--agents '{text}': unclosed '{stack[-1]}'; {_FORM}")
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_entry(text: str) -> Variant:
    """`"lstm=ppo(net=lstm)"` -> `Variant("lstm", "ppo", {"net": "lstm"})`."""
    head, paren, rest = text.partition("(")
    if paren and not rest.rstrip().endswith(")"):
        raise UsageError(f"--agents entry '{text}': text after ')'; {_FORM}")
    label, equals, agent = head.partition("=")
    label, agent = label.strip(), agent.strip()
    if not equals:
        label, agent = "", label
    if not _AGENT.match(agent or ""):
        raise UsageError(f"--agents entry '{text}': '{agent}' is not an agent name; {_FORM}")
    if equals and not _LABEL.match(label):
        raise UsageError(
            f"--agents entry '{text}': label '{label}' may hold only letters, digits, _ and -"
        )
    hyperparameters: dict[str, Any] = {}
    if paren:
        for item in split_top_level(rest.rstrip()[:-1]):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise UsageError(f"--agents entry '{text}': '{item}' is not KEY=VALUE; {_FORM}")
            hyperparameters[key.strip()] = parse_value(value.strip())
    if not label:
        label = text.replace(" ", "") if hyperparameters else agent
    return Variant(label, agent, hyperparameters)


def _from_table(table: dict[str, Any]) -> Variant:
    table = dict(table)
    agent = table.pop("agent", None)
    if not isinstance(agent, str) or not _AGENT.match(agent):
        raise UsageError(f'config agents: table {json.dumps(table)} needs agent = "NAME"')
    label = str(table.pop("label", agent))
    if not _LABEL.match(label) and label != agent:
        raise UsageError(f"config agents: label '{label}' may hold only letters, digits, _ and -")
    hyperparameters = table.pop("hyperparameters", {}) or {}
    return Variant(label, agent, {**table, **hyperparameters})


def parse_agents(value: Any) -> list[Variant]:
    """`--agents` text, or a config's list of names, entries and tables, into variants."""
    if isinstance(value, str):
        items: list[Any] = split_top_level(value)
    else:
        items = list(value or [])
    variants = [
        _from_table(item) if isinstance(item, dict) else parse_entry(str(item).strip())
        for item in items
        if not isinstance(item, str) or item.strip()
    ]
    if not variants:
        raise UsageError("--agents is empty; give names such as --agents q_learning,sarsa")
    labels = [variant.label for variant in variants]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise UsageError(
            f"--agents names {duplicates} twice; give each agent once, or label variants: "
            "--agents 'a=ppo(net=mlp),b=ppo(net=lstm)'"
        )
    return variants


def parse_grid(items: Any) -> dict[str, list[Any]]:
    """`["net=mlp,lstm", "lr=1e-3,3e-4"]` (or a config's table) -> `{"net": [...], ...}`."""
    if isinstance(items, dict):
        return {str(key): list(values) for key, values in items.items()}
    grid: dict[str, list[Any]] = {}
    for item in items or ():
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise UsageError(f"--grid '{item}' is not KEY=V1,V2,...; e.g. --grid net=mlp,lstm")
        grid[key.strip()] = [parse_value(value) for value in split_top_level(values)]
    return grid


def expand_grid(variants: list[Variant], grid: dict[str, list[Any]]) -> list[Variant]:
    """One variant per entry and grid combination, labelled `LABEL[KEY=V,...]`."""
    if not grid:
        return variants
    expanded = []
    keys = list(grid)
    for variant in variants:
        for values in itertools.product(*(grid[key] for key in keys)):
            setting = dict(zip(keys, values))
            text = ",".join(
                f"{key}={json.dumps(value)}".replace('"', "") for key, value in setting.items()
            )
            expanded.append(
                Variant(
                    f"{variant.label}[{text}]",
                    variant.agent,
                    {**variant.hyperparameters, **setting},
                )
            )
    return expanded
