"""Torch threads for a training run: one for small networks, a few for large ones."""

from __future__ import annotations

import os
import sys
from typing import Any

from lecture_rl.runners.settings import UsageError

#: networks with more parameters than this get more than one torch thread by default
MANY_PARAMETERS = 1_000_000


def parameter_count(agent: Any) -> int:
    """Parameters of the torch modules an agent holds as attributes (0 for tabular agents)."""
    if "torch" not in sys.modules:
        return 0
    import torch

    seen: set[int] = set()
    total = 0
    for value in vars(agent).values():
        if isinstance(value, torch.nn.Module):
            for parameter in value.parameters():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    total += parameter.numel()
    return total


def default_threads(agent: Any) -> int:
    """Torch threads for `agent` when `--threads` is not given: one for small networks
    (thread hand-offs cost more than the tiny matrix products save; on a busy 2-core machine
    torch's default ran PPO-LSTM 30x slower), up to 4 for networks above
    `MANY_PARAMETERS`."""
    if parameter_count(agent) > MANY_PARAMETERS:
        return max(1, min(4, os.cpu_count() or 1))
    return 1


def check_threads(threads: int | None) -> None:
    """`--threads` must be at least 1."""
    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")


class TorchThreads:
    """Context manager: run a block with a torch thread count and restore torch's after.

    `apply(agent)` sets the count (`None`: `default_threads` for the agent); it does
    nothing if torch was never imported (tabular agents do not load it)."""

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._old: int | None = None

    def __enter__(self) -> TorchThreads:
        return self

    def apply(self, agent: Any = None) -> None:
        if "torch" not in sys.modules:
            return
        import torch

        count = self.threads if self.threads is not None else default_threads(agent)
        if self._old is None:
            self._old = torch.get_num_threads()
        torch.set_num_threads(count)

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            import torch

            torch.set_num_threads(self._old)
