"""A TensorBoard event file that a full disk cannot corrupt: scalars appended all or nothing.

Description:
    torch's `SummaryWriter` writes from a background thread; on a full disk that thread prints
    its own traceback, the main thread gets the error later, and the file ends in half a
    record. `ScalarEventFile` writes the same records (TensorBoard's own protocol buffers and
    record framing) from the calling thread: pending records go out together every
    `flush_secs` and at `close`, and an append that fails is cut back to the last complete
    record before the `OSError` (naming the file) is raised. TensorBoard reads the file as
    ever: `tensorboard --logdir DIR`.
"""

from __future__ import annotations

import io
import os
import socket
import time
from pathlib import Path

#: how often pending scalars are appended (also at every `close`)
FLUSH_SECS = 10.0

_files_made = 0


class ScalarEventFile:
    """Scalars in one `events.out.tfevents.*` file under `folder`, made on the first flush.

    Args:
        folder: the run's TensorBoard folder (made if missing, again if removed meanwhile).
        flush_secs: append pending records at most this often (and at `close`).
    """

    def __init__(self, folder: str | os.PathLike, flush_secs: float = FLUSH_SECS):
        global _files_made
        _files_made += 1
        self.folder = Path(folder)
        self.flush_secs = flush_secs
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}"
        self.path = self.folder / f"{name}.{os.getpid()}.{_files_made}"
        self._pending: list[bytes] = []
        self._last_flush = time.monotonic()

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        """Queue one scalar (`tag` at x = `step`); appended with the next flush."""
        from tensorboard.compat.proto import event_pb2, summary_pb2

        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(value))]
        )
        event = event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary)
        self._pending.append(_record(event.SerializeToString()))
        if time.monotonic() - self._last_flush >= self.flush_secs:
            self.flush()

    def flush(self) -> None:
        """Append the pending records in one write; on an error the file keeps only complete
        records and the `OSError` names it."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        data = b"".join(self._pending)
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(descriptor).st_size
            if size == 0:  # a new file (or one removed meanwhile) starts with its version
                data = _version_record() + data
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view) :]
                os.fsync(descriptor)
            except OSError as exc:
                _cut_back(descriptor, size)
                exc.filename = str(self.path)
                raise
        finally:
            os.close(descriptor)
        self._pending.clear()

    def close(self) -> None:
        """Append what is pending."""
        self.flush()


def _cut_back(descriptor: int, size: int) -> None:
    """Truncate a failed append back to `size` (freeing space works on a full disk too)."""
    try:
        os.ftruncate(descriptor, size)
    except OSError:
        pass


def _version_record() -> bytes:
    from tensorboard.compat.proto import event_pb2

    event = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
    return _record(event.SerializeToString())


def _record(data: bytes) -> bytes:
    """One record framed as TensorBoard reads it (length, masked CRCs)."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    buffer = io.BytesIO()
    RecordWriter(buffer).write(data)
    return buffer.getvalue()
