"""Faults a long run meets, made for real: a full disk, a file system that turns read-only or a
folder removed mid-run, a worker killed with `kill -9`, and half-written, edited or foreign
files found by a rerun. Each: one line, no traceback, nothing complete lost, and the run goes
on (docs/faults.md has the table of fault x command).

The full disk is a small tmpfs mounted for the test where the machine allows it (root), else a
file-size limit (`RLIMIT_FSIZE`, which makes a write fail with EFBIG) on the command's
process; the read-only file system is the tmpfs remounted read-only, else the folder made
unwritable. The Ray worker killed mid-trial is in tests/test_runners_ray.py (its local Ray).
"""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lecture_rl import agents
from lecture_rl.agents.checkpoint_io import atomic_write, file_manifest
from lecture_rl.runners.cli import main
from lecture_rl.runners.commands import COMMANDS
from lecture_rl.runners.compare.trials import result_checksum
from lecture_rl.runners.processes import lecture_rl_command

# --------------------------------------------------------------------------------------------
# A small disk
# --------------------------------------------------------------------------------------------


class Disk:
    """A folder on a file system the test can fill, make read-only and free again."""

    def __init__(self, root: Path, tmpfs: bool):
        self.root, self.tmpfs = root, tmpfs
        self.limit: int | None = None  # the file-size limit of the commands (no tmpfs)

    @property
    def cause(self) -> str:
        """What a write on the full disk fails with."""
        return "(ENOSPC)" if self.tmpfs else "(EFBIG)"

    def fill(self, room: int) -> None:
        """Leave about `room` bytes: the tmpfs shrunk to what it holds plus `room`, or a
        file-size limit of `room` for the commands run from now on."""
        if self.tmpfs:
            stats = os.statvfs(self.root)
            used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
            self._remount(f"size={used + room}")
        else:
            self.limit = room

    def free(self) -> None:
        if self.tmpfs:
            self._remount("size=256m")
        self.limit = None

    def read_only(self) -> None:
        if self.tmpfs:  # refused (busy) while a file is open for writing: between two saves
            deadline = time.monotonic() + 60
            while not self._remount("ro", check=False):
                assert time.monotonic() < deadline, "the file system stayed busy"
                time.sleep(0.005)
        else:
            for folder in [self.root, *(p for p in self.root.rglob("*") if p.is_dir())]:
                folder.chmod(0o555)

    def writable(self) -> None:
        if self.tmpfs:
            self._remount("rw")
        else:
            for folder in [self.root, *(p for p in self.root.rglob("*") if p.is_dir())]:
                folder.chmod(0o755)

    def _remount(self, options: str, check: bool = True) -> bool:
        argv = ["mount", "-o", f"remount,{options}", str(self.root)]
        return subprocess.run(argv, check=check, capture_output=not check).returncode == 0

    def preexec(self) -> None:
        if self.limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.limit, self.limit))


def _mount_tmpfs(path: Path) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def disk(tmp_path):
    root = tmp_path / "disk"
    root.mkdir()
    tmpfs = _mount_tmpfs(root)
    yield Disk(root, tmpfs)
    if tmpfs:
        subprocess.run(["umount", "-l", str(root)], capture_output=True)
    else:
        Disk(root, False).writable()


def can_make_read_only(disk: Disk) -> bool:
    return disk.tmpfs or os.geteuid() != 0  # root writes into a folder without write rights


