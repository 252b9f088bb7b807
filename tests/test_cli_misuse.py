"""Misuse of `lecture-rl`: exit code 2, exactly one line on stderr, no traceback."""

from __future__ import annotations

import json
import subprocess

import pytest

from lecture_rl.runners.cli import main
from lecture_rl.runners.processes import lecture_rl_command

GRID = ["--env", "LectureRL/GridWorld-v0"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A q_learning checkpoint trained on the lecture grid."""
    folder = tmp_path_factory.mktemp("ckpt") / "q"
    assert main(["train", *GRID, "--agent", "q_learning", "--episodes", "20",
                 "--eval-episodes", "1", "--out", str(folder)]) == 0  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def broken_checkpoints(checkpoint, tmp_path_factory):
    """Copies of the checkpoint with corrupt metadata, corrupt arrays and an unknown agent."""
    import shutil

    root = tmp_path_factory.mktemp("broken")
    made = {}
    for kind in ("meta", "arrays", "agent"):
        folder = root / kind
        shutil.copytree(checkpoint, folder)
        made[kind] = folder
    (made["meta"] / "agent.json").write_text("{not json")
    (made["arrays"] / "arrays.npz").write_bytes(b"PK\x03\x04 garbage")
    meta = json.loads((made["agent"] / "agent.json").read_text())
    meta["agent"] = "no_such_agent"
    (made["agent"] / "agent.json").write_text(json.dumps(meta))
    return made


CASES = {
    "unknown env": (["train", "--env", "LectureRL/GridWrld-v0", "--agent", "q_learning"],
                    "did you mean 'LectureRL/GridWorld-v0'"),
    "unknown env module": (["train", "--env", "no_such_pkg:Thing-v0", "--agent", "random"],
                           "cannot import module 'no_such_pkg'"),
    "unknown agent": (["train", *GRID, "--agent", "q_lerning"], "did you mean 'q_learning'"),
    "malformed --set": (["train", *GRID, "--agent", "q_learning", "--set", "alpha"],
                        "has no '='"),
    "misspelled hyperparameter": (["train", *GRID, "--agent", "q_learning", "--set", "alpah=0.1"],
                                  "did you mean 'alpha'"),
    "alpha <= 0": (["train", *GRID, "--agent", "sarsa", "--set", "alpha=0"], "alpha"),
    "gamma > 1": (["train", *GRID, "--agent", "q_learning", "--set", "gamma=1.5"], "gamma"),
    "bad env keyword": (["train", *GRID, "--agent", "q_learning", "--env-set", "map=cliff"],
                        "does not take the keyword 'map' (did you mean 'map_name'?)"),
    "bad env value": (["train", *GRID, "--agent", "q_learning", "--env-set", "obs_mode=pixels"],
                      "obs_mode"),
    "episodes and steps": (["train", *GRID, "--agent", "q_learning", "--episodes", "3",
                            "--steps", "4"], "not allowed with argument --episodes"),
    "zero episodes": (["train", *GRID, "--agent", "q_learning", "--episodes", "0"],
                      "at least 1"),
    "tabular agent on Box env": (["train", "--env", "CartPole-v1", "--agent", "q_learning"],
                                 "Discrete"),
    "argparse: missing --agent": (["train", *GRID], "--agent"),
    "argparse: bad choice": (["train", *GRID, "--agent", "dqn", "--device", "tpu"], "tpu"),
    "missing checkpoint": (["evaluate", "--checkpoint", "{tmp}/nothing-here"], "does not exist"),
    "corrupt metadata": (["evaluate", "--checkpoint", "{meta}"], "corrupt"),
    "corrupt arrays": (["evaluate", "--checkpoint", "{arrays}"], "corrupt"),
    "checkpoint of unknown agent": (["evaluate", "--checkpoint", "{agent}"], "no_such_agent"),
    "checkpoint of another env": (["evaluate", "--checkpoint", "{ckpt}", "--env",
                                   "LectureRL/Parity-v0"], "Parity"),
    "checkpoint on another map": (["evaluate", "--checkpoint", "{ckpt}", "--env-set",
                                   "map_name=cliff"], "Discrete(n=48)"),
    "compare without --out": (["compare", *GRID, "--agents", "q_learning"], "--out"),
    "compare unknown agent in list": (["compare", *GRID, "--agents", "q_learning,sarsaa",
                                       "--out", "{tmp}/c"], "did you mean 'sarsa'"),
    "compare override of a missing agent": (["compare", *GRID, "--agents", "q_learning",
                                             "--set", "ppo.lr=1", "--out", "{tmp}/c"],
                                            "'ppo' is not one of the agents"),
    "compare bad per-agent value": (["compare", *GRID, "--agents", "q_learning,sarsa", "--set",
                                     "sarsa.alpha=7", "--out", "{tmp}/c"], "sarsa"),
    "compare missing config": (["compare", "--config", "{tmp}/none.json"], "does not exist"),
    "train negative eval episodes": (["train", *GRID, "--agent", "q_learning", "--eval-episodes",
                                      "-1"], "--eval-episodes must be 0 (none) or more"),
    "compare zero eval episodes": (["compare", *GRID, "--agents", "q_learning", "--eval-episodes",
                                    "0", "--out", "{tmp}/c"], "--eval-episodes must be at least 1"),
    "compare negative first seed": (["compare", *GRID, "--agents", "q_learning", "--first-seed",
                                     "-1", "--out", "{tmp}/c"], "--first-seed must be 0 or more"),
    "watch without agent": (["watch", *GRID], "--agent"),
    "play without key map": (["play", "--env", "MountainCarContinuous-v0", "--max-frames", "2"],
                             "no key map"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_misuse_prints_one_line_and_exits_2(case, capsys, tmp_path, checkpoint,
                                            broken_checkpoints):  # fmt: skip
    argv, phrase = CASES[case]
    places = {"tmp": tmp_path, "ckpt": checkpoint, **broken_checkpoints}
    argv = [arg.format(**places) for arg in argv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lecture-rl"), err
    assert phrase in lines[0]
    assert "Traceback" not in err
    if case.startswith("compare"):
        assert not (tmp_path / "c").exists()  # misuse is caught before any work starts


@pytest.mark.parametrize(
    "argv",
    [
        ["train", *GRID, "--agent", "q_learning"],
        ["train", "--env", "LectureRL/Parity-v0", "--agent", "ppo", "--out", "{tmp}/t"],
        ["compare", "--env", "LectureRL/Parity-v0", "--agents", "ppo,dqn", "--out", "{tmp}/c"],
        ["evaluate", "--checkpoint", "{ckpt}"],
        ["inspect", "--checkpoint", "{ckpt}", "--out", "{tmp}/i.png"],
    ],
    ids=["train-tabular", "train-ppo", "compare", "evaluate", "inspect"],
)
def test_device_cuda_without_cuda_is_misuse(monkeypatch, capsys, tmp_path, checkpoint, argv):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{ckpt}", str(checkpoint)) for a in argv]
    code = main([*argv, "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "CUDA is not available" in err and "--device cpu" in err
    assert list(tmp_path.iterdir()) == []  # before any work: no output folder


def test_console_script_misuse_in_a_real_process():
    command = lecture_rl_command()
    done = subprocess.run(
        [*command, "train", "--env", "CliffWalking-v1", "--agent", "sarsa", "--set", "gamma=2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "gamma" in done.stderr
    assert "Traceback" not in done.stderr
