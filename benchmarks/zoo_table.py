"""Benchmark: our agents at rl-zoo3's published budgets, beside rl-zoo3's scores and SB3 run here.

The ten rows of issue 26: `ppo` on CartPole-v1, Acrobot-v1, LunarLander-v3, MountainCar-v0,
MiniGrid-DoorKey-5x5-v0, Pendulum-v1, MountainCarContinuous-v0 and LunarLanderContinuous-v3;
`dqn` on CartPole-v1 and LunarLander-v3.

- **ours**: the agent with its built-in preset for the env (`lecture_rl/assets/presets/`, as
  `lecture-rl train` picks it; `--preset none`: the agent's defaults, `--preset FILE`:
  another file), trained for the preset's budget (a row trained past rl-zoo3's budget is shown
  as not reached: DoorKey-5x5's 200k), then its greedy policy on 100 fresh episodes (seeds
  from 1,000,000 on, as `train` and `compare` score);
- **published**: rl-zoo3's `benchmark.md` (github.com/DLR-RM/rl-baselines3-zoo, commit
  22e3ff2450fd92033f7f032915e1f64894a09584; the file last changed in 61a0d1349fa9): one run per
  row, its deterministic policy's mean return over about 150k evaluation steps, and the budget
  it trained for. Its LunarLander rows are the `-v2` envs (Box2D's fixes made `-v3`);
- **SB3 here** (`--sb3 ROW ...`, the cheap rows by default): rl-zoo3's own training script
  (`rl_zoo3.train`, its `hyperparams/<algo>.yml` settings for the env: wrappers,
  `VecNormalize`, schedules) at its budget, in a child process, one torch thread, scored like
  ours (deterministic policy, 100 fresh episodes, `VecNormalize` statistics frozen).

Wall time is the training alone (no evaluation, no imports), per run; CPU seconds of the
training process are kept too (steadier where other jobs share the machine). Per row: mean
and 95% t-interval over seeds, ours beside theirs, whether our mean reaches the published
mean, and our wall time as a fraction of SB3's (goal: at most 1/3).

Every finished run is written at once to `--out` (atomically; default
`benchmarks/results/zoo_table.json`), and a rerun with the same settings skips the runs it
already holds (`--fresh` starts over): an interrupted table loses at most the run under way.

Usage:

```text
python benchmarks/zoo_table.py --smoke                     # CI: two rows, tiny budgets
python benchmarks/zoo_table.py --seeds 3                   # the README's table
python benchmarks/zoo_table.py --rows ppo-CartPole-v1 --seeds 5 --sb3 none
python benchmarks/zoo_table.py --preset none --out runs/zoo-defaults.json   # the defaults
```
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

#: rl-zoo3's benchmark.md, the file and commit the published column is read from
ZOO_REPO = "github.com/DLR-RM/rl-baselines3-zoo"
ZOO_COMMIT = "22e3ff2450fd92033f7f032915e1f64894a09584"
ZOO_FILE = "benchmark.md"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "zoo_table.json"
EVAL_SEED_BASE = 1_000_000  # as lecture_rl.runners.scoring: far from the training seeds


@dataclass(frozen=True)
class Row:
    """One row: our `agent` on `env_id`, and rl-zoo3's published run beside it."""

    agent: str
    env_id: str
    published_mean: float
    published_std: float
    published_steps: int
    published_env: str = ""  # the env id of rl-zoo3's row where it differs (LunarLander-v2)

    @property
    def name(self) -> str:
        return f"{self.agent}-{self.env_id}"


ROWS = [
    Row("ppo", "CartPole-v1", 500.000, 0.000, 100_000),
    Row("ppo", "Acrobot-v1", -73.506, 18.201, 1_000_000),
    Row("ppo", "LunarLander-v3", 242.119, 31.823, 1_000_000, "LunarLander-v2"),
    Row("ppo", "MountainCar-v0", -110.423, 19.473, 1_000_000),
    Row("ppo", "MiniGrid-DoorKey-5x5-v0", 0.964, 0.006, 100_000),
    Row("ppo", "Pendulum-v1", -172.225, 104.159, 100_000),
    Row("ppo", "MountainCarContinuous-v0", 88.343, 2.572, 20_000),
    Row("ppo", "LunarLanderContinuous-v3", 270.863, 32.072, 1_000_000, "LunarLanderContinuous-v2"),
    Row("dqn", "CartPole-v1", 500.000, 0.000, 50_000),
    Row("dqn", "LunarLander-v3", 154.382, 79.241, 100_000, "LunarLander-v2"),
]
BY_NAME = {row.name: row for row in ROWS}
#: where SB3 runs by default: the rows whose SB3 run takes minutes, not hours, here
CHEAP_ROWS = [
    "ppo-CartPole-v1",
    "dqn-CartPole-v1",
    "ppo-MiniGrid-DoorKey-5x5-v0",
    "ppo-MountainCarContinuous-v0",
]
SMOKE_ROWS = ["ppo-CartPole-v1", "dqn-CartPole-v1"]
SMOKE_STEPS = 256


