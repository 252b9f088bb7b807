r"""`lecture-rl compare`: agents x seeds: a table, results.csv, summary.json, curves.png

Train every agent with every seed (in worker processes), evaluate the greedy policies on
fresh seeds, print a summary table and write results.csv, summary.json, curves.png and
config.json to --out.

examples:
  lecture-rl compare --env CliffWalking-v1 --agents q_learning,sarsa --seeds 10 \
      --episodes 500 --set epsilon=0.1 --set alpha=0.5 --set gamma=1 --out runs/cliff
  lecture-rl compare --env LectureRL/Parity-v0 --agents ppo,sb3-contrib:RecurrentPPO \
      --set ppo.net=lstm --steps 100000 --seeds 3 --out runs/parity
  lecture-rl compare --env LectureRL/Parity-v0 \
      --agents 'mlp=ppo(net=mlp),lstm=ppo(net=lstm)' --steps 100000 --out runs/memory
      (variants of one agent, labelled mlp and lstm)
  lecture-rl compare --env LectureRL/Parity-v0 --agents ppo --grid net=mlp,gru,lstm \
      --out runs/grid                           (labels ppo[net=mlp], ...)
  lecture-rl compare --config runs/cliff/config.json --out runs/cliff-again
      (rerun exactly, into a new folder)
  lecture-rl compare ... --executor ray --trial-cpus 1   (on a local Ray)

--set NAME=VALUE applies to every agent, --set AGENT.NAME=VALUE to one.
Rerunning into the same --out runs only the trials not finished there (--fresh starts over).
Exit code 1 when some trials failed (reported; the others are kept); Ctrl-C keeps the
finished trials and writes the summary from them (exit 130). A worker killed mid-trial
(kill -9, out of memory): its trial runs again, up to twice. A full disk: one line, exit
74, the finished trials kept for the rerun. A damaged or edited trial file or results.csv
found by a rerun is named, moved aside (*.rejected) and its trial run again.
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options

NAME = "compare"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    options.add_env_options(parser, required=False)
    parser.add_argument(
        "--agents",
        metavar="A,B,...",
        help="agent names, comma separated, no spaces (sb3:PPO etc. too); variants of one "
        "agent: 'mlp=ppo(net=mlp),lstm=ppo(net=lstm)' (LABEL=AGENT(KEY=VALUE,...))",
    )
    parser.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2",
        help="one variant per value (repeatable: every combination), e.g. --grid net=mlp,lstm",
    )
    parser.add_argument("--seeds", type=int, metavar="N", help="seeds per agent (default 5)")
    parser.add_argument(
        "--first-seed", type=int, metavar="S", help="seeds are S, S+1, ... (default 0)"
    )
    options.add_budget(parser)
    options.add_agent_options(parser, per_agent_preset=True)
    parser.add_argument(
        "--workers", type=int, metavar="K", help="worker processes (default: CPU count)"
    )
    options.add_threads(parser, "each trial")
    parser.add_argument("--out", metavar="DIR", help="output folder (required)")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start over in --out (default: resume, running only unfinished trials)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="config.json from an earlier run, or TOML, same keys"
    )
    parser.add_argument(
        "--eval-episodes", type=int, metavar="N", help="greedy episodes per seed (default 100)"
    )
    options.add_executor(parser)
    return parser


def run(args: argparse.Namespace, out) -> int:
    if uses_local_pool(args):  # start the workers' fork server before loading the rest
        from lecture_rl.runners.processes import warm_up_pool

        warm_up_pool()
    from lecture_rl.runners.compare import run_compare

    return run_compare(args, out)


def uses_local_pool(args: argparse.Namespace) -> bool:
    """Whether the trials will run in local worker processes (more than one worker, no Ray)."""
    import os

    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    remote = getattr(args, "executor", None) or getattr(args, "address", None)
    return workers > 1 and not remote
