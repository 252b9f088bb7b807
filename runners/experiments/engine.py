"""The experiments' engine: one way to run, decide and report, trained on `compare`'s engine.

Description:
    An experiment module declares what differs (`NAME`, `CLAIM`, `CITES`,
    `measure(ctx, report) -> numbers`, the pure `verdict(numbers)`);
    [`run_experiment`][lecture_rl.runners.experiments.engine.run_experiment] does the rest the same
    way for all: it hands `measure` an empty
    [`Report`][lecture_rl.runners.experiments.report.Report] (the experiment adds its settings,
    text, tables and figures), decides the verdict from the numbers alone and writes `report.md`,
    `report.html` and `numbers.json`.

    [`compare`][lecture_rl.runners.experiments.engine.compare] builds the namespace
    `lecture-rl compare` would parse and runs it into a sub-folder of the experiment's report
    folder, so every training run of an experiment leaves `results.csv`, `summary.json`, `trials/`
    and `curves.png` as `compare` does, and rerunning the experiment into the same folder resumes.
    A *probe* (`probes.py`) measures what the experiment needs (the RMS error of V, the accuracy at
    other lengths, the greedy path) inside the worker that trained the agent.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from lecture_rl.runners.experiments.report import Report, Verdict
from lecture_rl.runners.settings import UsageError


@dataclass
class Context:
    """Where and how an experiment runs (`--out`, `--quick`, `--seeds`, `--workers`,
    `--first-seed`)."""

    out: Path
    quick: bool = False
    seeds: int | None = None
    workers: int | None = None
    fresh: bool = False
    first_seed: int = 0

    def seed_count(self, quick: int, careful: int) -> int:
        return self.seeds if self.seeds is not None else (quick if self.quick else careful)

    def seed_range(self, count: int) -> range:
        """The seeds of a run of `count` seeds: `first_seed, first_seed + 1, ...`."""
        return range(self.first_seed, self.first_seed + count)

    def flags(self, name: str) -> str:
        """The command line that reruns this experiment with these settings."""
        parts = ["lecture-rl experiment", name]
        if self.quick:
            parts.append("--quick")
        if self.seeds is not None:
            parts.append(f"--seeds {self.seeds}")
        if self.first_seed:
            parts.append(f"--first-seed {self.first_seed}")
        return " ".join(parts) + f" --out {self.out}"


#: `lecture-rl compare`'s options an experiment leaves as the command's defaults
UNSET = dict.fromkeys("config grid threads executor address trial_cpus trial_gpus".split())


def run_experiment(module: ModuleType | str, ctx: Context) -> Verdict:
    """Run the experiment `module` (or its import name) in `ctx`: measure, decide, report.

    Args:
        module: declares `NAME`, `CLAIM`, `CITES`, `measure(ctx, report) -> numbers` and
            `verdict(numbers) -> Verdict`.
        ctx: where and how to run.

    Returns:
        The verdict, also written with the numbers into `ctx.out/numbers.json`.
    """
    if isinstance(module, str):
        module = importlib.import_module(module)
    report = Report(module.NAME, module.CLAIM, module.CITES, ctx.flags(module.NAME), {})
    numbers = module.measure(ctx, report)
    outcome = module.verdict(numbers)
    report.write(ctx.out, outcome, numbers)
    return outcome


def runner(module_name: str) -> Callable[[Context], Verdict]:
    """An experiment module's `run(ctx)`:
    [`run_experiment`][lecture_rl.runners.experiments.engine.run_experiment] on that module."""
    return functools.partial(run_experiment, module_name)


def compare(
    ctx: Context,
    folder: str,
    *,
    env: str,
    agents: str,
    seeds: int,
    steps: int | None = None,
    episodes: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    hyperparameters: dict[str, Any] | None = None,
    eval_episodes: int = 10,
    probe: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run `compare` into `ctx.out/folder`; returns its `summary` and `trials`
    (`{(label, seed): result}`)."""
    from lecture_rl.runners.compare import run_compare

    out = ctx.out / folder
    args = argparse.Namespace(
        **UNSET,
        **{"env": env, "agents": agents, "seeds": seeds, "first_seed": ctx.first_seed},
        device="cpu",
        **{"eval_episodes": eval_episodes, "episodes": episodes, "steps": steps, "probe": probe},
        **{"out": str(out), "workers": ctx.workers, "fresh": ctx.fresh},
        set=[f"{k}={json.dumps(v)}" for k, v in (hyperparameters or {}).items()],
        env_set=[f"{k}={json.dumps(v)}" for k, v in (env_kwargs or {}).items()],
    )
    code = run_compare(args, io.StringIO())
    if code == 130:
        raise KeyboardInterrupt
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    if code != 0 or summary["failed"]:
        first = summary["failed"][0] if summary["failed"] else {"error": f"exit code {code}"}
        raise UsageError(f"experiment run {out} failed: {first['error']}")
    trials = {}
    for path in sorted((out / "trials").glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        trials[(result["agent"], int(result["seed"]))] = result
    return {"summary": summary, "trials": trials, "out": out}


def per_label(run: dict[str, Any], label: str) -> list[dict[str, Any]]:
    """The finished trials of one label, in seed order."""
    return [r for (name, _), r in sorted(run["trials"].items()) if name == label]


def on_grid(
    trials: list[dict[str, Any]], grid: Any, values: Callable[[list[dict[str, Any]]], Any]
) -> Any:
    """`[trials, len(grid)]`: each trial's `values(records)` (one per record) against its
    env steps, interpolated onto `grid`; NaN for a trial without records."""
    import numpy as np

    rows = []
    for trial in trials:
        x = np.array([r["env_steps"] for r in trial["records"]], dtype=float)
        y = np.asarray(values(trial["records"]), dtype=float)
        rows.append(np.interp(grid, x, y) if len(x) else np.full_like(grid, np.nan))
    return np.array(rows)


def v_rms_probe(true_v: Any, states: list[int]) -> dict[str, Any]:
    """The probe that adds the RMS error of V against `true_v` over `states` to every
    record (`probes.v_rms`)."""
    return {
        "target": "lecture_rl.runners.experiments.probes:v_rms",
        "true_v": list(map(float, true_v)),
        "states": states,
    }


def uniform_values(env_id: str, env_kwargs: dict[str, Any], gamma: float):
    """Exact v_π of the uniform random policy (over the available actions) by iterative policy
    evaluation (dynamic programming), and the states worth scoring (not terminal, not walls)."""
    from lecture_rl.agents.dynamic_programming import policy_evaluation, uniform_policy
    from lecture_rl.agents.tabular import env_model, state_action_mask
    from lecture_rl.envs.protocols import terminal_states
    from lecture_rl.runners.env_factory import make_env

    env = make_env(env_id, env_kwargs)
    try:
        nS, nA = int(env.observation_space.n), int(env.action_space.n)
        policy = uniform_policy(nS, nA, state_action_mask(env, nS, nA))
        v = policy_evaluation(env_model(env), nS, nA, policy, gamma)
        terminals = terminal_states(env) or set()
        walls = getattr(env.unwrapped, "grid_map", None)
        states = []
        for s in range(nS):
            if s in terminals:
                continue
            if walls is not None:
                row, col = env.unwrapped.coords_of(s)
                if walls.rows[row - 1][col - 1] == "#":
                    continue
            states.append(s)
    finally:
        env.close()
    return v, states


def tag(value: float) -> str:
    """A number as a label part (labels hold letters, digits, _ and -): 0.05 -> 0p05."""
    return str(value).replace(".", "p").replace("-", "m")


def rms_rows(run: dict[str, Any], label: str):
    """`[seeds, episodes]` of the `rms` the `v_rms` probe added to every record."""
    import numpy as np

    rows = [[record["rms"] for record in trial["records"]] for trial in per_label(run, label)]
    width = min(len(row) for row in rows)
    return np.array([row[:width] for row in rows], dtype=float)
