"""Benchmark: our PPO (and recurrent DQN) on six POPGym envs, next to POPGym's published setup.

Every (env, agent) pair trains with `--seeds` seeds for `--steps` env steps through
`lecture_rl.runners.env_factory.make_env` (the same adapters as `lecture-rl train`:
Autoencode's tuple observation flattened, MineSweeper's `MultiDiscrete` action as one
`Discrete`), with the agent's defaults and nothing else set. Measured per run:

- **MMER**, POPGym's score (Morad et al. 2023, §5 "max-mean episodic return"): the training
  episodes are grouped into `--windows` equal spans of env steps; the score is the largest
  mean return of a span. Returns are on POPGym's scale, an episode's return lies in [-1, 1];
- the **greedy** mean return of the final policy on `--eval-episodes` fresh episodes;
- the wall time. The **random** policy's mean return is measured once per env as the floor.

Printed per env and agent: mean and 95% t-interval over seeds. `--markdown PATH` also
writes the table (atomically). POPGym's own runs (`popgym/baselines/ppo.py` in
github.com/proroklab/popgym): RLlib PPO, 15M env steps per trial (`POPGYM_STEPS`), batches of
65,536 steps (4 workers x 16 envs x 1,024), 128-wide MLP layers around a 256-wide memory, the
previous action appended to the observation; the paper says its envs "often converge within
two hours of training on a consumer-grade GPU".

The **theirs** column: POPGym's own baseline code run on this machine by
`benchmarks/popgym_reference.py` (their GRU faces our `ppo-gru`, their LSTM our
`ppo-lstm`), read from `--theirs` (default `benchmarks/results/popgym_reference.json`);
`-` where it has no run.

Usage:

```text
python benchmarks/popgym_table.py --smoke                        # CI: seconds
python benchmarks/popgym_table.py --markdown docs/popgym_table.md  # the table in docs
```
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from lecture_rl import agents  # noqa: E402
from lecture_rl.agents.checkpoint_io import atomic_write_text  # noqa: E402
from lecture_rl.agents.stats import mean_ci95  # noqa: E402
from lecture_rl.runners import presets  # noqa: E402
from lecture_rl.runners.env_factory import make_env  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from popgym_reference import DEFAULT_OUT, load_results, theirs_cell  # noqa: E402

#: the issue's names -> (POPGym 1.0.7 id, env keywords); "Stateless CartPole" is POPGym's
#: position-only one
ENVS: dict[str, tuple[str, dict]] = {
    "RepeatPreviousEasy": ("popgym-RepeatPreviousEasy-v0", {}),
    "CountRecallEasy": ("popgym-CountRecallEasy-v0", {}),
    "AutoencodeEasy": ("popgym-AutoencodeEasy-v0", {}),
    "StatelessCartPoleEasy": ("popgym-PositionOnlyCartPoleEasy-v0", {}),
    "MineSweeperEasy": ("popgym-MineSweeperEasy-v0", {}),
    "HigherLowerEasy": ("popgym-HigherLowerEasy-v0", {}),
}
#: what the peer published for each env, with its budget (the table's last column)
REFERENCE = {
    name: "RLlib PPO, 15M steps; per-env MMER: paper appendix (not retrieved here)" for name in ENVS
}
SMOKE_ENVS = ["RepeatPreviousEasy", "MineSweeperEasy"]
#: label -> (agent, hyperparameters)
AGENTS = {
    "ppo-mlp": ("ppo", {"net": "mlp"}),
    "ppo-gru": ("ppo", {"net": "gru"}),
    "ppo-lstm": ("ppo", {"net": "lstm"}),
    "ppo-transformer": ("ppo", {"net": "transformer"}),
    "dqn-gru": ("dqn", {"net": "gru"}),
}
DEFAULT_AGENTS = ["ppo-mlp", "ppo-gru", "ppo-lstm"]
SMOKE_SETTINGS = {"num_envs": 4, "n_steps": 8, "num_minibatches": 2}


@dataclass
class Row:
    env: str
    agent: str
    mmer: list[float] = field(default_factory=list)
    greedy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    steps: int = 0


#: a span needs this many finished episodes to count for the MMER: with long episodes (Minigrid,
#: 250 steps) and 128 envs, an early span holds one or two lucky episodes, whose mean is no score
MIN_EPISODES_PER_SPAN = 10


def mmer(episodes: list[dict], budget: int, windows: int) -> float:
    """POPGym's max-mean episodic return: the best mean return over `windows` equal spans of
    env steps (spans with fewer than `MIN_EPISODES_PER_SPAN` finished episodes are skipped;
    nan when none has that many)."""
    if not episodes:
        return float("nan")
    steps = np.array([e["env_steps"] for e in episodes], dtype=float)
    returns = np.array([e["return"] for e in episodes], dtype=float)
    span = np.minimum((steps * windows / max(budget, 1)).astype(int), windows - 1)
    counts = np.bincount(span, minlength=windows)
    means = [
        returns[span == k].mean() for k in range(windows) if counts[k] >= MIN_EPISODES_PER_SPAN
    ]
    return float(max(means)) if means else float("nan")


def random_return(env_id: str, env_kwargs: dict, episodes: int, seed: int) -> float:
    """Mean return of uniformly random actions (the floor of each row)."""
    env = make_env(env_id, env_kwargs)
    rng = np.random.default_rng(seed)
    env.action_space.seed(int(rng.integers(2**31)))
    total = []
    for i in range(episodes):
        env.reset(seed=seed + i)
        done, ret = False, 0.0
        while not done:
            _, r, term, trunc, _ = env.step(env.action_space.sample())
            ret += float(r)
            done = term or trunc
        total.append(ret)
    env.close()
    return float(np.mean(total))


def run_one(env: tuple[str, dict], label: str, seed: int, args: argparse.Namespace) -> tuple:
    """Train one agent on one env; its MMER, greedy return and training seconds."""
    name, hp = AGENTS[label]
    hp = dict(hp)
    if args.smoke:
        hp.update(SMOKE_SETTINGS if name == "ppo" else {"num_envs": 4})
    hp = presets.settings_for(name, env[0], hp)  # as `lecture-rl train` picks it
    env = make_env(*env)
    agent = agents.make(name, env, seed=seed, **hp)
    start = time.perf_counter()
    result = agent.train(env, steps=args.steps)
    seconds = time.perf_counter() - start
    greedy = agent.evaluate(env, args.eval_episodes, seed=1_000_000 + 1000 * seed)
    env.close()
    return mmer(result.episodes, args.steps, args.windows), greedy["return_mean"], seconds


def cell(values: list[float]) -> str:
    """`mean ± half-width of the 95% t-interval` over seeds."""
    mean, _, (low, _) = mean_ci95(values)
    return f"{mean:+.3f} ± {mean - low:.3f}"


def table(
    rows: list[Row],
    floors: dict,
    reference: dict,
    args: argparse.Namespace,
    theirs: dict | None = None,
) -> str:
    """The Markdown table; with `theirs` (`popgym_reference`'s results), a column of
    POPGym's code run here beside each of our rows."""
    head = "| env | agent | our steps | seeds | MMER (ours) | greedy return (ours) | random policy "
    head += "| wall s / run |"
    if theirs is not None:
        head += " MMER of POPGym's code, run here (its budget, wall s) |"
    lines = [head + " published reference (its budget) |", "|---" * head.count("|") + "|"]
    for row in rows:
        line = (
            f"| {row.env} | {row.agent} | {row.steps:,} | {len(row.mmer)} | {cell(row.mmer)} | "
            f"{cell(row.greedy)} | {floors[row.env]:+.3f} | {np.mean(row.seconds):.0f} |"
        )
        if theirs is not None:
            line += f" {theirs_cell(theirs, row.env, row.agent)} |"
        lines.append(line + f" {reference[row.env]} |")
    return "\n".join(lines)


def main(
    argv: list[str] | None = None,
    *,
    envs: dict[str, tuple[str, dict]] = ENVS,
    reference: dict[str, str] = REFERENCE,
    smoke_envs: list[str] = SMOKE_ENVS,
    smoke_agents: tuple[str, ...] = ("ppo-mlp", "ppo-gru", "dqn-gru"),
    default_steps: int = 200_000,
    theirs_column: bool = True,
    doc: str = __doc__,
    script: str = "benchmarks/popgym_table.py",
) -> int:
    """Run the table for `envs` (`benchmarks/minigrid_memory.py` passes its own)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(envs), choices=list(envs))
    parser.add_argument("--agents", nargs="+", default=DEFAULT_AGENTS, choices=list(AGENTS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=default_steps, help="env steps per run")
    parser.add_argument("--windows", type=int, default=20, help="spans for the MMER")
    parser.add_argument("--eval-episodes", type=int, default=200)
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    if theirs_column:
        parser.add_argument(
            "--theirs",
            type=Path,
            default=DEFAULT_OUT,
            help="runs of POPGym's code (benchmarks/popgym_reference.py --out)",
        )
    parser.add_argument("--smoke", action="store_true", help="two envs, tiny budget (CI)")
    args = parser.parse_args(argv)
    theirs = None
    if theirs_column:  # read before any training, so a bad file costs no finished work
        try:
            theirs = load_results(args.theirs)
        except (OSError, ValueError) as error:
            parser.error(f"cannot read --theirs {args.theirs}: {error}; pass a file written "
                         "by benchmarks/popgym_reference.py --out")  # fmt: skip
    if args.smoke:
        args.envs, args.seeds, args.steps = smoke_envs, 1, 256
        args.agents, args.eval_episodes, args.windows = list(smoke_agents), 2, 2
    torch.set_num_threads(1)
    start = time.perf_counter()
    rows, floors = [], {}
    for env_name in args.envs:
        env = envs[env_name]
        floors[env_name] = random_return(*env, 50 if not args.smoke else 2, seed=7)
        for label in args.agents:
            row = Row(env_name, label, steps=args.steps)
            for seed in range(args.seeds):
                score, greedy, seconds = run_one(env, label, seed, args)
                row.mmer.append(score)
                row.greedy.append(greedy)
                row.seconds.append(seconds)
                print(
                    f"{env_name:22s} {label:16s} seed {seed}: MMER {score:+.3f}, greedy "
                    f"{greedy:+.3f}, {seconds:.0f} s",
                    flush=True,
                )
            rows.append(row)
    total = time.perf_counter() - start
    text = table(rows, floors, reference, args, theirs)
    command = f"python {script} " + " ".join(argv if argv is not None else sys.argv[1:])
    footer = (
        f"\n\nMeasured by `{command.strip()}`: {args.seeds} seed(s), {args.steps:,} env steps "
        f"per run, total wall time {total / 60:.1f} min on {os.cpu_count()} CPU core(s), "
        "one torch thread, the machine shared with other jobs."
    )
    print(text + footer)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.markdown, text + footer + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
