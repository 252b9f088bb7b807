"""Where a rollout's time goes: the profile's launch and sync counts, on the CPU."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
import torch
from torch.profiler import profile

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents.training_profile import (
    LAUNCH_SECONDS,
    PHASES,
    marking,
    phase,
    profile_training,
    summarise,
    to_host,
)

ROOT = Path(__file__).resolve().parents[1]


def figures_of(fn) -> dict:
    """The phase figures of running `fn` under the profiler, with the phases marked."""
    with marking(), profile(record_shapes=True) as prof:
        fn()
    phases, other, total, _ = summarise(prof.events(), 1.0, on_cuda=False)
    return {"phases": phases, "other": other, "total": total}


def test_a_launch_is_an_operator_that_writes_memory_not_a_view_or_a_python_number():
    x, y = torch.rand(8, 3), torch.rand(8, 3)

    def work():
        with phase("env step"):
            z = x + y  # 1
            z = z * 2.5  # 1: the Python number is the kernel's argument, no copy
            z = z.t().reshape(-1).view(3, 8)[1:]  # views: nothing
            z.sum()  # 1

    assert figures_of(work)["phases"]["env step"].launches == 3


def test_a_multi_tensor_operator_is_one_launch_for_all_its_tensors():
    grads = [torch.rand(5) for _ in range(6)]

    def work():
        with phase("optimizer"):
            torch._foreach_mul_(grads, 0.5)
            torch._foreach_norm(grads)

    assert figures_of(work)["phases"]["optimizer"].launches == 2


@pytest.mark.parametrize("core", [torch.nn.LSTM, torch.nn.GRU])
def test_a_recurrent_core_counts_as_cudnn_launches_it_on_every_device(core):
    """oneDNN runs the LSTM as one primitive on the CPU and the GRU as a loop of cell
    operators; both count 2 launches per time step and layer (+1 forward, +2 backward)."""
    torch.manual_seed(0)
    net, x, h = core(3, 8, num_layers=2), torch.rand(7, 4, 3), torch.zeros(2, 4, 8)
    state = (h, h) if core is torch.nn.LSTM else h

    def forward():
        with phase("rollout forward"), torch.no_grad():
            net(x, state)

    def forward_backward():
        with phase("update forward+backward"):
            out, _ = net(x, state)
            out.sum().backward()

    assert figures_of(forward)["phases"]["rollout forward"].launches == 2 * (2 * 7 + 1)
    update = figures_of(forward_backward)["phases"]["update forward+backward"].launches
    rnn = 2 * (2 * 7 + 1) + 2 * (2 * 7 + 2)
    assert rnn < update <= rnn + 12  # + the sum, its backward and the gradient accumulation


def test_host_syncs_are_python_reads_data_dependent_sizes_and_marked_copies():
    x = torch.arange(10)

    def work():
        with phase("episode reporting"):
            to_host(x)  # 1, marked
            x[3].item()  # 1
            bool(x[2] > 1)  # 1
            x[x > 4]  # 1: a boolean index finds its size with nonzero
        with phase("env step"):
            x.argmax()  # 0: stays on the device
            torch.nn.functional.one_hot(x, 10)  # 0: the CPU's range check is not a read

    found = figures_of(work)
    assert found["phases"]["episode reporting"].syncs == 4
    assert found["phases"]["env step"].syncs == 0
    assert found["total"].syncs == 4


def test_phase_marks_cost_nothing_outside_a_profile():
    with profile() as prof:
        with phase("env step"):
            torch.ones(2).add_(1)
    assert not [e for e in prof.events() if "lecture_rl::" in e.name]


TINY = {"hidden_size": 8, "num_envs": 16, "n_steps": 8, "num_minibatches": 2, "update_epochs": 2}


@pytest.mark.parametrize("net", ["lstm", "gru"])
def test_the_profile_of_ppo_on_torch_envs_shows_every_phase_and_one_sync_per_rollout(net):
    env = gym.make("LectureRL/Copy-v0", length=2, symbols=3)  # episodes cross rollouts
    agent = agents.make("ppo", env, seed=0, net=net, device="cpu", torch_envs=True, **TINY)
    report = profile_training(agent, env, steps=2 * 16 * 8)
    assert report.rollouts == 2 and report.env_steps == 2 * 16 * 8
    assert report.gradient_steps == 2 * 2 * 2  # rollouts x epochs x minibatches
    assert set(report.phases) == set(PHASES)
    for name in PHASES:
        assert report.phases[name].wall_s > 0, name
    # the one wait per rollout: the copy of the episode ends, nowhere else in the phases
    in_phases = {name: figures.syncs for name, figures in report.phases.items()}
    assert in_phases == {**dict.fromkeys(PHASES, 0), "episode reporting": 2}
    assert report.other.syncs <= 1  # the divergence check when training ends
    assert 20 < report.launches_per_step < 200
    per_update = report.launches_per_update
    assert per_update == pytest.approx(
        report.phases["advantages (GAE)"].launches / 2 + report.launches_per_gradient_step * 4
    )
    envs, steps = 4096, TINY["n_steps"]
    assert report.ceiling(envs) == pytest.approx(
        envs * steps / (report.launches_per_rollout * LAUNCH_SECONDS)
    )
    table = report.table()
    for row in ("env step", "update forward+backward", "optimizer", "host syncs (count, time)",
                "Python outside torch ops", "launch-bound ceiling at 4096 envs"):  # fmt: skip
        assert row in table


def test_one_large_minibatch_halves_the_updates_launches():
    """What the scale setting of benchmarks/torch_envs.py buys: launches per update follow
    the gradient steps."""
    env = gym.make("LectureRL/Parity-v0", length=4)
    found = {}
    for count in (1, 2):
        hp = {**TINY, "num_minibatches": count}
        agent = agents.make("ppo", env, seed=0, net="lstm", device="cpu", torch_envs=True, **hp)
        found[count] = profile_training(agent, env, steps=16 * 8).launches_per_update
    assert found[1] < 0.6 * found[2]


def test_the_benchmark_prints_the_profile_in_its_smoke():
    """With `--before TREE` it counts that checkout's code in a child process: given this
    checkout, the same launches per rollout as its own profile of PPO's defaults."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "torch_envs.py"), "--smoke", "--only-solve",
         "--nets", "gru", "--before", str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("| env step |") == 2  # PPO's defaults and AT_SCALE
    assert "launches:" in out and "per rollout step" in out and "per update" in out
    assert "launch-bound ceiling at 4096 envs" in out
    defaults = re.search(r"PPO's defaults on cpu.*?, ([\d,]+) per rollout in all", out, re.S)
    before = re.search(r"before \(.*\): ppo \+ gru, PPO's defaults, 16 envs: ([\d,]+) launches "
                       r"and ([\d.]+) host syncs per rollout", out)  # fmt: skip
    assert defaults and before, out
    assert before[1] == defaults[1]
    assert float(before[2]) == 2.0  # the rollout's copy, the end of `train`


def test_before_without_a_checkout_is_one_line_and_exit_2(tmp_path):
    script = str(ROOT / "benchmarks" / "torch_envs.py")
    argv = [sys.executable, script, "--profile", "--before", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"--before {tmp_path}: no agents/ppo.py there" in done.stderr.strip().splitlines()[-1]
