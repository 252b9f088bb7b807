"""Where a deep agent's training time goes: named phases and a profile that reads them.

Description:
    An agent marks the parts of its training loop with `phase()` (``with phase("env
    step"): ...``). Outside a profile that is a shared no-op context, so marking costs a
    attribute read per use; inside `profile_training()` each mark is a
    `torch.profiler.record_function` range, and the profile sums, per phase:

    - *wall ms*: the time inside the phase, Python included;
    - *torch ms*: the time of the torch operators called inside it (the outermost ones, so an
      operator is counted once however many it calls);
    - *launches*: the torch operators that would each launch a kernel on a GPU: the innermost
      operators, less those that only make views or allocate (`view`, `empty`, ...) and
      the scalar conversions the CPU does inside an operator (a GPU passes a Python number to
      the kernel as an argument). A GPU pays about 5-10 µs per launch however small the
      kernel, so `launches x 8 µs` bounds the steps per second a training loop can reach on
      any GPU while it launches one operator at a time (`TrainingProfile.ceiling`);
    - *host syncs*: the places where the host waits for the device. On a GPU, the CUDA
      runtime's synchronising calls and their time. On the CPU, where nothing waits, what
      would wait on a GPU: a tensor read as a Python number (`item`, `bool`, `int`,
      `float`: the operators `aten::item` / `aten::is_nonzero` called from Python), an
      operator whose output size depends on the data (`nonzero`, `masked_select`, a
      boolean index) and the copies an agent makes to the host on purpose through
      `to_host()`.

    The remainder, wall time minus the time of every torch operator, is *Python outside torch
    ops*: the interpreter's own work between operators.

    A recurrent core over a sequence (`nn.LSTM` / `nn.GRU`) runs differently on each
    device (one oneDNN primitive for the LSTM on the CPU, a loop of cell operators for the
    GRU, cuDNN on a GPU), so its call and its backward are counted as cuDNN's standard
    algorithm launches them: about two kernels per time step and layer. A profile taken on a
    GPU also prints the CUDA runtime's own launch count.

Usage:
    ```python
    report = profile_training(agent, env, steps=4096 * 32 * 2)
    print(report.table())
    ```
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile, record_function

#: the phases a deep agent marks, in the order of a rollout and its update
PHASES = (
    "env step",
    "rollout forward",
    "episode counting",
    "episode reporting",
    "advantages (GAE)",
    "update forward+backward",
    "optimizer",
)
#: the phases of collecting a rollout (per rollout step) and of the update after it
ROLLOUT_PHASES = PHASES[:3]
UPDATE_PHASES = PHASES[4:]
#: the label of a deliberate copy to the host (`to_host()`)
HOST_SYNC = "host sync"
PREFIX = "lecture_rl::"
#: what one small kernel launch costs a GPU, the issue's figure (5-10 µs)
LAUNCH_SECONDS = 8e-6

_marking = False


def phase(name: str) -> contextlib.AbstractContextManager[Any]:
    """A profiler range named `name` while `profile_training()` runs, else a no-op."""
    if _marking:
        return record_function(PREFIX + name)
    return contextlib.nullcontext()


def to_host(tensor: torch.Tensor) -> np.ndarray:
    """`tensor` as a numpy array: the agent's deliberate wait for the device, marked."""
    with phase(HOST_SYNC):
        return tensor.detach().cpu().numpy()


@contextlib.contextmanager
def marking() -> Iterator[None]:
    """Turn the phase marks into profiler ranges for the `with` block."""
    global _marking
    before, _marking = _marking, True
    try:
        yield
    finally:
        _marking = before


