"""Which processes are still alive in a process group (Linux ``/proc``), for checking that a
command such as ``compare`` leaves nothing running behind it (tests, benchmarks)."""

from __future__ import annotations

from pathlib import Path


def group_members(pgid: int) -> list[int]:
    """The live (non-zombie) processes of process group ``pgid``; empty where there is no
    ``/proc`` (the check then says nothing)."""
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
