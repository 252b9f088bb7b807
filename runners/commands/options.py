"""Option groups shared by several commands, and the help formatting."""

from __future__ import annotations

import argparse
import re
import textwrap


def wrap(text: str) -> str:
    return textwrap.fill(text, width=88)


def formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def command_parser(subparsers, name: str, doc: str) -> argparse.ArgumentParser:
    r"""The parser of command `name`, its texts taken from its module's docstring.

    The docstring reads ``\`\`lecture-rl NAME\`\`: HELP` (the one-line help of `lecture-rl
    --help``), then a paragraph, the description (rewrapped), then the examples from a line
    that starts `example` on, kept as written.
    """
    summary, rest = doc.strip().split("\n\n", 1)
    description, examples = re.split(r"\n\n(?=examples?:)", rest, maxsplit=1)
    return subparsers.add_parser(
        name,
        help=" ".join(summary.split()).split(": ", 1)[1],
        description=wrap(" ".join(description.split())),
        epilog=examples,
        formatter_class=formatter,
    )


def add_env_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
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


def add_agent_options(parser: argparse.ArgumentParser, per_agent_preset: bool = False) -> None:
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="hyperparameter, e.g. --set alpha=0.5 --set net=lstm (repeatable; JSON values)",
    )
    add_preset(parser, per_agent_preset)
    add_device(parser)


def add_preset(parser: argparse.ArgumentParser, per_agent: bool = False) -> None:
    """`--preset auto|none|FILE`: the per-env settings an agent trains with."""
    one = " (compare: AGENT=FILE for one agent; repeatable)" if per_agent else ""
    parser.add_argument(
        "--preset",
        action="append" if per_agent else "store",
        metavar="auto|none|FILE",
        help="per-env settings: auto (default) takes the agent's built-in entry for --env "
        "(lecture_rl/assets/presets/AGENT.yml), none the agent's defaults, FILE a preset file "
        f"of that format{one}; --set and --env-set override it",
    )


def add_device(parser: argparse.ArgumentParser, what: str = "deep agents run") -> None:
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        help=f"where {what} (default: auto = cuda if available)",
    )


def add_load_device(parser: argparse.ArgumentParser) -> None:
    """`--device` for commands that load a checkpoint: where its networks go."""
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        help="where a deep agent's networks run (default: the device it was trained on, the "
        "CPU where that is missing; a checkpoint loads on any device)",
    )


def add_budget(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--episodes", type=int, metavar="N", help="train for N episodes")
    group.add_argument("--steps", type=int, metavar="N", help="train for N env steps")


def add_threads(parser: argparse.ArgumentParser, what: str = "training") -> None:
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"torch threads for {what} (default: 1 for small nets, the fastest for them)",
    )


def add_executor(parser, note: str = "") -> None:
    """`--executor`, `--address`, `--trial-cpus`, `--trial-gpus`: where trials run
    (compare's executors); `note` ends the `--executor` help."""
    parser.add_argument(
        "--executor",
        metavar="local|ray|ray://HOST:PORT",
        help="where trials run: local processes (default), a local Ray, or a Ray cluster "
        '(needs the extra: pip install "lecture-rl[cluster]")' + note,
    )
    parser.add_argument(
        "--address", metavar="HOST:PORT", help="join this Ray cluster (implies --executor ray)"
    )
    parser.add_argument(
        "--trial-cpus", type=float, metavar="N", help="CPUs per Ray trial (default 1)"
    )
    parser.add_argument(
        "--trial-gpus", type=float, metavar="N", help="GPUs per Ray trial (default 0)"
    )
