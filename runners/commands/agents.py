"""`lecture-rl agents`: list agent names (or show one agent's hyperparameters)

List agent names with a one-line description; with a NAME, show its hyperparameters:
default, accepted values and what each does (one table per agent, the same one that
validates --set).

examples:
  lecture-rl agents
  lecture-rl agents q_learning
  lecture-rl agents ppo --markdown
"""

from __future__ import annotations

import argparse
import inspect

from lecture_rl.runners.commands import options

NAME = "agents"
SB3_NAMES = ("sb3:PPO", "sb3:DQN", "sb3:A2C", "sb3-contrib:RecurrentPPO")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    parser.add_argument("name", nargs="?", help="an agent name, e.g. q_learning")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="with NAME: print the hyperparameter table as Markdown (the README's tables)",
    )
    return parser


def _first_doc_line(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _net_default_lines(cls: type) -> list[str]:
    """One line per backbone with its own defaults (`net_defaults`), e.g. `net=lstm: ...`."""
    groups: dict[str, list[str]] = {}
    for net, values in getattr(cls, "net_defaults", {}).items():
        text = ", ".join(f"{key}={value!r}" for key, value in values.items())
        groups.setdefault(text, []).append(net)
    return [
        f"with net={'/'.join(nets)}, these defaults instead: {text}"
        for text, nets in groups.items()
    ]


def _print_presets(console, name: str) -> None:
    """The envs the agent's built-in preset file has entries for (`--preset`)."""
    from lecture_rl.runners import presets

    path = presets.builtin_file(name)
    if path is None:
        return
    entries = ", ".join(presets.read_file(path))
    console.print(
        f"presets ({presets.shown_path(path)}, picked by --env; --preset none: the defaults "
        f"above): {entries}",
        highlight=False,
    )


def run(args: argparse.Namespace, out) -> int:
    from rich.console import Console
    from rich.table import Table

    from lecture_rl import agents

    console = Console(file=out)
    if args.name:
        from lecture_rl.runners.agent_factory import agent_class

        cls = agent_class(args.name)
        from lecture_rl.agents.hyperparameters import describe

        if args.markdown:
            out.write("| hyperparameter | default | accepts | what it does |\n|---|---|---|---|\n")
            for key, default, accepts, doc in describe(cls.params):
                out.write(f"| `{key}` | `{default!r}` | {accepts} | {doc} |\n")
            return 0

        table = Table(title=f"{args.name}: {_first_doc_line(cls)}")
        table.add_column("hyperparameter")
        table.add_column("default", justify="right")
        table.add_column("accepts")
        table.add_column("what it does")
        for key, default, accepts, doc in describe(cls.params):
            table.add_row(key, repr(default), accepts, doc)
        console.print(table)
        for line in _net_default_lines(cls):
            console.print(line, highlight=False)
        console.print(f"default budget: {getattr(cls, 'default_budget', {})}")
        _print_presets(console, args.name)
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