# operators that launch no kernel: views, allocation, metadata, reading a scalar (a copy that
# is counted as a host sync instead), composite operators whose work is in their children
NO_LAUNCH = frozenset(
    "aten::" + name
    for name in (
        "empty empty_strided empty_like view as_strided as_strided_ select slice transpose t "
        "expand expand_as unsqueeze squeeze detach alias resolve_conj resolve_neg item "
        "_local_scalar_dense is_nonzero lift_fresh _unsafe_view permute split unbind chunk "
        "unsafe_chunk unsafe_split split_with_sizes unsafe_split_with_sizes narrow reshape "
        "_reshape_alias view_as contiguous numpy_T result_type cudnn_is_acceptable "
        "scalar_tensor set_ resize_ flatten unflatten is_same_size record_stream lift "
        "_has_compatible_shallow_copy_type"
    ).split()
) | {"detach"}
#: operators whose output size depends on the data: a host sync on a GPU
DATA_DEPENDENT = frozenset(
    "aten::" + name
    for name in "nonzero masked_select unique _unique _unique2 unique_consecutive".split()
)
SCALAR_READS = frozenset({"aten::item", "aten::is_nonzero"})
#: a recurrent core over a whole sequence (`nn.LSTM` / `GRU` / `RNN`): oneDNN or a
#: loop of cell operators on the CPU, cuDNN on a GPU. Counted as cuDNN's standard algorithm
#: launches it: per layer and direction, a GEMM and the gates' kernel per time step, plus the
#: input GEMM (forward) or the two weight GEMMs (backward)
RNN_SEQUENCES = frozenset({"aten::lstm", "aten::gru", "aten::rnn_tanh", "aten::rnn_relu"})
RNN_FORWARD_EXTRA, RNN_BACKWARD_EXTRA = 1, 2
BACKWARD_NODE = "autograd::engine::evaluate_function: "
#: multi-tensor operators: one launch on a GPU for all the tensors of a small net
MULTI_TENSOR = ("aten::_foreach_", "aten::_fused_adam", "aten::_fused_adamw")
CUDA_SYNCS = frozenset(
    {"cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "cudaMemcpy"}
)
CUDA_LAUNCHES = ("cudaLaunchKernel", "cuLaunchKernel", "cudaGraphLaunch", "cudaMemcpyAsync",
                 "cudaMemsetAsync")  # fmt: skip


@dataclass
class PhaseFigures:
    """What one phase (or the whole run) cost, summed over the profiled training."""

    wall_s: float = 0.0
    torch_s: float = 0.0
    launches: int = 0
    syncs: int = 0
    sync_s: float = 0.0


@dataclass
class TrainingProfile:
    """The profile of one training call: figures per phase, and per rollout and update."""

    label: str
    device: str
    num_envs: int
    n_steps: int
    rollouts: int
    env_steps: int
    wall_s: float
    torch_s: float
    phases: dict[str, PhaseFigures] = field(default_factory=dict)
    other: PhaseFigures = field(default_factory=PhaseFigures)
    syncs: int = 0
    sync_s: float = 0.0
    gradient_steps: int = 0
    cuda_launches: int | None = None

    # ----- the figures per rollout ---------------------------------------------------------

    def _launches(self, names: tuple[str, ...]) -> int:
        return sum(self.phases[name].launches for name in names if name in self.phases)

    @property
    def launches(self) -> int:
        """Every launch of the profiled training (phases and the rest)."""
        return self._launches(tuple(self.phases)) + self.other.launches

    @property
    def launches_per_rollout(self) -> float:
        """Launches of one rollout and the update after it, everything included."""
        return self.launches / max(self.rollouts, 1)

    @property
    def launches_per_step(self) -> float:
        """Launches of one vector step of the rollout (env, forward, counting)."""
        return self._launches(ROLLOUT_PHASES) / max(self.rollouts * self.n_steps, 1)

    @property
    def launches_per_update(self) -> float:
        """Launches of the update after one rollout (GAE, every minibatch, the optimizer)."""
        return self._launches(UPDATE_PHASES) / max(self.rollouts, 1)

    @property
    def launches_per_gradient_step(self) -> float:
        return self._launches(UPDATE_PHASES[1:]) / max(self.gradient_steps, 1)

    @property
    def syncs_per_rollout(self) -> float:
        return self.syncs / max(self.rollouts, 1)

    def ceiling(self, num_envs: int | None = None) -> float:
        """Env steps per second if every launch cost `LAUNCH_SECONDS` and nothing else did:
        `num_envs x n_steps / (launches per rollout x 8 µs)` (launches do not grow with
        the envs; `num_envs`: this run's unless given)."""
        envs = self.num_envs if num_envs is None else num_envs
        per_rollout = self.launches_per_rollout
        return envs * self.n_steps / (per_rollout * LAUNCH_SECONDS) if per_rollout else math.inf

    @property
    def steps_per_s(self) -> float:
        return self.env_steps / self.wall_s if self.wall_s else 0.0

    @property
    def python_s(self) -> float:
        """Wall time outside every torch operator."""
        return max(self.wall_s - self.torch_s, 0.0)

    # ----- the table ------------------------------------------------------------------------

    def table(self, ceiling_envs: tuple[int, ...] = (4096,)) -> str:
        """The profile as a Markdown table with a few summary lines below it."""
        per = max(self.rollouts, 1)
        lines = [
            f"profile: {self.label} on {self.device}, {self.num_envs} envs x {self.n_steps} "
            f"steps, {self.rollouts} rollout(s) and updates ({self.gradient_steps} gradient "
            f"steps), {self.env_steps:,} env steps in {self.wall_s:.2f} s "
            f"({self.steps_per_s:,.0f} env steps/s under the profiler)",
            "",
            "| phase | wall ms / rollout | torch ops ms | launches / rollout | host syncs |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, figures in [*self.phases.items(), ("other (outside the phases)", self.other)]:
            if not (figures.wall_s or figures.launches or figures.syncs or figures.torch_s):
                continue
            lines.append(
                f"| {name} | {1e3 * figures.wall_s / per:,.2f} | "
                f"{1e3 * figures.torch_s / per:,.2f} | {figures.launches / per:,.0f} | "
                f"{figures.syncs / per:,.1f} |"
            )
        lines.append(
            f"| host syncs (count, time) | {1e3 * self.sync_s / per:,.2f} | | | "
            f"{self.syncs_per_rollout:,.1f} |"
        )
        lines.append(f"| Python outside torch ops | {1e3 * self.python_s / per:,.2f} | | | |")
        lines.append(
            f"| **all** | **{1e3 * self.wall_s / per:,.2f}** | {1e3 * self.torch_s / per:,.2f} "
            f"| **{self.launches_per_rollout:,.0f}** | **{self.syncs_per_rollout:,.1f}** |"
        )
        lines.append("")
        lines.append(
            f"launches: {self.launches_per_step:,.1f} per rollout step, "
            f"{self.launches_per_update:,.0f} per update ({self.launches_per_gradient_step:,.0f}"
            f" per gradient step), {self.launches_per_rollout:,.0f} per rollout in all"
        )
        if self.cuda_launches is not None:
            lines.append(
                f"CUDA runtime launches (kernels, copies, graphs): "
                f"{self.cuda_launches / per:,.0f} per rollout"
            )
        for envs in dict.fromkeys((self.num_envs, *ceiling_envs)):
            lines.append(
                f"launch-bound ceiling at {envs} envs: {envs} x {self.n_steps} / "
                f"({self.launches_per_rollout:,.0f} launches x {LAUNCH_SECONDS * 1e6:.0f} µs) = "
                f"{self.ceiling(envs):,.0f} env steps/s"
            )
        return "\n".join(lines)


# ----- reading the profiler's events -----------------------------------------------------------


def _phase_of(event: Any) -> str | None:
    """The innermost phase mark above `event` (`None`: outside every phase).

    Backward operators that autograd runs on its own thread (on a GPU) are the update's."""
    parent, backward = event.cpu_parent, False
    while parent is not None:
        name = parent.name
        if name.startswith(PREFIX) and name[len(PREFIX) :] != HOST_SYNC:
            return name[len(PREFIX) :]
        backward = backward or name.startswith("autograd::engine")
        parent = parent.cpu_parent
    return "update forward+backward" if backward else None


def _is_op(event: Any) -> bool:
    return event.name.startswith("aten::")


def _ancestors(event: Any) -> Iterator[Any]:
    parent = event.cpu_parent
    while parent is not None:
        yield parent
        parent = parent.cpu_parent


def _descendants(event: Any) -> Iterator[Any]:
    stack = list(event.cpu_children)
    while stack:
        child = stack.pop()
        yield child
        stack.extend(child.cpu_children)


def _rnn_launches_per_call(event: Any, backward: bool) -> int:
    """cuDNN's launches for one call of a recurrent core (see `RNN_SEQUENCES`)."""
    shapes = getattr(event, "input_shapes", None) or []
    args = list(getattr(event, "concrete_inputs", None) or [])
    layers = args[4] if len(args) > 4 and isinstance(args[4], int) else 1
    directions = 2 if len(args) > 7 and args[7] is True else 1
    batch_first = len(args) > 8 and args[8] is True
    shape = shapes[0] if shapes and shapes[0] else [1, 1]
    steps = int(shape[1] if batch_first and len(shape) > 1 else shape[0])
    extra = RNN_BACKWARD_EXTRA if backward else RNN_FORWARD_EXTRA
    return layers * directions * (2 * steps + extra)


class _LaunchCounter:
    """Kernel launches per operator event (see the module docstring).

    A leaf operator that writes device memory is one launch; a multi-tensor operator
    (`_foreach_`, fused Adam) is one for all its tensors; a recurrent core's call and its
    backward are cuDNN's count. What runs inside those is not counted again.
    """

    def __init__(self, events: Any):
        self.rnn_of_sequence: dict[int, Any] = {}  # autograd sequence number -> its core call
        for event in events:
            if event.name in RNN_SEQUENCES and not self._inside_rnn(event):
                for inner in (event, *_descendants(event)):
                    if inner.sequence_nr >= 0:
                        self.rnn_of_sequence[inner.sequence_nr] = event
        self.backward_counted: set[int] = set()  # core calls whose backward was counted

    @staticmethod
    def _inside_rnn(event: Any) -> bool:
        return any(parent.name in RNN_SEQUENCES for parent in _ancestors(event))

    def _rnn_backward_node(self, event: Any) -> Any:
        """The backward node of a recurrent core call that `event` is (or runs inside)."""
        for node in (event, *_ancestors(event)):
            if node.name.startswith(BACKWARD_NODE) and node.sequence_nr in self.rnn_of_sequence:
                return node
        return None

    def launches(self, event: Any) -> int:
        name = event.name
        node = self._rnn_backward_node(event)
        if node is not None:  # inside the backward of a recurrent core: counted once, here
            call = self.rnn_of_sequence[node.sequence_nr]
            if id(call) in self.backward_counted or node is not event:
                return 0
            self.backward_counted.add(id(call))
            return _rnn_launches_per_call(call, backward=True)
        if not _is_op(event):
            return 0
        if name in RNN_SEQUENCES and not self._inside_rnn(event):
            return _rnn_launches_per_call(event, backward=False)
        if any(
            parent.name in RNN_SEQUENCES or parent.name.startswith(MULTI_TENSOR)
            for parent in _ancestors(event)
        ):
            return 0
        if name.startswith(MULTI_TENSOR):
            return 1
        if name in NO_LAUNCH or any(_is_op(child) for child in event.cpu_children):
            return 0
        if name == "aten::to":  # no children: already the right dtype and device
            return 0
        if name in ("aten::copy_", "aten::fill_") and _inside_scalar_conversion(event):
            return 0
        return 1


def _inside_op(event: Any) -> bool:
    return any(_is_op(parent) for parent in _ancestors(event))


def _inside_scalar_conversion(event: Any) -> bool:
    """A copy made by `aten::to` inside another operator on 0-d inputs: the CPU's
    conversion of a Python number that a GPU kernel takes as an argument."""
    shapes = getattr(event, "input_shapes", None) or []
    if any(len(shape) for shape in shapes):
        return False
    seen_to = False
    for parent in _ancestors(event):
        if not _is_op(parent):
            return False
        if parent.name in ("aten::to", "aten::_to_copy"):
            seen_to = True
        elif seen_to:
            return True
    return False


def _duration_s(event: Any) -> float:
    return event.time_range.elapsed_us() * 1e-6


def summarise(
    events: Any, wall_s: float, on_cuda: bool
) -> tuple[dict[str, PhaseFigures], PhaseFigures, PhaseFigures, int | None]:
    """Per-phase figures, the figures outside the phases, the totals, CUDA launches."""
    phases: dict[str, PhaseFigures] = defaultdict(PhaseFigures)
    other, total = PhaseFigures(), PhaseFigures()
    cuda_launches = 0 if on_cuda else None
    counter = _LaunchCounter(events)

    def bucket_of(event: Any) -> PhaseFigures:
        where = _phase_of(event)
        return phases[where] if where else other

    def add_sync(event: Any) -> None:
        for figures in (bucket_of(event), total):
            figures.syncs += 1
            figures.sync_s += _duration_s(event)

    for event in events:
        name = event.name
        if name.startswith(PREFIX):
            label = name[len(PREFIX) :]
            if label == HOST_SYNC:
                add_sync(event)
            else:
                phases[label].wall_s += _duration_s(event)
            continue
        if on_cuda and name in CUDA_SYNCS:
            add_sync(event)
            continue
        if on_cuda and name.startswith(CUDA_LAUNCHES):
            cuda_launches = (cuda_launches or 0) + 1
            continue
        launches = counter.launches(event)
        if launches:
            bucket = bucket_of(event)
            bucket.launches += launches
            total.launches += launches
        if not _is_op(event):
            continue
        inside = _inside_op(event)
        if not inside:
            for figures in (bucket_of(event), total):
                figures.torch_s += _duration_s(event)
        if not on_cuda and ((name in SCALAR_READS and not inside) or name in DATA_DEPENDENT):
            add_sync(event)
    ordered = {name: phases[name] for name in PHASES if name in phases}
    ordered.update({name: figures for name, figures in phases.items() if name not in ordered})
    total.wall_s = wall_s
    return ordered, other, total, cuda_launches


def profile_training(
    agent: Any, env: Any, steps: int, *, warmup_steps: int | None = None, label: str = ""
) -> TrainingProfile:
    """Train `agent` on `env` for `steps` env steps under `torch.profiler`.

    A first `train` of `warmup_steps` (default: one rollout) runs unprofiled, so
    allocations, the optimizer's state and cuDNN's plans are made before. The profiled call
    counts whole rollouts: `steps` is rounded up to them.
    """
    hp = agent.hp
    per_rollout = hp["num_envs"] * hp.get("n_steps", 1)
    rollouts = max(math.ceil(steps / per_rollout), 1)
    agent.train(env, steps=per_rollout if warmup_steps is None else warmup_steps)
    device = torch.device(agent.device)
    on_cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_cuda else [])
    if on_cuda:
        torch.cuda.synchronize(device)
    with marking(), profile(activities=activities, record_shapes=True) as prof:
        started = time.perf_counter()
        result = agent.train(env, steps=rollouts * per_rollout)
        if on_cuda:
            torch.cuda.synchronize(device)
        wall = time.perf_counter() - started
    events = prof.events()
    phases, other, total, cuda_launches = summarise(events, wall, on_cuda)
    gradient_steps = sum(1 for event in events if event.name == PREFIX + "optimizer")
    return TrainingProfile(
        label=label or f"{agent.name} + {hp.get('net', '')}",
        device=str(device),
        num_envs=hp["num_envs"],
        n_steps=hp.get("n_steps", 1),
        rollouts=rollouts,
        env_steps=int(result.env_steps),
        wall_s=wall,
        torch_s=total.torch_s,
        phases=phases,
        other=other,
        syncs=total.syncs,
        sync_s=total.sync_s,
        gradient_steps=gradient_steps,
        cuda_launches=cuda_launches,
    )