def lecture_rl(*argv, disk: Disk | None = None, env: dict | None = None, timeout=600):
    """`lecture-rl ARGV` as a real process (its own exit code, stderr and file-size limit)."""
    return subprocess.run(
        [*lecture_rl_command(), *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        preexec_fn=disk.preexec if disk else None,
    )


def start(*argv, env: dict | None = None) -> subprocess.Popen:
    """`lecture-rl ARGV` started in its own session (its workers in its process group)."""
    return subprocess.Popen(
        [*lecture_rl_command(), *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def one_line(stderr: str, stdout: str = "") -> str:
    """The one error line of a command (beside its progress bar and the line naming the preset
    it trains with); no traceback anywhere."""
    assert "Traceback" not in stderr + stdout, stderr
    progress = re.compile(r"\((episodes|steps)\) |: preset from ")  # bars, a preset's line
    lines = [line for line in stderr.splitlines() if line.strip() and not progress.search(line)]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("lecture-rl: error: "), stderr
    return lines[0]


def no_temporary_files(folder: Path) -> None:
    """No half-written file or staging folder left behind."""
    left = [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".saving-" in p.name]
    assert not left, left


def wait_for(condition, seconds: float = 300.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def read_log(folder: Path) -> list[dict[str, str]]:
    with open(folder / "train_log.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def complete_records(path: Path) -> int:
    """The number of TensorBoard records in `path`; fails unless the file is made of whole
    records only (TensorBoard's framing: length, CRC, data, CRC)."""
    data, offset, count = path.read_bytes(), 0, 0
    while offset < len(data):
        assert offset + 12 <= len(data), f"{path}: half a record at byte {offset}"
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        offset += 12 + length + 4
        assert offset <= len(data), f"{path}: half a record"
        count += 1
    return count


# --------------------------------------------------------------------------------------------
# The runs the faults are made in, and their undisturbed results
# --------------------------------------------------------------------------------------------

GRID = ["--env", "LectureRL/GridWorld-v0", "--agent", "q_learning", "--eval-episodes", "0"]
MAZE = ["--env", "LectureRL/GridWorld-v0", "--env-set", "map_name=maze", "--agents",
        "q_learning,sarsa", "--seeds", "2", "--episodes", "1500",
        "--eval-episodes", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def maze_reference(tmp_path_factory):
    """`compare` on the maze, undisturbed: the files every disturbed run must end with."""
    out = tmp_path_factory.mktemp("reference") / "maze"
    assert main(["compare", *MAZE, "--workers", "1", "--out", str(out)]) == 0
    return out


def same_results(out: Path, reference: Path) -> None:
    for name in ("results.csv", "summary.json"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def trials_intact(out: Path) -> int:
    """Every trial file is complete JSON whose numbers are the ones written; their count."""
    files = sorted((out / "trials").glob("*.json"))
    for path in files:
        result = json.loads(path.read_text())
        assert result["checksum"] == result_checksum(result), path
    return len(files)


# --------------------------------------------------------------------------------------------
# A full disk
# --------------------------------------------------------------------------------------------


def test_train_on_a_full_disk_keeps_the_last_checkpoint_and_resumes_to_the_same_numbers(
    tmp_path, disk, capsys
):
    reference = tmp_path / "reference"
    argv = ["train", *GRID, "--episodes", "1500"]
    assert main([*argv, "--out", str(reference)]) == 0
    out = disk.root / "run"
    disk.fill(24_000)  # the log outgrows it after a few hundred episodes
    run = lecture_rl(*argv, "--save-every", "25episodes", "--out", out, disk=disk)
    assert run.returncode == 74, run.stderr
    line = one_line(run.stderr, run.stdout)
    assert f"cannot write {out}/" in line and disk.cause in line
    assert f"is kept in {out}; continue with: lecture-rl train --resume {out}" in line
    no_temporary_files(disk.root)
    # the last good checkpoint: every file the one saved with its agent.json, the log with it
    meta = json.loads((out / "agent.json").read_text())
    saved = meta["training"]["episodes"]
    assert 0 < saved < 1500 and saved % 25 == 0
    assert f"({saved:,} episodes" in line
    assert len(read_log(out)) == saved
    agents.load(out)  # checks every file against agent.json's list
    disk.free()
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 0
    # resumed from a periodic checkpoint: the undisturbed run's numbers, episode for episode
    columns = ("episode", "return", "length", "env_steps")
    mine = [[row[c] for c in columns] for row in read_log(out)]
    assert mine == [[row[c] for c in columns] for row in read_log(reference)]
    q = np.load(out / "arrays.npz")["q"]
    assert np.array_equal(q, np.load(reference / "arrays.npz")["q"])


def test_deep_train_on_a_full_disk_is_one_line_and_leaves_tensorboard_whole(disk):
    """The issue's case: ppo + LSTM on Parity into a 64 KiB disk gave a 106-line traceback
    from TensorBoard's writer thread."""
    out = disk.root / "lstm"
    disk.fill(64 * 1024)
    argv = ["train", "--env", "LectureRL/Parity-v0", "--agent", "ppo", "--set", "net=lstm"]
    run = lecture_rl(*argv, "--steps", "2000", "--out", out, disk=disk)
    assert run.returncode == 74, run.stderr
    line = one_line(run.stderr, run.stdout)
    assert "cannot write" in line and disk.cause in line
    assert "run the same command again" in line or "--resume" in line
    no_temporary_files(disk.root)
    for events in (out / "tb").rglob("events.out.tfevents.*"):
        complete_records(events)


def test_tensorboard_file_on_a_full_disk_keeps_only_whole_records(disk):
    folder = disk.root / "tb"
    program = textwrap.dedent(f"""
        from lecture_rl.agents.event_file import ScalarEventFile
        writer = ScalarEventFile({str(folder)!r})
        for step in range(10):
            writer.add_scalar("loss", step / 10, step)
        writer.flush()
        for step in range(10, 5000):
            writer.add_scalar("loss", step / 10, step)
        try:
            writer.close()
        except OSError as exc:
            print(exc.errno, exc.filename)
    """)
    disk.fill(40_000)
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, preexec_fn=disk.preexec
    )
    assert done.returncode == 0, done.stderr
    number, name = done.stdout.split()
    assert int(number) == (errno.ENOSPC if disk.tmpfs else errno.EFBIG)
    (events,) = folder.glob("events.out.tfevents.*")
    assert name == str(events)
    assert complete_records(events) == 11  # the file version and the ten flushed scalars


def test_compare_on_a_full_disk_keeps_finished_trials_and_a_rerun_ends_as_undisturbed(
    disk, maze_reference
):
    out = disk.root / "maze"
    disk.fill(165_000)  # a trial file is about 154 kB, results.csv about 176 kB
    run = lecture_rl("compare", *MAZE, "--workers", "1", "--out", out, disk=disk)
    assert run.returncode == 74, run.stderr
    line = one_line(run.stderr, run.stdout)
    assert f"cannot write {out}/" in line and disk.cause in line
    assert f"kept in {out}/trials" in line
    assert "run the same command again (it resumes)" in line
    kept = trials_intact(out)
    assert kept >= 1
    no_temporary_files(disk.root)
    disk.free()
    rerun = lecture_rl("compare", *MAZE, "--workers", "1", "--out", out)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{kept} of 4 trials already done, running {4 - kept}" in rerun.stdout
    same_results(out, maze_reference)


def test_experiment_on_a_full_disk_is_one_line_and_its_rerun_finishes(disk):
    out = disk.root / "walk"
    argv = ["experiment", "random-walk", "--quick", "--seeds", "2", "--workers", "1"]
    disk.fill(60_000)
    run = lecture_rl(*argv, "--out", out, disk=disk)
    assert run.returncode == 74, run.stderr
    line = one_line(run.stderr, run.stdout)
    assert "cannot write" in line and disk.cause in line
    no_temporary_files(disk.root)
    kept = {path: path.stat().st_mtime_ns for path in out.rglob("trials/*.json")}
    assert kept
    disk.free()
    rerun = lecture_rl(*argv, "--out", out)
    assert rerun.returncode == 0, rerun.stderr
    assert {path: path.stat().st_mtime_ns for path in kept} == kept  # kept, not run again
    assert json.loads((out / "numbers.json").read_text())["verdict"]
    assert (out / "report.md").read_text().startswith("#")


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("ppo") / "ppo"
    argv = ["train", "--env", "LectureRL/Parity-v0", "--agent", "ppo", "--steps", "256"]
    assert main([*argv, "--eval-episodes", "0", "--out", str(out)]) == 0
    return out


def _one_file_commands(checkpoint: Path) -> dict[str, tuple[list, str]]:
    """Commands that write one file at the end: `{name: (argv before the path, file name)}`."""
    watch = ["watch", "--env", "CliffWalking-v1", "--agent", "q_learning", "--train-episodes",
             "5", "--episodes", "1", "--max-frames", "30", "--record"]  # fmt: skip
    inspect = ["inspect", "--checkpoint", checkpoint, "--out"]
    gradient = ["vanishing-gradient", "--length", "20", "--out"]
    return {"watch": (watch, "x.gif"), "inspect": (inspect, "x.png"),
            "vanishing-gradient": (gradient, "x.png")}  # fmt: skip


@pytest.mark.parametrize("name", ["watch", "inspect", "vanishing-gradient"])
def test_a_file_that_cannot_be_replaced_stays_as_it_was(disk, small_checkpoint, name):
    """`watch --record`, `inspect` and `vanishing-gradient` on a full disk: one line, and
    the complete file of an earlier run that the new one would replace is still there, byte
    for byte."""
    argv, file_name = _one_file_commands(small_checkpoint)[name]
    target = disk.root / file_name
    earlier = lecture_rl(*argv, target)
    assert earlier.returncode == 0, earlier.stderr
    before = target.read_bytes()
    disk.fill(4096)
    run = lecture_rl(*argv, target, disk=disk)
    assert run.returncode == 74, run.stderr
    line = one_line(run.stderr, run.stdout)
    assert f"cannot write {target}" in line and disk.cause in line
    assert target.read_bytes() == before
    assert sorted(p.name for p in disk.root.iterdir()) == [file_name]


def _full_disk_runs(out: Path) -> dict[str, list]:
    """Every command that writes, run into a full disk: `{name: argv}`. A new command that
    writes gets a line here (`tune` when it is there)."""
    runs = {
        "train": ["train", *GRID, "--episodes", "300", "--out", out],
        "compare": ["compare", "--env", "CliffWalking-v1", "--agents", "q_learning,sarsa",
                    "--seeds", "2", "--episodes", "50", "--workers", "2", "--out", out],
        "experiment": ["experiment", "cliff", "--quick", "--seeds", "2", "--out", out],
    }  # fmt: skip
    if "tune" in {command.NAME for command in COMMANDS}:
        runs["tune"] = ["tune", "--env", "CliffWalking-v1", "--agent", "q_learning",
                        "--episodes", "50", "--trials", "2", "--seeds", "1", "--workers", "1",
                        "--out", out]  # fmt: skip
    return runs


@pytest.mark.parametrize("name", list(_full_disk_runs(Path("x"))))
def test_every_command_that_writes_stops_on_a_full_disk_with_one_line_and_exit_74(disk, name):
    out = disk.root / name
    disk.fill(2048)
    run = lecture_rl(*_full_disk_runs(out)[name], disk=disk)
    assert run.returncode == 74, run.stderr
    line = one_line(run.stderr, run.stdout)
    assert disk.cause in line
    no_temporary_files(disk.root)


# --------------------------------------------------------------------------------------------
# A file system that turns read-only, a folder removed while the run writes into it
# --------------------------------------------------------------------------------------------


def test_train_whose_disk_turns_read_only_keeps_its_checkpoint_and_resumes(disk, capsys):
    if not can_make_read_only(disk):
        pytest.skip("root without mount: no folder can be made read-only for it")
    out = disk.root / "run"
    process = start("train", *GRID, "--episodes", "3000", "--save-every", "0", "--out", out)
    wait_for(lambda: (out / "agent.json").is_file() or process.poll() is not None)
    disk.read_only()
    stdout, stderr = process.communicate(timeout=300)
    disk.writable()
    assert process.returncode == 74, stderr
    line = one_line(stderr, stdout)
    assert "(EROFS)" in line if disk.tmpfs else "(EACCES)" in line
    assert f"continue with: lecture-rl train --resume {out}" in line
    saved = json.loads((out / "agent.json").read_text())["training"]["episodes"]
    assert 0 < saved < 3000 and len(read_log(out)) == saved
    agents.load(out)  # the checkpoint saved before the fault, whole
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--save-every", "1h"]) == 0
    assert len(read_log(out)) == 3000
    no_temporary_files(out)  # what a read-only disk kept the save from tidying, gone now


def test_compare_whose_disk_turns_read_only_keeps_finished_trials(disk, maze_reference):
    if not can_make_read_only(disk):
        pytest.skip("root without mount: no folder can be made read-only for it")
    out = disk.root / "maze"
    process = start("compare", *MAZE, "--workers", "2", "--out", out)
    wait_for(lambda: any((out / "trials").glob("*.json")) or process.poll() is not None)
    disk.read_only()
    stdout, stderr = process.communicate(timeout=300)
    disk.writable()
    assert process.returncode == 74, stderr
    line = one_line(stderr, stdout)
    assert "kept in" in line and "run the same command again" in line
    kept = trials_intact(out)
    assert 1 <= kept < 4
    rerun = lecture_rl("compare", *MAZE, "--workers", "2", "--out", out)
    assert rerun.returncode == 0, rerun.stderr
    same_results(out, maze_reference)


def test_train_whose_folder_is_removed_mid_run_writes_it_again_complete(tmp_path):
    out = tmp_path / "run"
    process = start("train", *GRID, "--episodes", "4000", "--save-every", "20episodes",
                    "--out", out)  # fmt: skip
    wait_for(lambda: (out / "agent.json").is_file() or process.poll() is not None)
    shutil.rmtree(out, ignore_errors=True)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    meta = json.loads((out / "agent.json").read_text())
    assert meta["training"]["complete"] and meta["training"]["episodes"] == 4000
    assert len(read_log(out)) == 4000
    agents.load(out)


def test_a_file_whose_folder_is_removed_while_it_is_written_is_written_again(tmp_path):
    """The race behind a folder removed mid-run: the temporary file (or its folder) vanishes
    between its creation and the rename; the write starts over in a new folder."""
    folder = tmp_path / "trials"
    attempts = []

    def write(handle):
        attempts.append(handle.name)
        if len(attempts) == 1:
            shutil.rmtree(folder)  # the folder and the open temporary file, removed for real
        handle.write(b"{}")

    atomic_write(folder / "q_learning-seed1.json", write)
    assert (folder / "q_learning-seed1.json").read_bytes() == b"{}"
    assert len(attempts) == 2
    assert [p.name for p in folder.iterdir()] == ["q_learning-seed1.json"]  # no temporary left


def test_compare_whose_trials_folder_is_removed_mid_run_ends_as_undisturbed(
    tmp_path, maze_reference
):
    out = tmp_path / "maze"
    process = start("compare", *MAZE, "--workers", "2", "--out", out)
    wait_for(lambda: any((out / "trials").glob("*.json")) or process.poll() is not None)
    shutil.rmtree(out / "trials", ignore_errors=True)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    same_results(out, maze_reference)


# --------------------------------------------------------------------------------------------
# A worker that dies
# --------------------------------------------------------------------------------------------


def pool_workers(driver: int) -> list[int]:
    """The worker processes of the `compare` whose pid is `driver`: the children of its
    fork server (Linux `/proc`)."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry.name)] = (int(fields[1]), command, int(fields[11]) + int(fields[12]))
    servers = [pid for pid, (parent, cmd, _) in table.items()
               if parent == driver and b"forkserver" in cmd]  # fmt: skip
    return [pid for pid, (parent, _, _) in table.items() if parent in servers]


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def test_a_pool_worker_killed_mid_trial_reruns_only_its_trial(tmp_path, maze_reference):
    out = tmp_path / "maze"
    process = start("compare", *MAZE, "--workers", "2", "--out", out)
    busy: list[int] = []

    def a_worker_is_busy() -> bool:  # a trial has run a while in it: it is mid-trial
        busy[:] = [pid for pid in pool_workers(process.pid) if cpu_ticks(pid) >= 30]
        return bool(busy) or process.poll() is not None

    wait_for(a_worker_is_busy)
    assert busy, "the run ended before a worker was busy"
    os.kill(busy[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr + stdout
    said = " ".join((stderr + stdout).split())  # the notice is beside the progress bars
    assert "died (killed by SIGKILL: kill -9, or out of memory); running that trial again" in said
    assert "(attempt 2 of 3)" in said and "(4 of 4 trials finished)" in said
    same_results(out, maze_reference)


SUICIDAL = '''
import os, signal
from lecture_rl.agents.q_learning import QLearningAgent

class SuicidalAgent(QLearningAgent):
    """Kills the process that trains it, as an out-of-memory kill would."""
    name = "suicidal"

    def _learn(self, env, run):
        os.kill(os.getpid(), signal.SIGKILL)
'''


def test_a_trial_that_keeps_killing_its_worker_fails_alone(tmp_path):
    (tmp_path / "fault_agents.py").write_text(SUICIDAL)
    out = tmp_path / "run"
    program = (
        "import sys; from lecture_rl import agents; "
        "agents.register('suicidal', 'fault_agents:SuicidalAgent'); "
        "from lecture_rl.runners.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = ["compare", "--env", "CliffWalking-v1", "--agents", "q_learning,suicidal",
            "--seeds", "2", "--episodes", "30", "--eval-episodes", "2", "--workers", "2",
            "--out", str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
           "COLUMNS": "200"}  # fmt: skip
    run = subprocess.run([sys.executable, "-c", program, *argv], capture_output=True, text=True,
                         env=env, timeout=600)  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    said = " ".join((run.stderr + run.stdout).split())
    assert said.count("running that trial again") == 4  # twice for each seed
    assert "WorkerDied: its worker process died 3 times, killed by SIGKILL" in said
    assert "(2 of 4 trials finished, 2 failed)" in said
    summary = json.loads((out / "summary.json").read_text())
    assert sorted((f["agent"], f["seed"]) for f in summary["failed"]) == [
        ("suicidal", 0),
        ("suicidal", 1),
    ]
    assert summary["agents"]["q_learning"]["eval"]["n"] == 2  # the others landed


# --------------------------------------------------------------------------------------------
# Half-written, edited or foreign files on resume
# --------------------------------------------------------------------------------------------


def test_damaged_edited_or_foreign_trial_files_are_named_set_aside_and_rerun(
    tmp_path, maze_reference, capsys
):
    out = tmp_path / "maze"
    shutil.copytree(maze_reference, out)
    trials = out / "trials"
    truncated = (trials / "q_learning-seed0.json").read_bytes()
    (trials / "q_learning-seed0.json").write_bytes(truncated[: len(truncated) // 2])
    edited = json.loads((trials / "sarsa-seed0.json").read_text())
    edited["eval"]["return_mean"] = 1.0  # a better number, typed in by hand
    (trials / "sarsa-seed0.json").write_text(json.dumps(edited))
    shutil.copy(trials / "q_learning-seed1.json", trials / "sarsa-seed1.json")  # another's
    capsys.readouterr()
    assert main(["compare", *MAZE, "--workers", "1", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "trials/q_learning-seed0.json: is not complete JSON (truncated or damaged)" in said
    assert "trials/sarsa-seed0.json: was changed after compare wrote it (edited by hand?)" in said
    assert "trials/sarsa-seed1.json: was made by another configuration" in said
    assert "1 of 4 trials already done, running 3" in said
    same_results(out, maze_reference)
    assert (trials / "sarsa-seed0.json.rejected").read_text() == json.dumps(edited)
    assert trials_intact(out) == 4


def test_a_results_csv_edited_by_hand_is_named_kept_aside_and_written_again(
    tmp_path, maze_reference, capsys
):
    out = tmp_path / "maze"
    shutil.copytree(maze_reference, out)
    text = (out / "results.csv").read_text().replace("q_learning,0,0,", "q_learning,0,0,9", 1)
    (out / "results.csv").write_text(text)
    capsys.readouterr()
    assert main(["compare", *MAZE, "--workers", "1", "--out", str(out)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert f"{out}/results.csv was changed after compare wrote it (edited by hand?)" in said
    assert "kept as results.csv.rejected" in said
    assert (out / "results.csv.rejected").read_text() == text
    same_results(out, maze_reference)


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """A `train` run stopped with SIGTERM after its first checkpoint: resumable."""
    out = tmp_path_factory.mktemp("interrupted") / "run"
    process = start("train", *GRID, "--episodes", "2000", "--save-every", "50episodes",
                    "--out", out)  # fmt: skip
    wait_for(lambda: (out / "agent.json").is_file() or process.poll() is not None)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    return out


def _copy(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(run, out)
    return out


def test_resume_refuses_a_checkpoint_file_from_another_run(tmp_path, interrupted_run, capsys):
    out = _copy(interrupted_run, tmp_path)
    other = tmp_path / "other"
    assert main(["train", "--env", "CliffWalking-v1", "--agent", "sarsa", "--episodes", "5",
                 "--eval-episodes", "0", "--out", str(other)]) == 0  # fmt: skip
    shutil.copy(other / "arrays.npz", out / "arrays.npz")
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert (
        f"checkpoint file {out}/arrays.npz is corrupt: not the one saved with its agent.json"
        in line
    )


def test_resume_refuses_an_agent_json_of_another_agent_or_env(tmp_path, interrupted_run, capsys):
    for key, value, named in (("agent", "sarsa", "sarsa agent"),
                              ("env_id", "CliffWalking-v1", "on CliffWalking-v1")):  # fmt: skip
        out = _copy(interrupted_run, tmp_path / key)
        meta = json.loads((out / "agent.json").read_text())
        meta[key] = value
        (out / "agent.json").write_text(json.dumps(meta))
        capsys.readouterr()
        assert main(["train", "--resume", str(out)]) == 2
        line = one_line(capsys.readouterr().err)
        assert named in line and "but the run trained q_learning on LectureRL/GridWorld-v0" in line


def test_resume_refuses_an_edited_log_and_goes_on_without_a_removed_one(
    tmp_path, interrupted_run, capsys
):
    out = _copy(interrupted_run, tmp_path)
    saved = json.loads((out / "agent.json").read_text())["training"]["episodes"]
    log = (out / "train_log.csv").read_text()
    (out / "train_log.csv").write_text(log.replace("\n1,", "\n1,1", 1))
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "train_log.csv was changed after the checkpoint was saved" in line
    (out / "train_log.csv").unlink()
    assert main(["train", "--resume", str(out), "--save-every", "1h"]) == 0
    assert f"the log goes on from episode {saved:,}" in capsys.readouterr().out
    rows = read_log(out)
    assert [int(row["episode"]) for row in rows] == list(range(saved, 2000))


def test_a_truncated_checkpoint_file_is_one_line_for_evaluate_and_inspect(
    tmp_path, small_checkpoint, capsys
):
    out = _copy(small_checkpoint, tmp_path)
    weights = out / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    inspect = ["inspect", "--checkpoint", str(out), "--out", str(tmp_path / "x.png")]
    for argv in (["evaluate", "--checkpoint", str(out), "--episodes", "2"], inspect):
        capsys.readouterr()
        assert main(argv) == 2
        line = one_line(capsys.readouterr().err)
        assert "weights.safetensors is corrupt: not the one saved with its agent.json" in line


def test_a_checkpoint_lists_every_file_it_goes_with(small_checkpoint):
    """The agent's files in `"files"`; train's log, written in the same save, in `"training"`."""
    meta = json.loads((small_checkpoint / "agent.json").read_text())
    files = file_manifest(small_checkpoint)
    log = files.pop("train_log.csv")
    assert meta["files"] == files and "weights.safetensors" in files
    assert meta["training"]["log_sha256"] == log["sha256"]
