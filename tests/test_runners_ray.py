"""`compare --executor ray`: the same files as the local pool (a local Ray, 2 CPUs), also
when a Ray worker is killed mid-trial."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import ray  # the 'cluster' extra; the dev extra includes it

from lecture_rl.runners.cli import main

ARGV = ["compare", "--env", "CliffWalking-v1", "--agents", "q_learning,sarsa", "--seeds", "2",
        "--episodes", "40", "--eval-episodes", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_executor_writes_the_same_files_as_the_local_pool(tmp_path, local_ray, capsys):
    assert main([*ARGV, "--workers", "2", "--out", str(tmp_path / "pool")]) == 0
    assert main([*ARGV, "--executor", "ray", "--out", str(tmp_path / "ray")]) == 0
    for name in ("results.csv", "summary.json", "config.json"):
        pool, on_ray = tmp_path / "pool" / name, tmp_path / "ray" / name
        if name == "config.json":  # the only difference is where it was written
            assert {**json.loads(pool.read_text()), "out": ""} == {
                **json.loads(on_ray.read_text()),
                "out": "",
            }
        else:
            assert pool.read_bytes() == on_ray.read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "ray" / "trials").glob("*.json")) == sorted(
        p.name for p in (tmp_path / "pool" / "trials").glob("*.json")
    )


def test_ray_resumes_like_the_pool(tmp_path, local_ray, capsys):
    out = tmp_path / "run"
    assert main([*ARGV, "--workers", "1", "--out", str(out)]) == 0
    (out / "trials" / "sarsa-seed1.json").unlink()
    capsys.readouterr()
    assert main([*ARGV, "--executor", "ray", "--trial-cpus", "1", "--out", str(out)]) == 0
    assert "3 of 4 trials already done, running 1" in capsys.readouterr().out
    assert (out / "trials" / "sarsa-seed1.json").is_file()


def test_ray_options_are_checked_before_any_work(tmp_path, local_ray, capsys):
    argv = [*ARGV, "--executor", "ray", "--trial-cpus", "0", "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    assert "--trial-cpus" in capsys.readouterr().err
    assert main([*ARGV, "--trial-gpus", "1", "--out", str(tmp_path / "y")]) == 2
    assert "--executor ray" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_ray_addresses_select_the_ray_executor_without_starting_ray():
    import socket

    from lecture_rl.runners.compare.executor import PoolExecutor, RayExecutor, make_executor

    with socket.create_server(("127.0.0.1", 0)) as head:  # a port that answers
        port = head.getsockname()[1]
        remote = make_executor(f"ray://127.0.0.1:{port}", None, 2, None, None)
        assert isinstance(remote, RayExecutor) and remote.address == f"ray://127.0.0.1:{port}"
        joined = make_executor(None, f"127.0.0.1:{port}", 2, 2, 1)
    assert isinstance(joined, RayExecutor) and joined.address == f"127.0.0.1:{port}"
    assert (joined.trial_cpus, joined.trial_gpus, joined.num_cpus) == (2, 1, None)
    assert isinstance(make_executor(None, None, 2, None, None), PoolExecutor)


def test_an_unreachable_or_malformed_ray_address_is_one_line_before_any_work(tmp_path, capsys):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]  # free once closed: nothing listens there
    for flags, says in [
        (["--executor", f"ray://127.0.0.1:{port}"], "cannot reach the Ray cluster"),
        (["--address", f"127.0.0.1:{port}"], "cannot reach the Ray cluster"),
        (["--executor", "ray://"], "is not HOST:PORT"),
        (["--address", "head"], "is not HOST:PORT"),
    ]:
        out = tmp_path / "run"
        assert main([*ARGV, *flags, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists()


def test_tune_on_ray_scores_every_trial_as_the_local_run_and_reads_its_curve_live(
    tmp_path, local_ray
):
    """The trials' evaluation curves reach the driver while they run (through a Ray queue, as
    the pool's progress does), so the pruner can act on Ray too."""
    import csv

    import optuna

    argv = ["tune", "--env", "CliffWalking-v1", "--agent", "q_learning", "--episodes", "40",
            "--trials", "2", "--seeds", "2", "--eval-episodes", "2"]  # fmt: skip
    assert main([*argv, "--workers", "1", "--out", str(tmp_path / "local")]) == 0
    assert main([*argv, "--executor", "ray", "--out", str(tmp_path / "ray")]) == 0
    tables, curves = [], []
    for name in ("local", "ray"):
        with open(tmp_path / name / "trials.csv", newline="") as stream:
            tables.append(
                [{k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(stream)]
            )
        storage = f"sqlite:///{tmp_path / name / 'study.db'}"
        study = optuna.load_study(study_name="tune", storage=storage)
        curves.append([t.intermediate_values for t in study.trials])
    assert tables[0] == tables[1] and len(tables[0]) == 2
    assert curves[0] == curves[1] and all(len(c) == 4 for c in curves[1])


def ray_trial_workers() -> list[int]:
    """The Ray worker processes running a trial now (Ray titles them `ray::_ray_trial`)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "cmdline").read_bytes().startswith(b"ray::_ray_trial"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_ray_worker_killed_mid_trial_runs_its_trial_again(tmp_path, local_ray, capsys):
    """kill -9 of the Ray worker running a trial: Ray runs the task again (`max_retries`),
    and the comparison ends with the undisturbed run's files."""
    argv = ["compare", "--env", "LectureRL/GridWorld-v0", "--env-set", "map_name=maze",
            "--agents", "q_learning,sarsa", "--seeds", "2", "--episodes", "1500",
            "--eval-episodes", "3"]  # fmt: skip
    assert main([*argv, "--workers", "1", "--out", str(tmp_path / "pool")]) == 0
    killed: list[int] = []
    stop = threading.Event()

    def kill_one_worker_mid_trial() -> None:
        seen: dict[int, float] = {}
        while not stop.is_set() and not killed:
            now = time.monotonic()
            for pid in ray_trial_workers():
                if now - seen.setdefault(pid, now) > 0.5:  # half a second into its trial
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_worker_mid_trial, daemon=True)
    killer.start()
    try:
        assert main([*argv, "--executor", "ray", "--out", str(tmp_path / "ray")]) == 0
    finally:
        stop.set()
        killer.join()
    assert killed, "no trial ran long enough to be killed; make the trials longer"
    assert "4 of 4 trials finished" in " ".join(capsys.readouterr().out.split())
    for name in ("results.csv", "summary.json"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "pool" / name).read_bytes()
