"""The `lecture-rl` command line.

Description:
    `main(argv)` parses the arguments, runs one subcommand and returns its exit code:
    0 success, 1 some `compare` trials failed, 2 misuse (one line on stderr, naming the
    problem and the fix), 74 an I/O error during the run (a full disk, a read-only file
    system: one line naming the file and the cause, `runners/io_faults.py`; finished files are
    kept), 130 interrupted with Ctrl-C (what was learned is kept). Each command is a module in
    `lecture_rl.runners.commands` that registers its own parser; every command, present and
    future, gets the same guard here.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence

from lecture_rl.runners.commands import COMMANDS
from lecture_rl.runners.commands.options import formatter, wrap
from lecture_rl.runners.io_faults import EX_IOERR, describe, storage_fault
from lecture_rl.runners.settings import UsageError

PROG = "lecture-rl"

MAIN_EPILOG = """\
examples:
  lecture-rl lecture-example                      replay the notes' worked Q-learning example
  lecture-rl watch --env LectureRL/GridWorld-v0 --agent q_learning --train-episodes 300
  lecture-rl compare --env CliffWalking-v1 --agents q_learning,sarsa --seeds 10 \\
      --episodes 500 --set epsilon=0.1 --set alpha=0.5 --set gamma=1 --out runs/cliff
  lecture-rl train --env LectureRL/Parity-v0 --agent ppo --set net=lstm --steps 200000
  lecture-rl evaluate --checkpoint runs/LectureRL_Parity-v0-ppo-0 --env-set length=32 --json

exit codes: 0 done, 1 some compare trials failed, 2 misuse, 74 an I/O error during
the run (a full disk, a read-only file system; finished files are kept), 130 Ctrl-C.

Run 'lecture-rl COMMAND --help' for the options of each command.
"""

#: options that take one value, after which a second bare word is probably a missing comma
_LIST_OPTIONS = ("--agents",)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `PROG: error: MESSAGE; see 'PROG --help'`, exit 2,
    and hints for the common slips (a misspelt command, a space instead of a comma)."""

    argv: Sequence[str] = ()

    def error(self, message: str) -> None:  # type: ignore[override]
        message = _hint(message, list(Parser.argv))
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _hint(message: str, argv: list[str]) -> str:
    if "invalid choice:" in message and "argument COMMAND" in message:
        word = message.split("invalid choice:", 1)[1].split("(", 1)[0].strip().strip("'\"")
        names = [module.NAME for module in COMMANDS]
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.5)
        if close:
            return f"unknown command '{word}' (did you mean '{close[0]}'?)"
        return f"unknown command '{word}'; commands: {', '.join(names)}"
    if message.startswith("unrecognized arguments:"):
        extra = message.split(":", 1)[1].split()
        for option in _LIST_OPTIONS:
            if option in argv:
                index = argv.index(option)
                following = argv[index + 1 : index + 1 + 1 + len(extra)]
                if len(following) > 1 and following[1:] == extra[: len(following) - 1]:
                    joined = ",".join(following)
                    return f"{message} ({option} takes one comma-separated list: {option} {joined})"
    return message


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to render `--help`)."""
    parser = Parser(
        prog=PROG,
        description=wrap(
            "lecture-rl: watch TD(0), Q-learning, SARSA, DQN and memory-based agents "
            "learn the lecture's environments, and compare them with one command."
        ),
        epilog=MAIN_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lecture-rl")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _set_threads(args: argparse.Namespace) -> None:
    """`--threads N` (default 1: fastest for our small nets) for train, watch, evaluate;
    set before torch loads where possible, so its thread pool starts at that size."""
    threads = getattr(args, "threads", None)
    if args.command == "compare" or (threads is None and "threads" not in vars(args)):
        return
    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    if threads is None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        count = int(os.environ["OMP_NUM_THREADS"]) if os.environ["OMP_NUM_THREADS"].isdigit() else 1
    else:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        count = threads
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(max(1, count))


def main(argv: Sequence[str] | None = None, out=None) -> int:
    """Run `lecture-rl` with `argv` (default `sys.argv[1:]`); returns the exit code."""
    from lecture_rl.agents import CheckpointError, HyperparameterError, TrainingDiverged

    parser = build_parser()
    Parser.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    out = out if out is not None else sys.stdout
    if args.command is None:
        parser.print_help(out)
        return 0
    commands = {module.NAME: module for module in COMMANDS}
    try:
        _set_threads(args)
        return commands[args.command].run(args, out)
    except UsageError as exc:
        return _fail(str(exc))
    except (HyperparameterError, CheckpointError, TrainingDiverged) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except Exception as exc:  # a full disk, a read-only file system, EIO: during the run
        fault = storage_fault(exc)
        if fault is None:
            raise
        _fail(describe(fault))
        return EX_IOERR


def _fail(message: str) -> int:
    line = " ".join(message.split()) or "failed"
    sys.stderr.write(f"{PROG}: error: {line}\n")
    sys.stderr.flush()
    return 2


def script() -> None:
    """The `lecture-rl` command: `main` (SIGTERM handled like Ctrl-C), then exit
    without the interpreter's slow tidy-up.

    torch, scipy and matplotlib leave about a million objects behind; the garbage collector
    walks them again and again while the interpreter shuts down (0.3-0.9 s after every command).
    Freezing them first skips only that walk: files are closed, buffers flushed and exit
    handlers run as usual."""
    import signal

    def terminate(signum, frame) -> None:  # a scheduler's or `kill`'s SIGTERM is a Ctrl-C:
        raise KeyboardInterrupt  # train saves a resumable checkpoint, compare its summary

    signal.signal(signal.SIGTERM, terminate)
    code = main()
    import gc

    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    script()
