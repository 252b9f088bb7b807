"""`lecture-rl vanishing-gradient`: measure ||dL/dh_k|| against k for RNN, GRU and LSTM
(notes 003)

The vanishing-gradient demonstration of notes 003: gradient norms of the loss at the last
step with respect to earlier hidden states, for RNN, GRU and LSTM.

example:
  lecture-rl vanishing-gradient --length 100 --out vanishing.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lecture_rl.runners.commands import options
from lecture_rl.runners.out_paths import check_out_file
from lecture_rl.runners.settings import UsageError

NAME = "vanishing-gradient"
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = options.command_parser(subparsers, NAME, __doc__)
    parser.add_argument("--length", type=int, default=100, help="sequence length (100)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden size (32)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the nets' weights (0)")
    parser.add_argument("--out", default="vanishing_gradient.png", help="plot file")
    return parser


def run(args: argparse.Namespace, out) -> int:
    import numpy as np

    for flag, value, low in (("--length", args.length, 2), ("--hidden", args.hidden, 1)):
        if value < low:
            raise UsageError(f"{flag} must be at least {low}, got {value}")
    if Path(args.out).suffix.lower() not in FIGURE_SUFFIXES:
        raise UsageError(
            f"--out {args.out} must name a .png, .pdf or .svg file, e.g. --out vanishing.png"
        )
    check_out_file(Path(args.out), flag="--out")
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
