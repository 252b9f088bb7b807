"""The `lecture-rl` commands: one module each, with `NAME`, `add_parser(subparsers)`
(registers the command's options, help and examples) and `run(args, out)` (returns the exit
code). A new command is a new module here, listed in `COMMANDS`; copy `envs.py`."""

from __future__ import annotations

from lecture_rl.runners.commands import (
    agents,
    compare,
    envs,
    evaluate,
    experiment,
    inspect,
    lecture_example,
    play,
    train,
    tune,
    vanishing_gradient,
    watch,
)

#: in the order `lecture-rl --help` lists them
COMMANDS = (
    envs,
    agents,
    train,
    evaluate,
    compare,
    tune,
    watch,
    inspect,
    play,
    lecture_example,
    vanishing_gradient,
    experiment,
)
