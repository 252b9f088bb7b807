"""rl-zoo3 runs on our ids with the shipped hyperparameters (`--conf-file` by module name)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from lecture_rl.assets import zoo

pytest.importorskip("rl_zoo3")

ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "MPLBACKEND": "Agg"}


def run(args: list[str], cwd) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_every_shipped_file_covers_our_ids_and_its_module_matches():
    import importlib

    import lecture_rl.envs

    for algo in zoo.ALGOS:
        table = zoo.load(algo)
        assert set(table) == set(lecture_rl.envs.ENV_IDS), algo
        assert importlib.import_module(f"lecture_rl.assets.zoo.{algo}").hyperparams == table
        for settings in table.values():
            assert "n_timesteps" in settings and "policy" in settings
    with pytest.raises(ValueError, match="choose one of"):
        zoo.path("sac")


def test_rl_zoo3_train_then_enjoy_on_our_id(tmp_path):
    common = ["--algo", "dqn", "--env", "LectureRL/GridWorld-v0", "--gym-packages"]
    common += ["lecture_rl.envs", "-f", "logs"]
    run(
        ["rl_zoo3.train", *common, "--conf-file", "lecture_rl.assets.zoo.dqn", "-n", "300"],
        tmp_path,
    )
    folder = tmp_path / "logs" / "dqn" / "LectureRL-GridWorld-v0_1"
    assert (folder / "LectureRL-GridWorld-v0.zip").is_file()
    config = yaml.unsafe_load((folder / "LectureRL-GridWorld-v0" / "config.yml").read_text())
    used = dict(config)
    assert used["target_update_interval"] == 500  # ours, not rl-zoo3's default for DQN
    monitor = (folder / "0.monitor.csv").read_text().splitlines()
    assert len(monitor) > 3  # a header, the column names and finished episodes
    enjoyed = run(["rl_zoo3.enjoy", *common, "-n", "20", "--no-render"], tmp_path)
    assert "Loading" in enjoyed.stdout


def test_shim_runs_record_video_which_has_no_gym_packages_option(tmp_path):
    run(
        [
            "lecture_rl.runners.zoo",
            "train",
            "--algo",
            "dqn",
            "--env",
            "LectureRL/Parity-v0",
            "--conf-file",
            "lecture_rl.assets.zoo.dqn",
            "-n",
            "200",
            "-f",
            "logs",
        ],
        tmp_path,
    )
    run(
        [
            "lecture_rl.runners.zoo",
            "record_video",
            "--algo",
            "dqn",
            "--env",
            "LectureRL/Parity-v0",
            "-f",
            "logs",
            "-n",
            "20",
        ],
        tmp_path,
    )
    assert list((tmp_path / "logs").rglob("*.mp4"))
    done = subprocess.run(
        [sys.executable, "-m", "lecture_rl.runners.zoo", "nonsense"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "usage" in done.stderr
