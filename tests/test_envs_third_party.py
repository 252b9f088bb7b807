"""Third-party Gymnasium envs (POPGym, Minigrid) through the adapters, `train` and `compare`."""

from __future__ import annotations

import builtins
import json

import gymnasium as gym
import numpy as np
import pytest

from lecture_rl.envs.adapters import DiscreteActions, adapt, auto_wrappers
from lecture_rl.runners.cli import main
from lecture_rl.runners.env_factory import make_env

pytest.importorskip("popgym", reason="the 'benchmarks' extra is not installed")
pytest.importorskip("minigrid", reason="the 'benchmarks' extra is not installed")

POPGYM = [
    "popgym-RepeatPreviousEasy-v0",
    "popgym-CountRecallEasy-v0",
    "popgym-AutoencodeEasy-v0",
    "popgym-PositionOnlyCartPoleEasy-v0",
    "popgym-MineSweeperEasy-v0",
    "popgym-HigherLowerEasy-v0",
]
MINIGRID = ["MiniGrid-MemoryS7-v0", "MiniGrid-DoorKey-5x5-v0"]
#: a rollout of a few hundred steps: seconds per run
TINY_PPO = ["--set", "num_envs=4", "--set", "n_steps=8", "--set", "num_minibatches=2"]


@pytest.mark.parametrize(
    ("env_id", "wrappers", "obs_type", "n_actions"),
    [
        ("popgym-AutoencodeEasy-v0", ["flatten"], gym.spaces.Box, 4),
        ("popgym-MineSweeperEasy-v0", ["discrete-actions"], gym.spaces.Discrete, 16),
        ("popgym-RepeatPreviousEasy-v0", [], gym.spaces.Discrete, 4),
        ("MiniGrid-MemoryS7-v0", ["image"], gym.spaces.Box, 7),
    ],
)
def test_the_rule_picks_the_wrappers_our_nets_need(env_id, wrappers, obs_type, n_actions):
    raw = gym.make(env_id)
    assert auto_wrappers(raw) == wrappers
    env = make_env(env_id)
    assert isinstance(env.observation_space, obs_type)
    assert isinstance(env.action_space, gym.spaces.Discrete) and env.action_space.n == n_actions
    assert [w.name for w in env.spec.additional_wrappers] == [
        {"flatten": "FlattenObservation", "discrete-actions": "DiscreteActions"}.get(w, "ImageKey")
        for w in wrappers
    ]
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_discrete_actions_reach_every_cell_once():
    env = DiscreteActions(gym.make("popgym-MineSweeperEasy-v0"))
    cells = {tuple(env.action(a)) for a in range(env.action_space.n)}
    assert cells == {(r, c) for r in range(4) for c in range(4)}


def test_categorical_image_one_hots_minigrid_cells_for_flat_nets():
    env = make_env("MiniGrid-MemoryS7-v0", {"wrap": "categorical-image"})
    assert isinstance(env.observation_space, gym.spaces.MultiDiscrete)
    assert env.observation_space.nvec.tolist() == [11, 6, 3] * 49
    obs, _ = env.reset(seed=3)
    raw, _ = gym.make("MiniGrid-MemoryS7-v0").reset(seed=3)
    assert np.array_equal(obs, raw["image"].reshape(-1))


def test_wrap_none_leaves_our_envs_alone_and_adapt_is_a_no_op_for_them():
    env = make_env("LectureRL/Parity-v0")
    assert env.spec.additional_wrappers == ()
    assert adapt(env, "auto") is env


def test_the_deep_agents_train_copies_are_adapted_too():
    from lecture_rl.agents.vector_envs import make_train_envs

    envs = make_train_envs(make_env("popgym-MineSweeperEasy-v0"), 3)
    assert envs.single_action_space == gym.spaces.Discrete(16)
    envs.reset(seed=0)
    _, rewards, *_ = envs.step(np.array([0, 5, 15]))
    assert rewards.shape == (3,)


