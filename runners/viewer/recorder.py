"""Recording the viewer: exactly the frames the window shows, as a GIF or an MP4 (imageio)."""

from __future__ import annotations

import io
import os
import tempfile
import zlib
from collections.abc import Iterator
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
    """The path checked: a `.gif` or `.mp4` in an existing folder we may write."""
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
    """`watch --record`'s recorder (None without `--record`); a path it cannot write is
    a `UsageError` (one line, exit 2) before any work."""
    if not path:
        return None
    try:
        return Recorder(path, fps=fps)
    except RecorderError as exc:
        raise UsageError(str(exc)) from exc


class Recorder:
    """Collects frames (`(H, W, 3)` `uint8`) and writes them on `close`.

    Frames of another size than the first (the window was resized) are scaled to the first
    size, so the file has one size. Frames are kept compressed (zlib) until the file is
    written, so a recording of a thousand frames holds tens of megabytes, not gigabytes. A GIF
    gets each frame's own palette (`palette_image`: exact where a frame has at most 256
    colours, else Pillow's fast octree; no dithering, so text stays crisp);
    identical frames in a row are merged into one longer frame. The file is written to a
    temporary name and moved into place, so a half-written file never appears under the final
    name.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float = 10.0):
        self.path = check_record_path(path)
        self.fps = float(fps) if fps and fps > 0 else 10.0
        self._frames: list[bytes] = []
        self._size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame, dtype=np.uint8)
        if self._size is None:
            self._size = frame.shape[:2]
        elif frame.shape[:2] != self._size:
            frame = _resize(frame, self._size)
        self._frames.append(zlib.compress(np.ascontiguousarray(frame).tobytes(), 1))

    def frames(self) -> Iterator[np.ndarray]:
        """The frames added so far, in order."""
        h, w = self._size or (0, 0)
        for packed in self._frames:
            yield np.frombuffer(zlib.decompress(packed), dtype=np.uint8).reshape(h, w, 3)

    def close(self) -> Path | None:
        """Write the file (nothing when no frame was shown); returns its path. The file is
        written whole or not at all (`runners.result_files.write_file`): a full disk leaves no
        half a file."""
        if not self._frames:
            return None
        from lecture_rl.runners.result_files import write_file  # (the CLI starts without it)

        if self.path.suffix.lower() == ".gif":
            data = self._gif_bytes()
        else:
            data = self._mp4_bytes()
        write_file(self.path, data)
        self._frames = []
        return self.path

    def _gif_bytes(self) -> bytes:
        images = [palette_image(frame) for frame in self.frames()]
        buffer = io.BytesIO()
        images[0].save(
            buffer,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=1000.0 / self.fps,
            loop=0,
        )
        return buffer.getvalue()

    def _mp4_bytes(self) -> bytes:
        """The video through ffmpeg, one frame at a time, into a scratch file (ffmpeg writes
        files), then read back."""
        import imageio.v2 as imageio

        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "video.mp4"
            writer = imageio.get_writer(path, format="FFMPEG", fps=self.fps, macro_block_size=1)
            try:
                for frame in self.frames():
                    writer.append_data(_even(frame))
            finally:
                writer.close()
            return path.read_bytes()


def palette_image(frame: np.ndarray) -> Any:
    """`frame` as a Pillow palette image for a GIF: exact when it has at most 256 colours (the
    viewer's panels, flat env pictures), else Pillow's fast octree without dithering."""
    from PIL import Image

    image = Image.fromarray(frame)
    found = image.getcolors(256)  # None: more than 256 colours
    if found is None:
        return image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    packed = (frame[..., 0].astype(np.uint32) << 16) | (frame[..., 1].astype(np.uint32) << 8)
    packed |= frame[..., 2]
    colours = np.sort([(r << 16) | (g << 8) | b for _, (r, g, b) in found]).astype(np.uint32)
    indices = Image.fromarray(np.searchsorted(colours, packed).astype(np.uint8))
    rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1)
    indices.putpalette(rgb.astype(np.uint8).reshape(-1).tolist())  # "L" becomes "P"
    return indices


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
