"""Recording the viewer: exactly the frames the window shows, as a GIF or an MP4 (imageio)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lecture_rl.runners.out_paths import check_out_file
from lecture_rl.runners.settings import UsageError

SUFFIXES = (".gif", ".mp4")
#: training episodes a recording shows by default (spread evenly over the training)
RECORDED_EPISODES = 8


class RecorderError(ValueError):
    """A recording path the recorder cannot write (wrong suffix, missing folder)."""


def check_record_path(path: str | os.PathLike[str]) -> Path:
    """The path checked: a ``.gif`` or ``.mp4`` in an existing folder we may write."""
    p = Path(path)
    if p.suffix.lower() not in SUFFIXES:
        raise RecorderError(f"--record needs a .gif or .mp4 file name, got '{p.name}'")
    if not p.parent.exists() and str(p.parent) not in ("", "."):
        raise RecorderError(f"--record: folder '{p.parent}' does not exist; create it first")
    try:
        check_out_file(p, flag="--record")  # a folder of that name, a file above it, no rights
    except UsageError as exc:
        raise RecorderError(str(exc)) from exc
    return p


def open_recorder(path: str | os.PathLike[str] | None, fps: float) -> Recorder | None:
    """``watch --record``'s recorder (None without ``--record``); a path it cannot write is
    a :class:`UsageError` (one line, exit 2) before any work."""
    if not path:
        return None
    try:
        return Recorder(path, fps=fps)
    except RecorderError as exc:
        raise UsageError(str(exc)) from exc


class Recorder:
    """Collects frames (``(H, W, 3)`` ``uint8``) and writes them on :meth:`close`.

    Frames of another size than the first (the window was resized) are scaled to the first
    size, so the file has one size. The file is written to a temporary name and moved into
    place, so a half-written file never appears under the final name.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float = 10.0):
        self.path = check_record_path(path)
        self.fps = float(fps) if fps and fps > 0 else 10.0
        self.frames: list[np.ndarray] = []
        self._size: tuple[int, int] | None = None

    def add(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame, dtype=np.uint8)
        if self._size is None:
            self._size = frame.shape[:2]
        elif frame.shape[:2] != self._size:
            frame = _resize(frame, self._size)
        self.frames.append(frame)

    def close(self) -> Path | None:
        """Write the file (nothing when no frame was shown); returns its path."""
        if not self.frames:
            return None
        import imageio.v3 as iio

        from lecture_rl.runners.result_files import write_file  # (the CLI starts without it)

        suffix = self.path.suffix.lower()
        if suffix == ".gif":
            data = iio.imwrite(
                "<bytes>",
                np.stack(self.frames),
                extension=".gif",
                duration=1000.0 / self.fps,
                loop=0,
            )
        else:
            frames = [_even(f) for f in self.frames]
            data = iio.imwrite("<bytes>", np.stack(frames), extension=".mp4", fps=self.fps)
        write_file(self.path, data)  # atomic: a full disk leaves no half a file
        self.frames = []
        return self.path


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad to sides that are multiples of 16 (H.264's macro blocks) with the background
    colour, so the video shows the frame unscaled."""
    from lecture_rl.envs.rendering import BACKGROUND

    h, w = frame.shape[:2]
    ph, pw = -h % 16, -w % 16
    if not ph and not pw:
        return frame
    out = np.empty((h + ph, w + pw, 3), dtype=np.uint8)
    out[:] = BACKGROUND
    out[:h, :w] = frame
    return out


def _resize(frame: np.ndarray, size: tuple[int, int]) -> Any:
    from lecture_rl.envs import rendering

    pygame = rendering.import_pygame()
    surface = rendering.rgb_to_surface(frame)
    scaled = pygame.transform.smoothscale(surface, (size[1], size[0]))
    return rendering.surface_to_rgb(scaled)