# --------------------------------------------------------------------------------------------
# One run of ours, one of SB3 (in a child process)
# --------------------------------------------------------------------------------------------


def run_ours(row: Row, seed: int, preset: str, steps: int | None, episodes: int) -> dict:
    """Train our agent on the row's env with its preset; greedy return on fresh episodes."""
    import torch

    from lecture_rl.runners import presets
    from lecture_rl.runners.agent_factory import build_agent
    from lecture_rl.runners.scoring import greedy_evaluation

    torch.set_num_threads(1)
    steps = row_steps(row, preset, steps)
    setup = presets.set_up(row.agent, row.env_id, {}, {}, choice=preset, steps=steps)
    budget = setup.budget.get("steps")
    if setup.preset is None and steps is None:  # no settings measured for the row yet
        from lecture_rl.runners.settings import UsageError

        raise UsageError(f"no built-in {row.agent} preset for {row.env_id} (--preset FILE)")
    if budget is None:
        raise SystemExit(f"{row.name}: the preset gives no budget; give the entry steps: N")
    # a budget over rl-zoo3's runs, but its row is not counted as reached (`table`)
    from lecture_rl.runners.env_factory import make_env

    env = make_env(row.env_id, setup.env_kwargs)
    agent = build_agent(row.agent, env, seed=seed, hyperparameters=setup.hyperparameters)
    wall, cpu = time.perf_counter(), time.process_time()
    agent.train(env, steps=budget)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    env.close()
    scored = greedy_evaluation(agent, row.env_id, setup.env_kwargs, episodes,
                               EVAL_SEED_BASE + seed * episodes)  # fmt: skip
    return {
        "greedy": scored["return_mean"],
        "greedy_std": scored["return_std"],
        "seconds": wall,
        "cpu_seconds": cpu,
        "steps": budget,
        "settings": {
            "preset": setup.preset.record() if setup.preset else None,
            "hyperparameters": setup.hyperparameters,
            "env_kwargs": setup.env_kwargs,
        },  # fmt: skip
    }


def row_steps(row: Row, preset: str, steps: int | None) -> int | None:
    """The budget to train with: `steps` if given; with `--preset none` (the agent's defaults,
    no budget of a preset) rl-zoo3's published one; else the preset's (`None` here)."""
    if steps is None and preset == "none":
        return row.published_steps
    return steps


def resolved_settings(row: Row, preset: str, steps: int | None, episodes: int) -> dict:
    """What an `ours` run of the row is trained with (what its results file key hashes): the
    preset as resolved now, so a changed preset file is not mistaken for a finished run."""
    from lecture_rl.runners import presets
    from lecture_rl.runners.settings import UsageError

    try:
        steps = row_steps(row, preset, steps)
        setup = presets.set_up(row.agent, row.env_id, {}, {}, choice=preset, steps=steps)
    except UsageError as error:
        return {"error": str(error)}
    return {"hyperparameters": setup.hyperparameters, "env_kwargs": setup.env_kwargs,
            "budget": setup.budget, "eval_episodes": episodes}  # fmt: skip


def run_sb3(row: Row, seed: int, steps: int, episodes: int) -> dict:
    """rl-zoo3's `train` with its settings for the row, in a child process (its own torch
    threads, imports and monkey-patch); the child prints one JSON line."""
    command = [sys.executable, __file__, "--sb3-child", row.name, str(seed), str(steps),
               str(episodes)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"SB3 run of {row.name} failed: {' / '.join(tail)}")
    return json.loads(lines[-1])


def sb3_child(name: str, seed: int, steps: int, episodes: int) -> None:
    """In the child: run `rl_zoo3.train` with the row's settings, time `learn` alone, then
    score the trained model like ours; print the result as one JSON line."""
    import tempfile

    import rl_zoo3.exp_manager as exp_manager
    import rl_zoo3.train
    import torch

    row = BY_NAME[name]
    found: dict[str, Any] = {}
    learn = exp_manager.ExperimentManager.learn

    def timed_learn(self, model):  # rl-zoo3's learn, timed; the model scored after it
        wall, cpu = time.perf_counter(), time.process_time()
        learn(self, model)
        found["seconds"], found["cpu_seconds"] = (time.perf_counter() - wall,
                                                  time.process_time() - cpu)  # fmt: skip
        found.update(score_sb3(self, model, episodes, EVAL_SEED_BASE + seed * episodes))
        found["hyperparameters"] = {k: str(v) for k, v in self._hyperparams.items()}
        found["normalize"] = bool(self.normalize)

    exp_manager.ExperimentManager.learn = timed_learn
    with tempfile.TemporaryDirectory() as folder:
        sys.argv = ["rl_zoo3.train", "--algo", row.agent, "--env", row.env_id, "-n", str(steps),
                    "--seed", str(seed), "-f", folder, "--eval-freq", "-1", "--num-threads", "1",
                    "--device", "cpu", "--verbose", "0", "--log-interval", "-1"]  # fmt: skip
        torch.set_num_threads(1)
        rl_zoo3.train.train()
    found["steps"] = steps
    print(json.dumps(found), flush=True)