@pytest.mark.parametrize("env_id", POPGYM + MINIGRID)
def test_train_runs_every_third_party_env_and_evaluates_its_checkpoint(env_id, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--env", env_id, "--agent", "ppo", "--set", "net=gru", *TINY_PPO,
            "--steps", "64", "--eval-episodes", "2", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    meta = json.loads((out / "agent.json").read_text())
    assert meta["env_id"] == env_id
    assert main(["evaluate", "--checkpoint", str(out), "--episodes", "2"]) == 0


@pytest.mark.parametrize("env_id", POPGYM + MINIGRID)
def test_compare_runs_every_third_party_env(env_id, tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "--env", env_id, "--agents", "mlp=ppo(net=mlp),dqn", "--seeds", "1",
            *TINY_PPO[2:], "--steps", "64", "--eval-episodes", "2", "--workers", "1",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert not summary["failed"]
    trials = sorted(p.name for p in (out / "trials").glob("*.json"))
    assert len(trials) == 2


MISUSE = {
    "unknown popgym id": (["--env", "popgym-RepeatPrevEasy-v0"],
                          "did you mean 'popgym-RepeatPreviousEasy-v0'"),
    # ppo and reinforce act on Box actions (a Gaussian policy); dqn cannot
    "continuous actions": (["--env", "popgym-PositionOnlyPendulumEasy-v0", "--agent", "dqn"],
                           "needs a Discrete action space"),
    "unknown wrapper": (["--env", "popgym-AutoencodeEasy-v0", "--env-set", "wrap=onehot"],
                        "unknown wrapper 'onehot'"),
    "wrapper that does not fit": (["--env", "popgym-AutoencodeEasy-v0", "--env-set",
                                   "wrap=image"], "needs a Dict observation"),
    "unreadable observation": (["--env", "MiniGrid-MemoryS7-v0", "--env-set", "wrap=none"],
                               "our networks cannot read"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MISUSE))
def test_third_party_misuse_is_one_line_and_exit_2(case, capsys, tmp_path):
    argv, phrase = MISUSE[case]
    code = main(["train", "--agent", "ppo", *argv, "--steps", "8", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert phrase in err
    assert not (tmp_path / "r").exists()


def test_a_missing_package_names_the_extra_to_install(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_minigrid(name, *args, **kwargs):
        if name == "minigrid":
            raise ImportError("No module named 'minigrid'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_minigrid)
    code = main(["train", "--env", "MiniGrid-Empty-5x5-v0", "--agent", "ppo", "--steps", "8"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "pip install 'lecture-rl[benchmarks]'" in err


def test_inspect_and_watch_a_checkpoint_trained_on_an_adapted_env(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--env", "popgym-MineSweeperEasy-v0", "--agent", "ppo", "--set", "net=gru",
            *TINY_PPO, "--steps", "64", "--eval-episodes", "1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    figure = tmp_path / "insides.png"
    assert main(["inspect", "--checkpoint", str(out), "--out", str(figure)]) == 0
    assert figure.stat().st_size > 10_000
    # POPGym's envs take no render_mode: watch shows the agent's insides instead of failing
    assert main(["watch", "--checkpoint", str(out), "--max-frames", "2", "--fps", "1000"]) == 0
    assert "insides" in capsys.readouterr().out
    assert "popgym-MineSweeperEasy-v0" in json.loads((out / "agent.json").read_text())["env_id"]


@pytest.mark.parametrize("preset", ["none", "auto"])
def test_evaluate_rebuilds_the_wrappers_train_used(preset, tmp_path, capsys):
    """A checkpoint trained on an adapted env (`--env-set wrap=...`, or a preset's `env_set`:
    DoorKey-5x5's one-hot view) evaluates without repeating the flag: the recorded command's
    keywords rebuild the same observation space."""
    out = tmp_path / "run"
    wrap = ["--env-set", "wrap=categorical-image"] if preset == "none" else []
    argv = ["train", "--env", "MiniGrid-DoorKey-5x5-v0", "--agent", "ppo", "--preset", preset,
            *wrap, *TINY_PPO, "--steps", "64", "--eval-episodes", "0",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    meta = json.loads((out / "agent.json").read_text())
    assert meta["observation_space"]["type"] == "MultiDiscrete"  # the one-hot view, not pixels
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--episodes", "2"]) == 0
    assert "greedy return" in capsys.readouterr().out
