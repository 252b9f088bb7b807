"""Where deep agents run: `device="auto"` picks CUDA when there is one."""

from __future__ import annotations

import os

import torch

from lecture_rl.agents.hyperparameters import HyperparameterError

VALID_DEVICES = ("auto", "cpu", "cuda")


def make_reproducible(device: torch.device) -> None:
    """Same seed, same numbers on a GPU too: cuDNN picks deterministic kernels.

    By default cuDNN may choose convolution backward kernels that add with atomics in whatever
    order the threads finish (measured on an H200: `dqn` + `cnn` gave other weights for the
    same seed). `cudnn.benchmark` would also choose kernels by timing, which varies by run.
    cuBLAS gets a fixed workspace so its reductions are reproducible too (the variable must be
    set before the first cuBLAS call of the process; a user's own setting wins).
    """
    if device.type != "cuda":
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def resolve_device(device: str | torch.device) -> torch.device:
    """`"auto"` -> CUDA when available, else CPU; `"cpu"`; `"cuda"` (or `"cuda:N"`)."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise HyperparameterError(
            f"device={device!r} is not valid; use one of: {', '.join(VALID_DEVICES)}"
        )
    name = device.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise HyperparameterError(
                "CUDA is not available on this machine; use device=cpu or auto"
            )
        try:
            return torch.device(name)
        except RuntimeError as exc:
            raise HyperparameterError(f"device={device!r} is not valid: {exc}") from exc
    raise HyperparameterError(
        f"device={device!r} is not valid; use one of: {', '.join(VALID_DEVICES)}"
    )
