"""Processes: the fork server `compare`'s workers start from, a Ctrl-C guard for blocks that
must finish (`ctrl_c`), and which processes are still alive in a process group (Linux
`/proc`), for checking that a command such as `compare` leaves nothing running behind it
(tests, benchmarks).

This module imports nothing heavy, so the CLI can start the fork server before it loads the
rest of `compare`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
from pathlib import Path

#: what the fork server imports once, so every worker starts with torch and the agents loaded
WORKER_PRELOAD = "lecture_rl.runners.fork_server"


def worker_context():
    """A fork server that has imported torch and the agents once (workers fork from it, so
    none pays the imports again), where the platform has one; else fresh spawned processes."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([WORKER_PRELOAD])
        return context
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows, macOS spawn


def warm_up_pool() -> None:
    """Start the fork server now, so its imports (torch, the agents: about 2 s) overlap the
    driver's own start-up and planning instead of delaying the first trial."""
    context = worker_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver, resource_tracker

        # The server starts with Ctrl-C blocked, as multiprocessing starts its resource
        # tracker: a Ctrl-C to the process group while the new interpreter is still importing
        # (before the preload ignores it) would print that import's traceback. A Ctrl-C
        # meanwhile stays pending here and is raised when the block ends. The tracker first:
        # starting it unblocks SIGINT in this process.
        resource_tracker.ensure_running()
        blocked = {signal.SIGINT}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            forkserver.ensure_running()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def lecture_rl_command() -> list[str]:
    """How to start `lecture-rl` from this interpreter: its installed script, or `python -m`
    where the project was not installed with one (tests, benchmarks)."""
    script = Path(sys.executable).with_name("lecture-rl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lecture_rl.runners.cli"]


def group_members(pgid: int) -> list[int]:
    """The live (non-zombie) processes of process group `pgid`; empty where there is no
    `/proc` (the check then says nothing)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            # /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces or ")"
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@contextlib.contextmanager
def ctrl_c(*, defer: bool):
    """A Ctrl-C (or SIGTERM) during the block is ignored, or with `defer` held and raised as
    KeyboardInterrupt after the block (in the main thread; elsewhere signals cannot be set and
    the block runs as it is)."""
    pressed: list[int] = []
    handler = (lambda signum, frame: pressed.append(signum)) if defer else signal.SIG_IGN
    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if pressed:
        raise KeyboardInterrupt
