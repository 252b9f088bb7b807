"""Imported once by the pool's fork server, so worker processes start with torch and the
agents loaded instead of importing them each (one torch thread: a worker runs one trial)."""

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import lecture_rl.agents  # noqa: E402, F401
import lecture_rl.runners.compare.trials  # noqa: E402, F401

try:  # torch is a dependency, but a worker that lacks it must still run tabular trials
    import torch  # noqa: E402, F401
except ImportError:  # pragma: no cover
    pass

try:  # a deep agent's first optimizer imports torch._dynamo (about a second): once, here
    import torch._dynamo  # noqa: E402, F401
except ImportError:  # pragma: no cover
    pass

try:  # deep agents log to TensorBoard; its import is the slowest part of a trial's start
    import tensorboard.compat.proto.event_pb2  # noqa: E402, F401
    import tensorboard.summary.writer.record_writer  # noqa: E402, F401
except ImportError:  # pragma: no cover
    pass
