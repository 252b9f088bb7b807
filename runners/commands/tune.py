r"""`lecture-rl tune`: search an agent's hyperparameters with Optuna; the best become a preset

Each trial trains one point of the agent's search space with --seeds seeds (compare's workers,
or Ray) and scores it by the mean greedy return after training. Optuna's TPE sampler picks the
next point from the results so far; the median pruner stops a trial whose greedy return, scored
at --evaluations points while it trains, falls below the median of the finished trials at that
point. The study lives in SQLite in --out (study.db): rerun the same command after a crash,
kill -9 or Ctrl-C and it runs only the trials still missing (a trial cut off is run again,
counted once). The best settings are written as a preset, OUT/AGENT.yml, that 'lecture-rl
train --preset FILE' takes, with report.md (trials table, parameter importances, the best
trial's curve), trials.csv and summary.json. Needs Optuna: pip install "lecture-rl[tune]".

examples:
  lecture-rl tune --env CartPole-v1 --agent ppo --steps 20000 --trials 40 --seeds 3 \
      --out runs/tune-cartpole
  lecture-rl train --env CartPole-v1 --agent ppo --preset runs/tune-cartpole/ppo.yml
  lecture-rl tune --agent ppo --show-space         (the default space, and exit)
  lecture-rl tune --env CliffWalking-v1 --agent q_learning --episodes 300 --set gamma=1 \
      --only alpha,epsilon --out runs/tune-cliff  (search two settings, fix gamma)
  lecture-rl tune ... --space lr=log(1e-4,1e-2) --space n_steps=choice(16,32,64)
  lecture-rl tune ... --executor ray --trial-cpus 1   (trials on a local Ray or a cluster)

space forms: log(LOW,HIGH) log-uniform, float(LOW,HIGH), int(LOW,HIGH), logint(LOW,HIGH),
choice(A,B,...) (values parse as JSON, like --set). Sampled floats are rounded to 3
significant digits. With --workers 1 the same command gives the same study.
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options
from lecture_rl.runners.settings import UsageError

NAME = "tune"
INSTALL = (
    'tune needs Optuna, which is not installed; install it with: pip install "lecture-rl[tune]"'
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    options.add_env_options(parser, required=False)
    parser.add_argument("--agent", required=True, metavar="NAME", help="the agent to tune")
    options.add_agent_options(parser)
    search = parser.add_argument_group("the search")
    search.add_argument(
        "--space",
        action="append",
        metavar="NAME=DIST",
        help="search NAME over DIST, adding it or replacing the default, e.g. "
        "lr=log(1e-5,1e-2) (repeatable); --set NAME=VALUE fixes one instead",
    )
    search.add_argument(
        "--only", metavar="A,B,...", help="search only these dimensions (the rest: defaults)"
    )
    search.add_argument(
        "--show-space", action="store_true", help="print the space that would be searched, exit"
    )
    search.add_argument(
        "--trials",
        type=int,
        metavar="N",
        help="trials in the study (default 20; a larger N goes on)",
    )
    search.add_argument("--seeds", type=int, metavar="N", help="seeds per trial (default 2)")
    options.add_budget(search)
    search.add_argument(
        "--evaluations",
        type=int,
        metavar="N",
        help="greedy scores per trial, the last after training (default 5: at 20%%, 40%%, ... "
        "of the budget); the pruner reads the ones during training",
    )
    search.add_argument(
        "--eval-episodes", type=int, metavar="N", help="greedy episodes per score (default 10)"
    )
    search.add_argument(
        "--pruner", choices=("median", "none"), help="stop poor trials early (default median)"
    )
    search.add_argument(
        "--startup-trials",
        type=int,
        metavar="N",
        help="random trials before TPE models the results, and trials that complete before "
        "the pruner prunes (default 5)",
    )
    search.add_argument("--seed", type=int, metavar="S", help="seed of the sampler (default 0)")
    runs = parser.add_argument_group("where trials run")
    runs.add_argument(
        "--workers", type=int, metavar="K", help="worker processes (default: CPU count)"
    )
    options.add_threads(runs, "each trial")
    options.add_executor(
        runs, "; on a cluster, a pruned trial stops early only where its node sees --out"
    )
    parser.add_argument("--out", metavar="DIR", help="the study's folder (required)")
    parser.add_argument(
        "--fresh", action="store_true", help="start over in --out (default: continue its study)"
    )
    return parser


def run(args: argparse.Namespace, out) -> int:
    if not args.show_space:
        try:
            import optuna  # noqa: F401
        except ImportError as exc:
            raise UsageError(INSTALL) from exc
        if not args.env:
            raise UsageError("tune needs --env ID (the env to tune on)")
    from lecture_rl.runners.commands.compare import uses_local_pool

    if not args.show_space and uses_local_pool(args):
        from lecture_rl.runners.processes import warm_up_pool

        warm_up_pool()  # the workers' imports overlap the planning
    from lecture_rl.runners.tune import run_tune

    return run_tune(args, out)
