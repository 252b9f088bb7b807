"""`lecture-rl envs`: list our env ids

List the lecture-rl env ids. Any registered Gymnasium id works too.

example:
  lecture-rl envs
"""

from __future__ import annotations

import argparse

from lecture_rl.runners.commands import options

NAME = "envs"


def add_parser(subparsers) -> argparse.ArgumentParser:
    return options.command_parser(subparsers, NAME, __doc__)


def run(args: argparse.Namespace, out) -> int:
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
