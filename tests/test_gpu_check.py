"""The GPU path without a GPU: the prepared check's skip and CPU run, reproducible cuDNN
settings, and checkpoints moved between devices at load time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
import torch

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents.device import make_reproducible
from lecture_rl.agents.hyperparameters import HyperparameterError
from lecture_rl.runners.processes import lecture_rl_command

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "benchmarks" / "gpu_check.py"
needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@needs_no_cuda
def test_the_check_says_skipped_and_exits_0_without_cuda():
    done = subprocess.run(
        [sys.executable, str(CHECK), "--smoke"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert done.stdout.strip().splitlines() == [done.stdout.strip()]  # one line
    assert "skipped" in done.stdout and "no CUDA" in done.stdout


def test_the_check_runs_its_checks_on_the_cpu_and_reports_each(tmp_path):
    out = tmp_path / "check"
    only = ["--only", "lstm, Parity-16", "--only", "across devices", "--only", "inspect"]
    done = subprocess.run(
        [sys.executable, str(CHECK), "--smoke", "--device", "cpu", *only, "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    table = (out / "gpu_check.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    names = [row.split("|")[1].strip() for row in rows[1:]]
    wanted = ["ppo + lstm, Parity-16", "checkpoint across devices", "inspect of a GPU checkpoint"]
    assert names[:3] == wanted and all("lstm, Parity-16" in name for name in names[3:])
    assert all(row.rstrip(" |").endswith("yes") for row in rows[1:])
    assert "greedy accuracy" in table and (out / "inspect.png").stat().st_size > 10_000


def run_on_the_cpu(only: str, out: Path) -> subprocess.CompletedProcess:
    """The check's smoke on the CPU, only the checks whose name holds `only`."""
    return subprocess.run(
        [sys.executable, str(CHECK), "--smoke", "--device", "cpu", "--only", only,
         "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_a_failing_check_makes_the_exit_code_1(tmp_path):
    # inspect needs the checkpoint of the lstm training check, which --only leaves out
    done = run_on_the_cpu("inspect", tmp_path)
    assert done.returncode == 1
    assert "**FAILED**" in (tmp_path / "gpu_check.md").read_text()


def test_cuda_turns_on_deterministic_cudnn_and_cpu_leaves_it(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    make_reproducible(torch.device("cpu"))
    assert torch.backends.cudnn.deterministic is False
    make_reproducible(torch.device("cuda"))
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False
    import os

    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


@pytest.fixture
def cpu_checkpoint(tmp_path):
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("ppo", env, net="gru", num_envs=8, n_steps=8, device="cpu", seed=3)
    agent.train(env, steps=256)
    agent.save(tmp_path / "ppo")
    return tmp_path / "ppo"


def test_load_puts_the_networks_on_the_device_asked_for(cpu_checkpoint, monkeypatch):
    recorded = agents.load(cpu_checkpoint)
    assert recorded.device == torch.device("cpu")
    # a machine with CUDA: the same checkpoint is rebuilt for cuda (meta tensors: no GPU needed)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    seen = {}
    original = agents.agent_class("ppo").from_checkpoint.__func__

    def spy(cls, folder, meta, env):
        seen["device"] = meta["hyperparameters"]["device"]
        raise RuntimeError("stop before allocating on a GPU this machine lacks")

    monkeypatch.setattr(agents.agent_class("ppo"), "from_checkpoint", classmethod(spy))
    with pytest.raises(agents.CheckpointError):
        agents.load(cpu_checkpoint, device="cuda")
    assert seen["device"] == "cuda"
    monkeypatch.setattr(agents.agent_class("ppo"), "from_checkpoint", classmethod(original))


@needs_no_cuda
def test_load_onto_cuda_without_cuda_is_a_clear_error(cpu_checkpoint):
    with pytest.raises(HyperparameterError, match="CUDA is not available"):
        agents.load(cpu_checkpoint, device="cuda")


def test_a_checkpoint_recorded_as_cuda_loads_on_this_cpu(cpu_checkpoint):
    import json

    meta_file = cpu_checkpoint / "agent.json"
    meta = json.loads(meta_file.read_text())
    meta["hyperparameters"]["device"] = "cuda"
    meta_file.write_text(json.dumps(meta))
    agent = agents.load(cpu_checkpoint, device="cpu")
    assert agent.device == torch.device("cpu")
    assert next(agent.backbone.parameters()).device.type == "cpu"


@needs_no_cuda
@pytest.mark.parametrize("command", ["evaluate", "inspect"])
def test_device_cuda_on_a_loading_command_without_cuda_is_one_line(
    cpu_checkpoint, command, tmp_path
):
    words = [command, "--checkpoint", str(cpu_checkpoint), "--device", "cuda"]
    if command == "inspect":
        words += ["--out", str(tmp_path / "fig.png")]
    done = subprocess.run([*lecture_rl_command(), *words], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "CUDA is not available" in done.stderr
    assert not (tmp_path / "fig.png").exists()


def test_the_check_prints_where_a_rollouts_time_goes_first(tmp_path):
    done = run_on_the_cpu("profile", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    tables = (tmp_path / "profile.md").read_text()
    assert tables.count("| update forward+backward |") == 2  # lstm and gru
    assert "launch-bound ceiling at 4096 envs" in tables
    assert done.stdout.index("| env step |") < done.stdout.index("[    ok] profile")
    row = (tmp_path / "gpu_check.md").read_text()
    assert "launches per rollout: lstm" in row and "gru" in row
