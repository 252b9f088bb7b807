"""Every `lecture-rl` subcommand end to end on tiny settings (headless pygame)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pygame
import pytest

from lecture_rl import agents
from lecture_rl.runners import play as play_module
from lecture_rl.runners.cli import main
from lecture_rl.runners.processes import lecture_rl_command

GRID = ["--env", "LectureRL/GridWorld-v0"]


def run(argv):
    """`main(argv)` with stdout captured; returns (exit code, output)."""
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def grid_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train") / "q"
    code, text = run(
        [
            "train",
            *GRID,
            "--agent",
            "q_learning",
            "--episodes",
            "200",
            "--set",
            "alpha=0.5",
            "--eval-episodes",
            "5",
            "--out",
            str(folder),
        ]
    )
    assert code == 0, text
    return folder, text


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert "lecture-rl" in capsys.readouterr().out
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "lecture-rl compare --env CliffWalking-v1" in text  # examples in the epilog
    for command in ("train", "evaluate", "compare", "watch", "play", "lecture-example"):
        assert command in text
    assert main(["compare", "--help"]) == 0
    assert "--set AGENT.NAME=VALUE" in capsys.readouterr().out


def test_envs_lists_our_ids():
    code, text = run(["envs"])
    assert code == 0
    for env_id in ("LectureRL/GridWorld-v0", "LectureRL/Parity-v0", "LectureRL/Copy-v0"):
        assert env_id in text
    assert "Any registered Gymnasium id works" in text
    assert "map_name" in text and "obs_mode" in text  # the --env-set keywords


def test_agents_lists_names_and_marks_broken_ones_unavailable(monkeypatch):
    monkeypatch.setitem(agents._REGISTRY, "zz_broken", "no_such_module_here:Agent")
    code, text = run(["agents"])
    assert code == 0
    assert "q_learning" in text and "Q-learning" in text
    assert "zz_broken" in text and "unavailable" in text
    code, text = run(["agents", "q_learning"])
    assert code == 0 and "alpha" in text and "gamma" in text
    assert "with net=" not in text  # no per-backbone defaults
    code, text = run(["agents", "dqn"])  # the recurrent nets' own defaults are named
    assert "with net=rnn/lstm/gru, these defaults instead: num_envs=4, batch_size=64" in text


def test_train_writes_checkpoint_log_and_summary(grid_checkpoint):
    folder, text = grid_checkpoint
    meta = json.loads((folder / "agent.json").read_text())
    assert meta["agent"] == "q_learning" and meta["interrupted"] is False
    assert meta["hyperparameters"]["alpha"] == 0.5
    assert meta["training"]["episodes"] == 200
    with open(folder / "train_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 200 and list(rows[0])[:4] == ["episode", "return", "length", "env_steps"]
    assert "greedy return" in text and "10.000" in text


def test_train_default_out_dir_and_default_budget(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _ = run(
        [
            "train",
            "--env",
            "FrozenLake-v1",
            "--agent",
            "random",
            "--seed",
            "3",
            "--eval-episodes",
            "2",
        ]
    )
    assert code == 0
    folder = tmp_path / "runs" / "FrozenLake-v1-random-3"
    budget = agents.agent_class("random").default_budget
    meta = json.loads((folder / "agent.json").read_text())
    assert meta["training"]["budget"] == budget


def test_evaluate_json_on_the_recorded_env(grid_checkpoint, capsys):
    folder, _ = grid_checkpoint
    assert main(["evaluate", "--checkpoint", str(folder), "--episodes", "7", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["episodes"] == 7 and result["env"] == "LectureRL/GridWorld-v0"
    assert result["return_mean"] == pytest.approx(10.0) and result["return_std"] == 0.0
    code, text = run(["evaluate", "--checkpoint", str(folder)])
    assert code == 0 and "greedy return" in text


def test_evaluate_a_parity_checkpoint_on_a_longer_parity(tmp_path, capsys):
    folder = tmp_path / "parity"
    code, _ = run(
        [
            "train",
            "--env",
            "LectureRL/Parity-v0",
            "--env-set",
            "length=4",
            "--agent",
            "q_learning",
            "--episodes",
            "50",
            "--eval-episodes",
            "2",
            "--out",
            str(folder),
        ]
    )
    assert code == 0
    argv = ["evaluate", "--checkpoint", str(folder), "--env-set", "length=12", "--json"]
    assert main([*argv, "--episodes", "10"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["env_kwargs"] == {"length": 12}
    assert result["length_mean"] == 12.0
    # accuracy = return / answers: 10 episodes of 12 graded answers each
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["accuracy"] == pytest.approx(result["return_mean"] / 12)


def test_watch_trains_then_shows_the_grid_with_the_overlay(monkeypatch):
    from lecture_rl.envs.grid_world import GridWorldEnv

    overlays = []
    original = GridWorldEnv.set_overlay

    def spy(self, values=None, q=None, policy=None):
        overlays.append((values, q))
        original(self, values=values, q=q, policy=policy)

    monkeypatch.setattr(GridWorldEnv, "set_overlay", spy)
    code, text = run(
        [
            "watch",
            *GRID,
            "--agent",
            "q_learning",
            "--train-episodes",
            "100",
            "--set",
            "alpha=0.5",
            "--fps",
            "500",
            "--max-frames",
            "3",
            "--no-live",
        ]
    )
    assert code == 0
    assert "stopped after 2 steps" in text
    ((values, q),) = overlays
    assert q.shape == (9, 4) and np.allclose(values, q.max(axis=1))
    assert pygame.display.get_init() is False or pygame.display.get_surface() is None


def test_watch_a_checkpoint_plays_whole_episodes(grid_checkpoint):
    folder, _ = grid_checkpoint
    code, text = run(["watch", "--checkpoint", str(folder), "--fps", "500", "--episodes", "2"])
    assert code == 0
    assert text.count("return 10 in 3 steps") == 2  # the shortest path on the lecture grid


def test_play_from_the_keyboard_reaches_the_goal(monkeypatch):
    """Key presses right, up, right from the start (2,1) reach the goal (1,3): one step each."""
    from lecture_rl.runners.viewer.window import Window

    presses = [pygame.K_RIGHT, pygame.K_UP, pygame.K_RIGHT, pygame.K_ESCAPE]
    original = Window.show

    def show(self, canvas):
        original(self, canvas)
        if self.frames == 1:  # the window is open: press the keys (down and up) once each
            for key in presses:
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=""))
                pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, unicode=""))

    monkeypatch.setattr(Window, "show", show)
    code, text = run(["play", *GRID, "--max-frames", "50"])
    assert code == 0
    assert "episode 1: return 10 in 3 steps" in text


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("LectureRL/GridWorld-v0", {}),
        ("LectureRL/Parity-v0", {}),
        ("LectureRL/Copy-v0", {"symbols": 4}),
        ("FrozenLake-v1", {}),
        ("CliffWalking-v1", {}),
        ("Taxi-v4", {}),
    ],
)
def test_play_key_maps_cover_every_action(env_id, kwargs):
    import gymnasium as gym

    import lecture_rl.envs  # noqa: F401

    env = gym.make(env_id, **kwargs)
    keys, _ = play_module.key_map_for(env)
    assert sorted(set(keys.values())) == list(range(env.action_space.n))
    env.close()


def test_arrow_key_codes_match_pygame():
    codes = (play_module.K_UP, play_module.K_RIGHT, play_module.K_DOWN, play_module.K_LEFT)
    assert codes == (pygame.K_UP, pygame.K_RIGHT, pygame.K_DOWN, pygame.K_LEFT)


def test_lecture_example_command():
    code, text = run(["lecture-example"])
    assert code == 0
    assert "-5" in text


def test_vanishing_gradient_command(tmp_path):
    path = tmp_path / "vg.png"
    code, text = run(["vanishing-gradient", "--length", "30", "--hidden", "8", "--out", str(path)])
    assert code == 0
    lines = text.splitlines()
    for cell in ("rnn", "gru", "lstm"):
        assert any(line.lower().startswith(cell) for line in lines), text
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"


def test_console_script_runs_a_real_training(tmp_path):
    command = lecture_rl_command()
    done = subprocess.run(
        [
            *command,
            "train",
            "--env",
            "CliffWalking-v1",
            "--agent",
            "sarsa",
            "--episodes",
            "20",
            "--eval-episodes",
            "1",
            "--out",
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "greedy return" in done.stdout
    assert (tmp_path / "s" / "agent.json").is_file()


def test_the_script_exits_with_mains_code_after_freezing_the_collector(monkeypatch):
    """`lecture-rl` skips the interpreter's garbage walk at exit, and only that."""
    import gc

    from lecture_rl.runners import cli

    calls = []
    monkeypatch.setattr(cli, "main", lambda: calls.append("main") or 3)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    import signal

    before = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as stop:
            cli.script()
        with pytest.raises(KeyboardInterrupt):  # SIGTERM is handled like Ctrl-C
            signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert stop.value.code == 3 and calls == ["main", "freeze"]


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (["agents"], 0, "q_learning"),
        (["train", "--env", "CliffWalking-v1", "--agent", "nobody"], 2, "unknown agent"),
    ],
)
def test_the_installed_command_keeps_its_exit_code_and_its_whole_output(argv, code, expected):
    command = [sys.executable, "-c", "from lecture_rl.runners.cli import script; script()"]
    done = subprocess.run([*command, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stderr
    assert expected in (done.stdout if code == 0 else done.stderr)
    if code == 0:  # the listing ends with every agent: nothing lost in a buffer at exit
        assert "value_iteration" in done.stdout


def test_train_with_zero_eval_episodes_skips_the_greedy_evaluation(tmp_path):
    code, text = run(["train", *GRID, "--agent", "q_learning", "--episodes", "5",
                      "--eval-episodes", "0", "--out", str(tmp_path / "q")])  # fmt: skip
    assert code == 0 and "greedy return" not in text and "nan" not in text
    assert "episodes trained" in text
