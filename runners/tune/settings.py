"""`tune` settings: the flags checked and turned into a plan before any work.

Description:
    `plan_study` checks everything a study needs (the agent and its fixed settings on the env,
    the search space against the agent's hyperparameter table, the budget, the evaluation
    points, `--out`) and returns a `Plan`: plain data from which every trial is built.

    A study starts from what `lecture-rl train` would use: the env's preset (`--preset auto`,
    the default; `none`: the agent's defaults; or a file), under `--set` and the sampled
    point, exactly as `train` layers them (`runners/presets.py`). Its `env_set` joins
    `--env-set`, and its budget is the trials' budget when no `--steps`/`--episodes` is given.
    `Plan.config()` is what `config.json` holds; a rerun into the same `--out` must agree with
    it on everything that decides a trial's result (`RESULT_KEYS`), while `--trials`,
    `--workers` and the executor may change between runs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lecture_rl.runners import presets
from lecture_rl.runners.agent_factory import agent_class, build_agent, check_device, resolve_budget
from lecture_rl.runners.compare.trials import Trial, trial_hash
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.scoring import EVAL_SEED_BASE
from lecture_rl.runners.settings import UsageError, parse_assignments, safe_name
from lecture_rl.runners.tune.spaces import SPACES, Dimension, describe, resolve_space

#: the settings that decide what a trial computes: a `--out` holding a study that differs in
#: one of them is refused (`--trials`, `--workers`, the executor may change)
RESULT_KEYS = (
    "env",
    "env_kwargs",
    "agent",
    "hyperparameters",
    "preset",
    "space",
    "budget",
    "seeds",
    "eval_episodes",
    "evaluations",
    "pruner",
    "startup_trials",
    "seed",
    "device",
)

DEFAULTS = {
    "trials": 20,
    "seeds": 2,
    "evaluations": 5,
    "eval_episodes": 10,
    "startup_trials": 5,
    "pruner": "median",
    "seed": 0,
}


@dataclass
class Plan:
    """Everything a study's trials are built from (plain data)."""

    env: str
    env_kwargs: dict[str, Any]
    agent: str
    agent_target: str | None
    fixed: dict[str, Any]
    space: dict[str, Dimension]
    base: presets.Preset | None  # the preset the trials start from (None: the defaults)
    preset_choice: str  # --preset as given: auto, none or a file
    budget: dict[str, int]
    seeds: int
    eval_episodes: int
    evaluations: int
    trials: int
    startup_trials: int
    pruner: str
    seed: int
    device: str | None
    threads: int | None
    out: Path
    points: list[int] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return "steps" if "steps" in self.budget else "episodes"

    @property
    def total(self) -> int:
        """A trial's budget per seed, in its unit."""
        return int(self.budget[self.unit])

    def config(self) -> dict[str, Any]:
        """What `config.json` holds: the result-determining settings, then the others."""
        return {
            "command": "tune",
            "env": self.env,
            "env_kwargs": self.env_kwargs,
            "agent": self.agent,
            "hyperparameters": self.fixed,
            "preset": self.base.record() if self.base is not None else None,
            "space": describe(self.space),
            "budget": self.budget,
            "seeds": self.seeds,
            "eval_episodes": self.eval_episodes,
            "evaluations": self.evaluations,
            "pruner": self.pruner,
            "startup_trials": self.startup_trials,
            "seed": self.seed,
            "device": self.device,
            "trials": self.trials,
            "out": str(self.out),
        }

    def label(self, number: int) -> str:
        """The label of Optuna trial `number` in progress lines and file names."""
        return f"trial-{number:04d}"

    def stop_file(self, number: int) -> Path:
        return self.out.resolve() / "stop" / self.label(number)  # absolute: Ray workers too

    def hyperparameters(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """What a trial trains with: the base preset under `--set` and the sampled point."""
        return presets.hyperparameters(self.base, self.agent, {**self.fixed, **sampled})

    def trial(self, number: int, seed: int, hyperparameters: dict[str, Any]) -> Trial:
        """The compare trial that trains seed `seed` of Optuna trial `number`."""
        return Trial(
            agent=self.label(number),
            algorithm=self.agent,
            agent_target=self.agent_target,
            seed=seed,
            env_id=self.env,
            env_kwargs=self.env_kwargs,
            hyperparameters=hyperparameters,
            device=self.device,
            budget=self.budget,
            eval_episodes=self.eval_episodes,
            eval_seed=EVAL_SEED_BASE + seed * self.eval_episodes,
            log_dir=None,  # no TensorBoard logs nor last-good checkpoints per trial
            threads=self.threads,
            curve={"at": self.points, "stop_file": str(self.stop_file(number))},
        )


def seed_key(trial: Trial) -> str:
    """What decides one seed's result, whatever the Optuna trial's number: a rerun of an
    interrupted trial reuses the seeds it finished."""
    return trial_hash(replace(trial, agent=trial.agent_name))


def evaluation_points(total: int, evaluations: int) -> list[int]:
    """The points of the budget where the greedy policy is scored while it trains: `total *
    i / evaluations` for i = 1 .. evaluations - 1 (the last score is the trial's own
    evaluation after training)."""
    points = sorted({max(1, total * i // evaluations) for i in range(1, evaluations)})
    return [point for point in points if point < total]


def _count(args: argparse.Namespace, name: str, flag: str, low: int = 1) -> int:
    value = getattr(args, name, None)
    value = DEFAULTS[name] if value is None else value
    if value < low:
        raise UsageError(f"{flag} must be at least {low}, got {value}")
    return int(value)


def plan_study(args: argparse.Namespace) -> Plan:
    """Check the flags and build the plan (one line, exit 2, for any misuse)."""
    if not args.out:
        raise UsageError("tune needs --out DIR: the study, its trials and the best preset go there")
    check_device(args.device)
    cls = agent_class(args.agent)
    fixed, space = space_from_flags(cls, args)
    choice = presets.check_choice(getattr(args, "preset", None))
    base = presets.preset_for(args.agent, args.env, choice)
    env_kwargs = presets.env_kwargs(base, parse_assignments(args.env_set, "--env-set"))
    budget = resolve_budget(cls, *presets.budget_of(base, args.episodes, args.steps))
    plan = Plan(
        env=args.env,
        env_kwargs=env_kwargs,
        agent=args.agent,
        agent_target=f"{cls.__module__}:{cls.__qualname__}" if ":" not in args.agent else None,
        fixed=fixed,
        space=space,
        base=base,
        preset_choice=choice,
        budget=budget,
        seeds=_count(args, "seeds", "--seeds"),
        eval_episodes=_count(args, "eval_episodes", "--eval-episodes"),
        evaluations=_count(args, "evaluations", "--evaluations"),
        trials=_count(args, "trials", "--trials"),
        startup_trials=_count(args, "startup_trials", "--startup-trials", low=0),
        pruner=args.pruner or DEFAULTS["pruner"],
        seed=_count(args, "seed", "--seed", low=0),
        device=args.device,
        threads=getattr(args, "threads", None),
        out=Path(args.out),
    )
    plan.points = evaluation_points(plan.total, plan.evaluations)
    env = make_env(plan.env, plan.env_kwargs)
    try:  # the fixed settings on the env (each sampled point is checked again when asked)
        hyperparameters = plan.hyperparameters({})
        build_agent(plan.agent, env, seed=0, hyperparameters=hyperparameters, device=plan.device)
    finally:
        env.close()
    return plan


def space_from_flags(cls: type, args: argparse.Namespace) -> tuple[dict[str, Any], dict]:
    """The fixed settings (`--set`) and the space (`--space`, `--only`) of a command line."""
    fixed = parse_assignments(args.set, "--set")
    overrides = dict(_split_space(item) for item in (getattr(args, "space", None) or ()))
    only = [name.strip() for name in (args.only or "").split(",") if name.strip()] or None
    return fixed, resolve_space(cls, args.agent, overrides, fixed, only)


def rerun_command(plan: Plan) -> str:
    """The `lecture-rl tune` command that continues this study (for the report)."""
    import shlex

    words = ["lecture-rl", "tune", "--env", plan.env, "--agent", plan.agent]
    if plan.preset_choice != presets.AUTO:
        words += ["--preset", plan.preset_choice]
    words += [f"--{plan.unit}", str(plan.total), "--trials", str(plan.trials)]
    words += ["--seeds", str(plan.seeds)]
    for flag, values in (("--set", plan.fixed), ("--env-set", plan.env_kwargs)):
        for key, value in values.items():
            text = value if isinstance(value, str) else json.dumps(value)
            words += [flag, f"{key}={text}"]
    for name, dim in plan.space.items():
        default = SPACES.get(plan.agent, {}).get(name)
        if default is None or default.text() != dim.text():
            words += ["--space", f"{name}={dim.text()}"]
    if set(plan.space) != set(SPACES.get(plan.agent, {})) - set(plan.fixed):
        words += ["--only", ",".join(plan.space)]
    words += ["--out", str(plan.out)]
    return " ".join(shlex.quote(word) for word in words)


def _split_space(item: str) -> tuple[str, str]:
    name, sep, text = item.partition("=")
    if not sep or not name.strip() or not text.strip():
        raise UsageError(
            f"--space '{item}' is not NAME=DIST; e.g. --space lr=log(1e-5,1e-2) or "
            "--space n_steps=choice(16,32,64)"
        )
    return name.strip(), text.strip()


def first_difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """`"space: {...} there, {...} here"` for the first result-determining key that differs
    between the study's config and this command's, else None."""
    for key in RESULT_KEYS:
        if old.get(key) != new.get(key):
            return f"{key}: {json.dumps(old.get(key))} there, {json.dumps(new.get(key))} here"
    return None


def check_study_folder(out: Path, config: dict[str, Any], fresh: bool) -> None:
    """`out` must hold no study yet, or one with the same result-determining settings as
    `config` (any with `fresh`); a folder another command wrote is never taken over. One line,
    exit 2, otherwise."""
    path = out / "config.json"
    if not path.is_file():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    command = old.get("command") if isinstance(old, dict) else None
    if command not in (None, "tune"):
        raise UsageError(
            f"--out {out} holds a '{command}' run, not a tune study; choose another --out"
        )
    if fresh:
        return
    difference = first_difference(old, config) if isinstance(old, dict) else f"{path} unread"
    if difference:
        raise UsageError(
            f"--out {out} holds a study with other settings ({difference}); add --fresh to "
            "start over there, or choose another --out"
        )


def preset_name(agent: str) -> str:
    """The preset file's name in `--out`: `ppo.yml`, as in `assets/presets/<agent>.yml`."""
    return f"{safe_name(agent)}.yml"
