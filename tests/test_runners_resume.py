"""`compare` never loses a finished trial: resume after a failure or a kill, refuse another
configuration, clean Ctrl-C, clean `--out` errors, umask-honouring files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lecture_rl import agents
from lecture_rl.runners.cli import main
from lecture_rl.runners.processes import group_members, lecture_rl_command

CLIFF = ["--env", "CliffWalking-v1", "--agents", "q_learning,sarsa", "--eval-episodes", "3"]


def compare(out, *extra, seeds=2, episodes=40):
    argv = ["compare", *CLIFF, "--seeds", str(seeds), "--episodes", str(episodes)]
    return main([*argv, "--workers", "1", "--out", str(out), *extra])


def trial_files(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (folder / "trials").glob("*")}


def start_compare(out: Path, seeds: int, episodes: int, workers: int, **popen) -> subprocess.Popen:
    """`lecture-rl compare` on the cliff as a real process (its own session unless told)."""
    command = lecture_rl_command()
    argv = [*command, "compare", *CLIFF, "--seeds", str(seeds), "--episodes", str(episodes),
            "--workers", str(workers), "--out", str(out)]  # fmt: skip
    # a shell's background job (e.g. CI started with '&') ignores Ctrl-C, and children inherit
    # that: give the command Ctrl-C back, so the tests that press it test the command
    default_ctrl_c = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    argv = [sys.executable, "-c", default_ctrl_c + "os.execv(sys.argv[1], sys.argv[1:])", *argv]
    popen.setdefault("start_new_session", True)
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(argv, **popen)


def wait_for_a_trial(out: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((out / "trials").glob("*.json")):
        time.sleep(0.005)


def left_in_group(pgid: int, seconds: float) -> list[int]:
    """The processes of group `pgid` still alive after up to `seconds` (then killed)."""
    deadline = time.monotonic() + seconds
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = group_members(pgid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: the files every resumed run must end with."""
    folder = tmp_path_factory.mktemp("reference") / "run"
    assert compare(folder) == 0
    return folder


def assert_same_results(folder: Path, reference: Path) -> None:
    for name in ("results.csv", "summary.json"):
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name


def test_a_trial_that_raised_is_the_only_one_rerun(tmp_path, reference, monkeypatch, capsys):
    cls = agents.agent_class("q_learning")
    original = cls.train

    def failing(self, env, *args, **kwargs):
        if self.seed == 1:
            raise RuntimeError("simulated crash")
        return original(self, env, *args, **kwargs)

    monkeypatch.setattr(cls, "train", failing)
    assert compare(tmp_path) == 1
    monkeypatch.setattr(cls, "train", original)
    before = trial_files(tmp_path)
    capsys.readouterr()

    assert compare(tmp_path) == 0
    assert "3 of 4 trials already done" in capsys.readouterr().out
    after = trial_files(tmp_path)
    for name, stamp in before.items():
        if name != "q_learning-seed1.json":
            assert after[name] == stamp, name  # finished trial files are untouched
    assert after["q_learning-seed1.json"] != before["q_learning-seed1.json"]
    assert_same_results(tmp_path, reference)


def test_resume_after_kill_9_loses_only_running_trials(tmp_path, reference):
    out = tmp_path / "run"
    process = start_compare(out, seeds=2, episodes=40, workers=1, start_new_session=False)
    wait_for_a_trial(out)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = trial_files(out)
    assert 1 <= len(done) < 4, "the run finished before the kill; make trials longer"
    rerun = start_compare(out, 2, 40, 1, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert f"{len(done)} of 4 trials already done, running {4 - len(done)}" in stdout
    after = trial_files(out)
    assert all(after[name] == stamp for name, stamp in done.items())
    assert_same_results(out, reference)


def test_results_csv_is_written_once_however_many_trials_finish(tmp_path, reference, monkeypatch):
    """Rewriting results.csv after every trial would cost time quadratic in the trials; the
    finished trials are kept in trials/ meanwhile."""
    from lecture_rl.runners.compare import run as run_module

    writes = []
    original = run_module.write_results_csv

    def counted(path, *args):
        writes.append(len(list((path.parent / "trials").glob("*.json"))))
        return original(path, *args)

    monkeypatch.setattr(run_module, "write_results_csv", counted)
    assert compare(tmp_path) == 0
    assert writes == [4]  # once, when all four trials had been kept
    assert_same_results(tmp_path, reference)


def test_another_configuration_in_the_same_folder_is_refused(tmp_path, reference, capsys):
    assert compare(tmp_path, "--set", "alpha=0.3") == 0
    before = trial_files(tmp_path)
    capsys.readouterr()
    assert compare(tmp_path, "--set", "alpha=0.4") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "hyperparameters" in err and "0.3" in err and "0.4" in err
    assert "--fresh" in err and "another --out" in err
    assert trial_files(tmp_path) == before
    assert compare(tmp_path, "--fresh") == 0  # the default alpha, started over
    assert_same_results(tmp_path, reference)


def test_corrupt_or_truncated_trial_files_are_rerun_never_trusted(tmp_path, reference, capsys):
    assert compare(tmp_path) == 0
    (tmp_path / "trials" / "sarsa-seed0.json").write_text('{"agent": "sarsa", "rec')
    (tmp_path / "trials" / "sarsa-seed1.json").write_text('__import__("os").system("false")')
    capsys.readouterr()
    assert compare(tmp_path) == 0
    assert "2 of 4 trials already done, running 2" in capsys.readouterr().out
    assert_same_results(tmp_path, reference)


def test_fewer_seeds_leave_no_stale_trial_files(tmp_path, capsys):
    assert compare(tmp_path, seeds=3) == 0
    capsys.readouterr()
    assert compare(tmp_path, seeds=2) == 0
    assert "4 of 4 trials already done, running 0" in capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "trials").glob("*"))
    assert names == [f"{a}-seed{s}.json" for a in ("q_learning", "sarsa") for s in (0, 1)]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seeds"] == [0, 1]


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_output_files_honour_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        assert compare(tmp_path / "run", seeds=1, episodes=5) == 0
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"results.csv", "summary.json", "curves.png", "config.json"}
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


