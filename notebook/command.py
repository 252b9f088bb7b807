"""A `lecture-rl` command run from Python: its arguments parsed by the CLI's own parser and
its engine (the command module's `run`) called in this process.

Description:
    `command_args("compare", env="CliffWalking-v1", seeds=10, settings={"alpha": 0.5})`
    turns keywords into the command line the CLI would get (`--env CliffWalking-v1 --seeds 10
    --set alpha=0.5`) and parses it with `build_parser`, so every check the CLI makes is made
    here too; a mistake raises `UsageError` with the CLI's one line instead of exiting.
    `run_command` then calls the command's `run(args, out)` and returns its exit code and
    what it printed.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterable
from typing import Any

from lecture_rl.runners.settings import UsageError


def assignments(values: dict[str, Any] | None) -> list[str]:
    """`{"alpha": 0.5, "net": "lstm"}` as `--set` values: `["alpha=0.5", 'net="lstm"']` (JSON,
    which the CLI parses back to the same values)."""
    return [f"{key}={json.dumps(value)}" for key, value in (values or {}).items()]


def option_words(options: dict[str, Any]) -> list[str]:
    """Keywords as command-line words: `train_episodes=300` -> `--train-episodes 300`, `True`
    -> the bare flag, `False` / `None` -> nothing, a list -> the option once per item."""
    words: list[str] = []
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            words.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return words


def command_args(command: str, *positional: str, **options: Any) -> Any:
    """The `argparse.Namespace` `lecture-rl COMMAND ...` parses to (a `UsageError` where the
    CLI would print an error and exit 2)."""
    from lecture_rl.runners.cli import Parser, build_parser

    argv = [command, *positional, *option_words(options)]
    parser = build_parser()
    Parser.argv = argv
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser.parse_args(argv)
    except SystemExit as exc:
        line = errors.getvalue().strip().splitlines()
        raise UsageError(line[-1] if line else f"lecture-rl {command}: bad arguments") from exc


class Tee(io.TextIOBase):
    """A text stream that keeps what is written and passes it on to `echo` (if any)."""

    def __init__(self, echo: Any = None):
        self.parts: list[str] = []
        self.echo = echo

    def write(self, text: str) -> int:
        self.parts.append(text)
        if self.echo is not None:
            self.echo.write(text)
        return len(text)

    def flush(self) -> None:
        if self.echo is not None:
            self.echo.flush()

    def getvalue(self) -> str:
        return "".join(self.parts)


def run_command(args: Any, *, echo: bool = True) -> tuple[int, str]:
    """Run the parsed command's engine; returns its exit code and what it printed (shown as
    it comes with `echo`)."""
    from lecture_rl.runners.commands import COMMANDS

    modules = {module.NAME: module for module in COMMANDS}
    out = Tee(sys.stdout if echo else None)
    code = modules[args.command].run(args, out)
    return int(code or 0), out.getvalue()


def comma_list(values: Iterable[str] | str) -> str:
    """Agent names as the CLI's comma-separated list (a list or a string)."""
    if isinstance(values, str):
        return values
    return ",".join(str(v) for v in values)
