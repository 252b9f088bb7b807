"""`train` writes resumable checkpoints; `train --resume DIR` continues the run."""

from __future__ import annotations

import csv
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.runners.cli import main


def read_log(folder):
    with open(folder / "train_log.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def interrupt_after(monkeypatch, episodes: int) -> None:
    """Make the next `train` raise KeyboardInterrupt after `episodes` episodes."""
    from lecture_rl.runners import train as train_module

    original = train_module.ResumableCheckpoint.on_event

    def on_event(self, event):
        original(self, event)
        if len(self.records) >= episodes:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module.ResumableCheckpoint, "on_event", on_event)


def test_a_tabular_run_interrupted_and_resumed_reaches_its_budget(tmp_path, monkeypatch, capsys):
    out = tmp_path / "q"
    argv = ["train", "--env", "CliffWalking-v1", "--agent", "q_learning", "--episodes", "60",
            "--set", "alpha=0.5", "--set", "epsilon=0.1", "--eval-episodes", "2",
            "--out", str(out)]  # fmt: skip
    with monkeypatch.context() as patch:
        interrupt_after(patch, 25)
        assert main(argv) == 130
    meta = json.loads((out / "agent.json").read_text())
    assert meta["interrupted"] and meta["training"]["episodes"] == 25
    assert not meta["training"]["complete"] and "training_state" in meta
    assert "--resume" in capsys.readouterr().out
    q_at_stop = agents.load(out).q.copy()
    assert main(["train", "--resume", str(out)]) == 0
    log = read_log(out)
    assert [int(r["episode"]) for r in log] == list(range(60))  # the curve continues
    steps = [int(r["env_steps"]) for r in log]
    assert steps == sorted(steps) and steps[25] > steps[24]
    final = json.loads((out / "agent.json").read_text())
    assert final["training"]["complete"] and not final["interrupted"]
    assert final["state"]["episodes_done"] == 60
    assert not np.array_equal(agents.load(out).q, q_at_stop)  # it learned on
    assert not list(out.glob("training_state.*"))  # a finished run keeps no resume state
    assert main(["train", "--resume", str(out)]) == 2  # finished: nothing to resume
    assert "already finished" in capsys.readouterr().err


def test_a_deep_run_resumes_with_its_optimizer_state(tmp_path, monkeypatch):
    out = tmp_path / "ppo"
    argv = ["train", "--env", "LectureRL/Parity-v0", "--env-set", "length=4", "--agent", "ppo",
            "--steps", "4096", "--set", "num_envs=16", "--set", "n_steps=16",
            "--set", "num_minibatches=2", "--set", "hidden_size=16", "--eval-episodes", "2",
            "--checkpoint-every", "0", "--out", str(out)]  # fmt: skip
    with monkeypatch.context() as patch:
        interrupt_after(patch, 300)
        assert main(argv) == 130
    stopped = agents.load(out)
    saved = json.loads((out / "agent.json").read_text())
    assert saved["training"]["env_steps"] < 4096
    state = stopped.optimizer.state_dict()["state"]
    assert state and all(float(slot["step"]) > 0 for slot in state.values())  # Adam's moments
    assert main(["train", "--resume", str(out)]) == 0
    final = json.loads((out / "agent.json").read_text())
    assert final["training"]["complete"] and final["training"]["env_steps"] >= 4096
    log = read_log(out)
    assert int(log[-1]["env_steps"]) >= 4096 and len(log) > 300


def test_resumed_training_continues_exactly_where_the_checkpoint_stopped(tmp_path):
    """Same numbers after a save/load as without it (optimizer, generators, replay memory,
    and the recurrent DQN's sequence replay with its stored states)."""
    for label, name, env_id, kwargs, hp in [
        ("dqn", "dqn", "FrozenLake-v1", {"is_slippery": False},
         {"learning_starts": 50, "device": "cpu", "hidden_size": 16}),
        ("dqn-gru", "dqn", "LectureRL/Parity-v0", {"length": 4},
         {"net": "gru", "learning_starts": 50, "seq_len": 4, "burn_in": 2, "device": "cpu",
          "hidden_size": 16}),
        ("ppo", "ppo", "LectureRL/Parity-v0", {"length": 4},
         {"num_envs": 8, "n_steps": 8, "num_minibatches": 2, "device": "cpu", "hidden_size": 16}),
    ]:  # fmt: skip
        env = gym.make(env_id, **kwargs)
        first = agents.make(name, env, seed=3, **hp)
        first.train(env, steps=400)
        first.save(tmp_path / label, training_state=True)
        second = agents.load(tmp_path / label)
        if label == "dqn-gru":  # the sequences and their stored states came back
            assert len(second.buffer) == len(first.buffer) > 0
            for p, q in zip(first.buffer.state, second.buffer.state):
                assert torch.equal(p, q)
        a = first.train(gym.make(env_id, **kwargs), steps=400)
        b = second.train(gym.make(env_id, **kwargs), steps=400)
        assert [r["return"] for r in a.episodes] == [r["return"] for r in b.episodes], label
        for p, q in zip(first.parameters(), second.parameters()):
            assert torch.equal(p, q), label


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete"])
def test_a_damaged_training_state_is_a_clear_error(tmp_path, damage, capsys):
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = agents.make("dqn", env, seed=0, learning_starts=20, device="cpu", hidden_size=8)
    agent.train(env, steps=100)
    agent.save(tmp_path / "a", training_state=True)
    path = tmp_path / "a" / "training_state.safetensors"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:50])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x04not safetensors at all")
    else:
        path.unlink()
    with pytest.raises(agents.CheckpointError, match="training_state"):
        agents.load(tmp_path / "a")


def test_resume_misuse_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path), "--env", "CliffWalking-v1"]) == 2
    assert "drop --env" in capsys.readouterr().err
    assert main(["train", "--agent", "q_learning"]) == 2
    assert "needs --env" in capsys.readouterr().err


def test_sigterm_saves_a_resumable_checkpoint_like_ctrl_c(tmp_path):
    """A batch scheduler stops a job with SIGTERM: the run is saved as on Ctrl-C, resumable."""
    import signal
    import subprocess
    import time

    from lecture_rl.runners.processes import lecture_rl_command

    command = lecture_rl_command()
    out = tmp_path / "long"
    argv = [*command, "train", "--env", "CliffWalking-v1", "--agent", "sarsa", "--episodes",
            "5000000", "--checkpoint-every", "0.2", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "agent.json").is_file():
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stdout
    meta = json.loads((out / "agent.json").read_text())
    assert meta["interrupted"] and not meta["training"]["complete"] and "training_state" in meta
    assert 0 < meta["training"]["episodes"] < 5_000_000
    assert len(read_log(out)) == meta["training"]["episodes"]  # the log matches the checkpoint


def test_resume_refuses_settings_it_would_ignore(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["train", "--env", "CliffWalking-v1", "--agent", "sarsa", "--episodes", "30"]
    assert main([*argv, "--eval-episodes", "1", "--out", str(out)]) == 0
    meta = json.loads((out / "agent.json").read_text())
    meta["training"]["complete"] = False  # pretend it was interrupted
    (out / "agent.json").write_text(json.dumps(meta))
    capsys.readouterr()
    for extra, flags in [
        (["--steps", "5"], "--steps"),
        (["--set", "alpha=1", "--seed", "4"], "--seed and --set"),
        (["--out", str(tmp_path / "elsewhere")], "--out"),
    ]:
        assert main(["train", "--resume", str(out), *extra]) == 2
        assert f"drop {flags}" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists()