def score_sb3(exp: Any, model: Any, episodes: int, seed: int) -> dict:
    """The deterministic policy's mean return over `episodes` episodes, episode `i` from
    seed `seed + i`, observations normalised with the training's frozen statistics."""
    from stable_baselines3.common.vec_env import VecNormalize

    env = exp.create_envs(1, eval_env=True, no_log=True)
    trained = model.get_env()
    if isinstance(env, VecNormalize) and isinstance(trained, VecNormalize):
        env.obs_rms = trained.obs_rms  # frozen: env.training is False
    returns = []
    for i in range(episodes):
        env.seed(seed + i)
        obs = env.reset()
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, dones, infos = env.step(action)
            done = bool(dones[0])
            if done:  # the Monitor under the normalisation: the episode's real return
                total = float(infos[0]["episode"]["r"])
        returns.append(total)
    env.close()
    return {"greedy": float(np.mean(returns)), "greedy_std": float(np.std(returns, ddof=1))}


# --------------------------------------------------------------------------------------------
# The results file and the table
# --------------------------------------------------------------------------------------------


def run_key(row: str, who: str, seed: int, settings: dict[str, Any]) -> str:
    text = json.dumps(settings, sort_keys=True, default=str)
    return f"{row}|{who}|{seed}|{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def load_runs(path: Path | None) -> dict[str, dict]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {run["key"]: run for run in data.get("runs", []) if "key" in run}