def _misuse(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_out_that_is_a_file_or_under_a_file_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    argv = ["compare", *CLIFF, "--seeds", "1", "--episodes", "5", "--out"]
    assert "is a file" in _misuse([*argv, str(blocker)], capsys)
    assert "lies under" in _misuse([*argv, str(blocker / "sub" / "run")], capsys)
    assert blocker.read_text() == "not a folder"


def test_what_is_in_the_way_in_out_or_a_refused_folder_is_one_line(tmp_path, capsys, monkeypatch):
    argv = ["compare", *CLIFF, "--seeds", "1", "--episodes", "5", "--workers", "1", "--out"]
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "trials").write_text("mine")
    assert "file named trials" in _misuse([*argv, str(tmp_path / "a")], capsys)
    (tmp_path / "b" / "summary.json").mkdir(parents=True)
    assert "folder named summary.json" in _misuse([*argv, str(tmp_path / "b")], capsys)
    assert (tmp_path / "a" / "trials").read_text() == "mine"

    def refuse(self, *args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(Path, "mkdir", refuse)  # e.g. a read-only or virtual file system
    assert "cannot create it (Operation not permitted)" in _misuse(
        [*argv, str(tmp_path / "c")], capsys
    )


def test_out_that_is_not_writable_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if Path(path) == locked else real_access(path, mode)
    )
    argv = ["compare", *CLIFF, "--seeds", "1", "--episodes", "5", "--out", str(locked / "run")]
    assert "permission denied" in _misuse(argv, capsys)
    assert not (locked / "run").exists()


def test_missing_ray_is_one_line_naming_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    argv = ["compare", *CLIFF, "--seeds", "1", "--episodes", "5", "--executor", "ray"]
    assert "lecture-rl[cluster]" in _misuse([*argv, "--out", str(tmp_path / "r")], capsys)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_in_a_real_process_keeps_finished_trials_without_traceback(tmp_path, presses):
    out = tmp_path / "run"
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    process = start_compare(out, 4, 3000, 2, start_new_session=False, **pipes)
    wait_for_a_trial(out)
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(0.1)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    summary = json.loads((out / "summary.json").read_text())
    finished = len(list((out / "trials").glob("*.json")))
    assert summary["interrupted"] is True
    assert sum(entry["eval"]["n"] for entry in summary["agents"].values()) == finished
    assert (out / "curves.png").stat().st_size > 0 and (out / "results.csv").is_file()
    assert "interrupted" in stdout


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups in /proc")
def test_compare_leaves_no_process_behind_in_its_group(tmp_path):
    process = start_compare(tmp_path / "run", seeds=2, episodes=20, workers=2)
    assert process.wait(timeout=300) == 0
    assert left_in_group(process.pid, 5) == []  # the pool's helpers exit as the pipes close


@pytest.mark.parametrize("delay", [0.6, 1.4, 2.2])
def test_an_early_ctrl_c_to_the_process_group_prints_no_traceback(tmp_path, delay):
    """Ctrl-C reaches the fork server too; during its imports, or while the workers start,
    it used to print an interrupted import's or a half-started worker's traceback."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    process = start_compare(tmp_path / "run", 4, 3000, 2, **pipes)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups in /proc")
def test_kill_9_of_compare_leaves_no_worker_or_fork_server_behind(tmp_path):
    """The workers notice the driver's death (their lifeline pipe closes) and exit; the fork
    server and the resource tracker follow. Before, they blocked forever holding ~1 GB."""
    out = tmp_path / "run"
    process = start_compare(out, seeds=6, episodes=2000, workers=2)
    wait_for_a_trial(out)
    assert process.poll() is None, "the run finished before the kill; make trials longer"
    assert len(group_members(process.pid)) >= 3  # the driver, the fork server, the workers
    process.kill()
    process.wait()
    assert left_in_group(process.pid, 20) == []


def test_a_ctrl_c_while_a_trial_is_kept_waits_until_it_is_kept_and_counted():
    from lecture_rl.runners.processes import ctrl_c

    steps, before = [], signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with ctrl_c(defer=True):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the signal is delivered here, between the two steps
            steps.append("file written")
            steps.append("result counted")
    assert steps == ["file written", "result counted"]
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads signal masks in /proc")
def test_the_fork_server_is_born_with_ctrl_c_blocked_and_the_driver_is_not_left_so():
    """The early Ctrl-C test above raced the fork server's first imports: a Ctrl-C landing
    before its preload ran printed `import pickle`'s KeyboardInterrupt. Now it starts with
    SIGINT blocked from its first instruction (as multiprocessing's resource tracker does)."""
    code = (
        "import re; from multiprocessing import forkserver;"
        "from lecture_rl.runners.processes import warm_up_pool; warm_up_pool();"
        "blocked = lambda pid: int(re.search(r'SigBlk:\\s*(\\w+)',"
        " open(f'/proc/{pid}/status').read()).group(1), 16);"
        "print(blocked(forkserver._forkserver._forkserver_pid), blocked('self'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    server, driver = (int(x) for x in done.stdout.split())
    sigint = 1 << (signal.SIGINT - 1)
    assert server & sigint  # held off in the server from its start
    assert not driver & sigint  # the driver's own Ctrl-C works as before
