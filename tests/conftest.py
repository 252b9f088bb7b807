"""Test-wide settings: headless pygame and matplotlib, quiet and single-threaded torch."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two xdist workers on two cores: one torch thread each avoids oversubscription.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


import io  # noqa: E402
import pickle  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def no_unpickling(monkeypatch):
    """Make every way of running code from a file fail: pickle and `torch.load`."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a checkpoint must load without unpickling")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    try:
        import torch

        monkeypatch.setattr(torch, "load", forbidden)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture
def watch_recording(tmp_path):
    """`watch_recording(*argv, fps=...)` runs `lecture-rl watch ARGV --record GIF` headless,
    checks that it exits 0 and wrote a GIF, and returns what it printed."""

    def run(*argv: str, fps: str = "50") -> str:
        from lecture_rl.runners.cli import main

        gif, out = tmp_path / "watch.gif", io.StringIO()
        code = main(["watch", *argv, "--record", str(gif), "--fps", fps], out=out)
        assert code == 0, out.getvalue()
        assert gif.read_bytes()[:3] == b"GIF"
        return out.getvalue()

    return run
