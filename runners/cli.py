"""The ``lecture-rl`` command line.

Description:
    ``main(argv)`` parses the arguments, runs one subcommand and returns its exit code:
    0 success, 1 some ``compare`` trials failed, 2 misuse (one line on stderr, naming the
    problem and the fix), 130 interrupted with Ctrl-C (what was learned is kept).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

from lecture_rl.runners.settings import UsageError

PROG = "lecture-rl"

SB3_NAMES = ("sb3:PPO", "sb3:DQN", "sb3:A2C", "sb3-contrib:RecurrentPPO")

MAIN_EPILOG = """\
examples:
  lecture-rl lecture-example                      replay the notes' worked Q-learning example
  lecture-rl watch --env LectureRL/GridWorld-v0 --agent q_learning --train-episodes 300
  lecture-rl compare --env CliffWalking-v1 --agents q_learning,sarsa --seeds 10 \\
      --episodes 500 --set epsilon=0.1 --set alpha=0.5 --set gamma=1 --out runs/cliff
  lecture-rl train --env LectureRL/Parity-v0 --agent ppo --set net=lstm --steps 200000
  lecture-rl evaluate --checkpoint runs/LectureRL_Parity-v0-ppo-0 --env-set length=32 --json

Run 'lecture-rl COMMAND --help' for the options of each command.
"""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``PROG: error: MESSAGE; see 'PROG --help'``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _add_env_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--env",
        required=required,
        metavar="ID",
        help="a Gymnasium id: ours (LectureRL/GridWorld-v0), Gymnasium's (CliffWalking-v1) "
        "or module:Id",
    )
    parser.add_argument(
        "--env-set",
        action="append",
        metavar="KEY=VALUE",
        help="env keyword, e.g. --env-set map_name=cliff (repeatable; values parse as JSON)",
    )


def _add_agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="hyperparameter, e.g. --set alpha=0.5 --set net=lstm (repeatable; JSON values)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        help="where deep agents run (default: auto = cuda if available)",
    )


def _add_budget(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--episodes", type=int, metavar="N", help="train for N episodes")
    group.add_argument("--steps", type=int, metavar="N", help="train for N env steps")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to render ``--help``)."""
    parser = Parser(
        prog=PROG,
        description=_wrap(
            "lecture-rl: watch TD(0), Q-learning, SARSA, DQN and memory-based agents "
            "learn the lecture's environments, and compare them with one command."
        ),
        epilog=MAIN_EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    sub.add_parser(
        "envs",
        help="list our env ids",
        description=_wrap("List the lecture-rl env ids. Any registered Gymnasium id works too."),
        formatter_class=_formatter,
    )
    agents_parser = sub.add_parser(
        "agents",
        help="list agent names (or show one agent's hyperparameters)",
        description=_wrap(
            "List agent names with a one-line description; with a NAME, show its "
            "hyperparameters and their defaults."
        ),
        epilog="examples:\n  lecture-rl agents\n  lecture-rl agents q_learning",
        formatter_class=_formatter,
    )
    agents_parser.add_argument("name", nargs="?", help="an agent name, e.g. q_learning")

    train = sub.add_parser(
        "train",
        help="train one agent and save a checkpoint",
        description=_wrap(
            "Train one agent on one env; write the checkpoint, train_log.csv and "
            "TensorBoard scalars (deep agents) to --out, and print a greedy evaluation."
        ),
        epilog="examples:\n"
        "  lecture-rl train --env LectureRL/GridWorld-v0 --agent q_learning --episodes 300\n"
        "  lecture-rl train --env CliffWalking-v1 --agent sarsa --set epsilon=0.1 --out runs/s\n"
        "  lecture-rl train --env LectureRL/Parity-v0 --agent ppo --set net=lstm --steps 200000"
        "\n\nCtrl-C saves what was learned so far (marked interrupted) and exits 130.",
        formatter_class=_formatter,
    )
    _add_env_options(train)
    train.add_argument("--agent", required=True, metavar="NAME", help="see 'lecture-rl agents'")
    _add_budget(train)
    train.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    _add_agent_options(train)
    train.add_argument(
        "--out", metavar="DIR", help="checkpoint folder (default runs/<env>-<agent>-<seed>)"
    )
    train.add_argument(
        "--eval-episodes", type=int, default=100, metavar="N", help="greedy episodes (100)"
    )

    evaluate = sub.add_parser(
        "evaluate",
        help="greedy evaluation of a checkpoint",
        description=_wrap(
            "Load a checkpoint written by 'train' and evaluate its greedy policy, on "
            "the env recorded in it or on a compatible --env / --env-set."
        ),
        epilog="examples:\n"
        "  lecture-rl evaluate --checkpoint runs/q --episodes 200\n"
        "  lecture-rl evaluate --checkpoint runs/parity --env-set length=32 --json",
        formatter_class=_formatter,
    )
    evaluate.add_argument("--checkpoint", required=True, metavar="PATH")
    _add_env_options(evaluate, required=False)
    evaluate.add_argument("--episodes", type=int, default=100, metavar="N")
    evaluate.add_argument(
        "--seed", type=int, default=None, help="first evaluation seed (default 1000000)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    compare = sub.add_parser(
        "compare",
        help="agents x seeds: a table, results.csv, summary.json, curves.png",
        description=_wrap(
            "Train every agent with every seed (in worker processes), evaluate the "
            "greedy policies on fresh seeds, print a summary table and write results.csv, "
            "summary.json, curves.png and config.json to --out."
        ),
        epilog="examples:\n"
        "  lecture-rl compare --env CliffWalking-v1 --agents q_learning,sarsa --seeds 10 \\\n"
        "      --episodes 500 --set epsilon=0.1 --set alpha=0.5 --set gamma=1 --out runs/cliff\n"
        "  lecture-rl compare --env LectureRL/Parity-v0 --agents ppo,sb3-contrib:RecurrentPPO \\\n"
        "      --set ppo.net=lstm --steps 100000 --seeds 3 --out runs/parity\n"
        "  lecture-rl compare --config runs/cliff/config.json   (rerun exactly)\n\n"
        "--set NAME=VALUE applies to every agent, --set AGENT.NAME=VALUE to one.\n"
        "Exit code 1 when some trials failed (reported; the others are kept); Ctrl-C keeps "
        "the finished trials and writes the summary from them (exit 130).",
        formatter_class=_formatter,
    )
    _add_env_options(compare, required=False)
    compare.add_argument(
        "--agents", metavar="A,B,...", help="agent names, comma separated (sb3:PPO etc. too)"
    )
    compare.add_argument("--seeds", type=int, metavar="N", help="seeds per agent (default 5)")
    compare.add_argument(
        "--first-seed", type=int, metavar="S", help="seeds are S, S+1, ... (default 0)"
    )
    _add_budget(compare)
    _add_agent_options(compare)
    compare.add_argument(
        "--workers", type=int, metavar="K", help="worker processes (default: CPU count)"
    )
    compare.add_argument("--out", metavar="DIR", help="output folder (required)")
    compare.add_argument(
        "--config", metavar="FILE", help="config.json from an earlier run, or TOML, same keys"
    )
    compare.add_argument(
        "--eval-episodes", type=int, metavar="N", help="greedy episodes per seed (default 100)"
    )

    watch = sub.add_parser(
        "watch",
        help="watch an agent learn live in a window (or load one and watch it play)",
        description=_wrap(
            "Train an agent (--agent, or two side by side with --agents A,B) live in a pygame "
            "window: every step is drawn after the agent learned from it, with Q triangles, "
            "the update in the notes' notation and the return per episode; then greedy "
            "episodes. Keys: Space pause, → step, +/− speed, g greedy, r restart, h help, "
            "Esc quit. --no-live trains first and replays; --checkpoint loads an agent."
        ),
        epilog="examples:\n"
        "  lecture-rl watch --env LectureRL/GridWorld-v0 --agent q_learning --train-episodes 60\n"
        "  lecture-rl watch --env CliffWalking-v1 --agents sarsa,q_learning "
        "--set epsilon=0.1 --set alpha=0.5 --set gamma=1\n"
        "  lecture-rl watch --env CliffWalking-v1 --agent q_learning --record cliff.gif "
        "--max-frames 300\n"
        "  lecture-rl watch --checkpoint runs/q --fps 2",
        formatter_class=_formatter,
    )
    _add_env_options(watch, required=False)
    watch.add_argument("--agent", metavar="NAME")
    watch.add_argument("--checkpoint", metavar="PATH")
    watch.add_argument("--train-episodes", type=int, metavar="N", help="default: agent's budget")
    watch.add_argument("--seed", type=int, default=0)
    _add_agent_options(watch)
    watch.add_argument("--fps", type=float, default=None, help="frames per second")
    watch.add_argument("--episodes", type=int, default=5, help="episodes to show (5)")
    watch.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    watch.add_argument(
        "--agents", metavar="A,B", help="two agents learning side by side (same env and seeds)"
    )
    watch.add_argument(
        "--no-live", action="store_true", help="train off-screen first, then replay greedily"
    )
    watch.add_argument("--record", metavar="FILE", help="write the frames shown to .gif or .mp4")
    watch.add_argument("--zoom", type=float, default=None, help="scale the window (e.g. 1.5)")

    play = sub.add_parser(
        "play",
        help="play an env yourself from the keyboard",
        description=_wrap(
            "Play an env from the keyboard (arrows on grids, 0/1 on Parity, digits "
            "on Copy). Escape or closing the window quits."
        ),
        epilog="examples:\n  lecture-rl play --env LectureRL/GridWorld-v0 --env-set map_name=maze"
        "\n  lecture-rl play --env LectureRL/Parity-v0 --env-set length=8",
        formatter_class=_formatter,
    )
    _add_env_options(play)
    play.add_argument("--fps", type=int, default=None)
    play.add_argument("--zoom", type=float, default=None, help="scale the window")
    play.add_argument("--seed", type=int, default=None)
    play.add_argument("--max-frames", type=int, default=None, help="stop after N frames")

    example = sub.add_parser(
        "lecture-example",
        help="replay the notes' worked Q-learning example (000 §7.f)",
        description=_wrap(
            "Replay notes 000 §7.f on the lecture map (alpha=0.5, gamma=0.7), printing "
            "every update and the Q-table and greedy arrows before and after."
        ),
        formatter_class=_formatter,
    )
    example.add_argument("--window", action="store_true", help="also show it on the grid")

    vanishing = sub.add_parser(
        "vanishing-gradient",
        help="measure ||dL/dh_k|| against k for RNN, GRU and LSTM (notes 003)",
        description=_wrap(
            "The vanishing-gradient demonstration of notes 003: gradient norms of the "
            "loss at the last step with respect to earlier hidden states, for RNN, GRU and LSTM."
        ),
        epilog="example:\n  lecture-rl vanishing-gradient --length 100 --out vanishing.png",
        formatter_class=_formatter,
    )
    vanishing.add_argument("--length", type=int, default=100, help="sequence length (100)")
    vanishing.add_argument("--hidden", type=int, default=32, help="hidden size (32)")
    vanishing.add_argument("--seed", type=int, default=0)
    vanishing.add_argument("--out", default="vanishing_gradient.png", help="plot file")
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lecture-rl")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


# --------------------------------------------------------------------------------------------
# Small commands
# --------------------------------------------------------------------------------------------


def _first_doc_line(obj: object) -> str:
    import inspect

    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def cmd_envs(out) -> int:
    from rich.console import Console
    from rich.table import Table

    from lecture_rl.runners.env_factory import describe_envs

    table = Table(title="lecture-rl environments")
    table.add_column("id")
    table.add_column("what")
    table.add_column("--env-set keywords")
    for env_id, text, keywords in describe_envs():
        table.add_row(env_id, text, keywords)
    console = Console(file=out)
    console.print(table)
    console.print(
        "Any registered Gymnasium id works too, e.g. CliffWalking-v1, FrozenLake-v1, Taxi-v4, "
        "or module:Id for your own package."
    )
    return 0


def cmd_agents(name: str | None, out) -> int:
    from rich.console import Console
    from rich.table import Table

    from lecture_rl import agents

    console = Console(file=out)
    if name:
        from lecture_rl.runners.train import agent_class

        cls = agent_class(name)
        table = Table(title=f"{name}: {_first_doc_line(cls)}")
        table.add_column("hyperparameter")
        table.add_column("default", justify="right")
        for key, value in cls.defaults.items():
            table.add_row(key, repr(value))
        console.print(table)
        console.print(f"default budget: {getattr(cls, 'default_budget', {})}")
        return 0
    table = Table(title="lecture-rl agents")
    table.add_column("name")
    table.add_column("what")
    for agent in [*agents.names(), *SB3_NAMES]:
        try:
            text = _first_doc_line(agents.agent_class(agent)) or "(no description)"
        except Exception as exc:  # noqa: BLE001 - one broken agent must not hide the others
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            text = f"[dim]unavailable ({type(exc).__name__}: {reason})[/dim]"
        table.add_row(agent, text)
    console.print(table)
    console.print("'lecture-rl agents NAME' shows an agent's hyperparameters.")
    return 0


def cmd_lecture_example(window: bool, out) -> int:
    try:
        from lecture_rl.runners.lecture_example import run_lecture_example
    except ImportError as exc:
        raise UsageError(f"the lecture example is not available in this install ({exc})") from exc
    return int(run_lecture_example(window=window, out=out) or 0)


def cmd_vanishing_gradient(args: argparse.Namespace, out) -> int:
    import numpy as np

    for flag, value, low in (("--length", args.length, 2), ("--hidden", args.hidden, 1)):
        if value < low:
            raise UsageError(f"{flag} must be at least {low}, got {value}")
    try:
        from lecture_rl.nets.vanishing_gradient import run_demo
    except ImportError as exc:
        raise UsageError(f"the vanishing-gradient demo is not available ({exc})") from exc
    norms = run_demo(args.length, args.hidden, args.seed, args.out)
    distances = sorted({0, 1, 5, 10, 25, 50, 100, args.length - 1} & set(range(args.length)))
    out.write(f"||dL/dh_k|| at distance T-1-k from the last step (T={args.length}):\n")
    out.write("cell  " + "".join(f"{d:>11}" for d in distances) + "\n")
    for cell, values in norms.items():
        values = np.asarray(values, dtype=float)
        row = "".join(f"{values[len(values) - 1 - d]:11.3e}" for d in distances)
        out.write(f"{cell:<6}{row}\n")
    out.write(f"plot saved to {args.out}\n")
    return 0


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, out=None) -> int:
    """Run ``lecture-rl`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    from lecture_rl.agents import CheckpointError, HyperparameterError, TrainingDiverged

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    out = out if out is not None else sys.stdout
    if args.command is None:
        parser.print_help(out)
        return 0
    try:
        return _dispatch(args, out)
    except UsageError as exc:
        return _fail(str(exc))
    except (HyperparameterError, CheckpointError, TrainingDiverged) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130


def _fail(message: str) -> int:
    line = " ".join(message.split()) or "failed"
    sys.stderr.write(f"{PROG}: error: {line}\n")
    sys.stderr.flush()
    return 2


def _dispatch(args: argparse.Namespace, out) -> int:
    command = args.command
    if command == "envs":
        return cmd_envs(out)
    if command == "agents":
        return cmd_agents(args.name, out)
    if command == "lecture-example":
        return cmd_lecture_example(args.window, out)
    if command == "vanishing-gradient":
        return cmd_vanishing_gradient(args, out)
    if command == "train":
        from lecture_rl.runners.train import run_train

        return run_train(args, out)
    if command == "evaluate":
        from lecture_rl.runners.evaluate import run_evaluate

        return run_evaluate(args, out)
    if command == "compare":
        from lecture_rl.runners.compare import run_compare

        return run_compare(args, out)
    if command == "watch":
        from lecture_rl.runners.watch import run_watch

        return run_watch(args, out)
    if command == "play":
        from lecture_rl.runners.play import run_play

        return run_play(args, out)
    raise UsageError(f"unknown command '{command}'")  # pragma: no cover - argparse checks


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