def save_runs(path: Path | None, runs: dict[str, dict], meta: dict[str, Any]) -> None:
    if path is None:
        return
    from lecture_rl.agents.checkpoint_io import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({**meta, "runs": list(runs.values())}, indent=1) + "\n")


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval over seeds."""
    from lecture_rl.agents.stats import mean_ci95

    mean, _, (low, _) = mean_ci95(values)
    return mean, mean - low


def cell(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    mean, half = interval(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def digits_for(row: Row) -> int:
    return 3 if abs(row.published_mean) < 10 else 1


def verdict(reached: bool, ran: bool, within_budget: bool) -> str:
    if not ran:
        return "-"
    return "yes" if reached else "no" if within_budget else "no (over its budget)"


def table(rows: list[Row], runs: dict[str, dict], selected: dict[str, str]) -> tuple[str, dict]:
    """The Markdown table and the per-row numbers (reached, time ratio)."""
    head = ("| agent | env | ours: greedy return (steps, seeds) | wall / CPU s per run | rl-zoo3 "
            "published (steps) | reached | SB3 + zoo settings here: greedy (seeds) | SB3 wall / "
            "CPU s per run | ours / SB3: wall (CPU) |")  # fmt: skip
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    numbers = {}
    for row in rows:
        ours = [r for r in runs.values() if r["row"] == row.name and r["who"] == "ours"
                and r["settings_key"] == selected[row.name]]  # fmt: skip
        sb3 = [r for r in runs.values() if r["row"] == row.name and r["who"] == "sb3"]
        d = digits_for(row)
        greedy = [r["greedy"] for r in ours]
        wall = float(np.mean([r["seconds"] for r in ours])) if ours else float("nan")
        sb3_wall = float(np.mean([r["seconds"] for r in sb3])) if sb3 else float("nan")
        cpu = float(np.mean([r["cpu_seconds"] for r in ours])) if ours else float("nan")
        sb3_cpu = float(np.mean([r["cpu_seconds"] for r in sb3])) if sb3 else float("nan")
        mean = float(np.mean(greedy)) if greedy else float("nan")
        within_budget = all(r["steps"] <= row.published_steps for r in ours)
        reached = bool(greedy) and within_budget and mean >= row.published_mean - 1e-9
        ratio = wall / sb3_wall if ours and sb3 else float("nan")
        numbers[row.name] = {"ours": greedy, "mean": mean, "reached": reached,
                             "wall": wall, "sb3_wall": sb3_wall, "ratio": ratio, "cpu": cpu,
                             "sb3": [r["greedy"] for r in sb3]}  # fmt: skip
        steps = f"{ours[0]['steps']:,}" if ours else "-"
        published = f"{row.published_mean:.{d}f} ({row.published_steps:,}"
        published += f", {row.published_env})" if row.published_env else ")"
        lines.append(
            f"| `{row.agent}` | {row.env_id} | {cell(greedy, d)} ({steps}, {len(greedy)}) | "
            f"{wall:.0f} / {cpu:.0f} | {published} | "
            f"{verdict(reached, bool(ours), within_budget)} | "
            f"{cell([r['greedy'] for r in sb3], d)} ({len(sb3)}) | "
            f"{'-' if not sb3 else f'{sb3_wall:.0f} / {sb3_cpu:.0f}'} | "
            f"{'-' if ratio != ratio else f'{ratio:.2f} ({cpu / sb3_cpu:.2f})'} |"
        )
    return "\n".join(lines), numbers


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--sb3-child"]:
        sb3_child(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", choices=list(BY_NAME), default=list(BY_NAME))
    parser.add_argument("--seeds", type=int, default=3, help="seeds per row (0, 1, ...)")
    parser.add_argument("--preset", default="auto", help="auto (built-in), none, or a FILE")
    parser.add_argument(
        "--sb3",
        nargs="+",
        default=CHEAP_ROWS,
        metavar="ROW",
        help="rows to run SB3 with rl-zoo3's settings on ('none': no SB3 runs)",
    )
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON (atomic)")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--fresh", action="store_true", help="ignore the runs --out holds")
    parser.add_argument("--smoke", action="store_true", help="two rows, tiny budgets (CI)")
    args = parser.parse_args(argv)
    sb3_rows = [] if args.sb3 == ["none"] else args.sb3
    unknown = [name for name in sb3_rows if name not in BY_NAME]
    if unknown:
        parser.error(f"--sb3 {unknown[0]}: not a row; choose from {', '.join(BY_NAME)} or none")
    steps_override = None
    out = args.out
    if args.smoke:
        args.rows, args.seeds, args.eval_episodes = SMOKE_ROWS, 1, 2
        sb3_rows, steps_override = ["ppo-CartPole-v1"], SMOKE_STEPS
        out = None if args.out == DEFAULT_OUT else args.out  # never over the committed file
    rows = [BY_NAME[name] for name in args.rows]
    runs = {} if args.fresh else load_runs(out)
    command = "python benchmarks/zoo_table.py " + " ".join(argv)
    meta = {"published": {"repo": ZOO_REPO, "commit": ZOO_COMMIT, "file": ZOO_FILE},
            "command": command.strip(), "cpu_count": os.cpu_count()}  # fmt: skip
    selected: dict[str, str] = {}
    start = time.perf_counter()
    for row in rows:
        settings = resolved_settings(row, args.preset, steps_override, args.eval_episodes)
        selected[row.name] = run_key(row.name, "ours", -1, settings)
        for seed in range(args.seeds):
            jobs = [("ours", settings)]
            if row.name in sb3_rows:
                sb3_steps = steps_override or row.published_steps
                jobs.append(("sb3", {"steps": sb3_steps, "eval_episodes": args.eval_episodes}))
            for who, job in jobs:  # ours, then SB3, one after the other: the same load
                key = run_key(row.name, who, seed, job)
                if key in runs:
                    continue
                try:
                    if who == "ours":
                        result = run_ours(row, seed, args.preset, steps_override,
                                          args.eval_episodes)  # fmt: skip
                    else:
                        result = run_sb3(row, seed, job["steps"], args.eval_episodes)
                except _UNAVAILABLE as error:  # e.g. a Box action space before ppo had one
                    print(f"{row.name:34s} {who:4s} seed {seed}: not run: {error}", flush=True)
                    break
                result.update(
                    key=key,
                    row=row.name,
                    who=who,
                    seed=seed,
                    settings_key=selected[row.name] if who == "ours" else "",
                )
                runs[key] = result
                save_runs(out, runs, meta)
                print(f"{row.name:34s} {who:4s} seed {seed}: greedy {result['greedy']:.3f}, "
                      f"{result['seconds']:.1f} s wall, {result['cpu_seconds']:.1f} s CPU",
                      flush=True)  # fmt: skip
    text, numbers = table(rows, runs, selected)
    total = time.perf_counter() - start
    reached = [name for name, n in numbers.items() if n["reached"]]
    footer = (f"\n\nMeasured by `{command.strip()}` ({total / 60:.1f} min for the runs not "
              f"already in the results file), {os.cpu_count()} CPU cores shared with other jobs, "
              f"one torch thread. Our mean reaches rl-zoo3's published one on {len(reached)} of "
              f"{len(rows)} rows.")  # fmt: skip
    print(text + footer)
    if args.markdown:
        from lecture_rl.agents.checkpoint_io import atomic_write_text

        atomic_write_text(args.markdown, text + footer + "\n")
    return 0


def _unavailable() -> tuple[type[BaseException], ...]:
    from lecture_rl.runners.settings import UsageError

    return (UsageError,)


_UNAVAILABLE = _unavailable()


if __name__ == "__main__":
    sys.exit(main())
