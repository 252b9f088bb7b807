"""`lecture-rl experiment`: the lecture's claims as one-command experiments with a report.

Description:
    Each module here is one experiment and declares what differs: `NAME`, `CLAIM`,
    `CITES`, `measure(ctx, report) -> numbers` (trains on `compare`'s engine where it
    trains agents, with a probe measuring inside the trial; adds the settings, text, tables and
    figures to the report) and `verdict(numbers) -> Verdict`, a pure function of the measured
    numbers. `run(ctx) -> Verdict` is the one engine, `engine.run_experiment`, which decides
    and writes `report.md`, `report.html` and `numbers.json` into `ctx.out`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: experiment name -> module, in the order of `experiment list`
MODULES = {
    "xor": "xor",
    "vanishing-gradient": "vanishing_gradient",
    "td0-vs-dp": "td0_vs_dp",
    "random-walk": "random_walk",
    "cliff": "cliff",
    "parity-memory": "parity_memory",
    "copy-delay": "copy_delay",
    "dqn-target": "dqn_target",
    "popgym-memory": "popgym_memory",
}


def names() -> list[str]:
    return list(MODULES)


def load(name: str) -> ModuleType:
    return importlib.import_module(f"lecture_rl.runners.experiments.{MODULES[name]}")
