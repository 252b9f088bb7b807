"""`play` one action per key press, and `watch` live from the command line."""

import io

import gymnasium as gym
import imageio.v3 as iio
import pygame
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl.runners import play as play_module
from lecture_rl.runners.cli import main
from lecture_rl.runners.viewer.keyboard import KeyboardPlay, action_for
from lecture_rl.runners.viewer.window import Window


class PressOnce(Window):
    """Posts `keys` (KEYDOWN then KEYUP each) once the window shows its first frame."""

    def __init__(self, keys, **kwargs):
        super().__init__("test", **kwargs)
        self.keys = keys

    def show(self, canvas):
        super().show(canvas)
        if self.frames == 1:
            for key, char in self.keys:
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char))
                pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, unicode=char))


def play(env, keys):
    key_map, help_text = play_module.key_map_for(env)
    player = KeyboardPlay(env, key_map, help_text, PressOnce(keys), seed=0)
    player.run()
    player.window.close()
    return player


def test_one_keydown_is_exactly_one_step_and_a_wall_is_reported():
    env = gym.make("LectureRL/GridWorld-v0", render_mode="rgb_array")
    # start (2,1): left hits the edge, down hits the wall (3,1), then right
    keys = [(pygame.K_LEFT, ""), (pygame.K_DOWN, ""), (pygame.K_RIGHT, ""), (pygame.K_ESCAPE, "")]
    seen = []
    original = KeyboardPlay.press

    def press(self, key, unicode=""):
        result = original(self, key, unicode)
        seen.append((self.steps, self.blocked))
        return result

    KeyboardPlay.press = press
    try:
        player = play(env, keys)
    finally:
        KeyboardPlay.press = original
    assert player.steps == 3
    assert seen[:3] == [(1, True), (2, True), (3, False)]
    env.close()


@pytest.mark.parametrize(
    "env_id, kwargs, keys",
    [
        ("LectureRL/Parity-v0", {"length": 4}, [("0", 48), ("1", 49), ("1", 49), ("0", 48)]),
        ("LectureRL/Copy-v0", {"length": 2, "symbols": 3}, [("2", 50)] * 5),
    ],
)
def test_parity_and_copy_are_played_with_digit_keys(env_id, kwargs, keys):
    env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    player = play(env, [(code, char) for char, code in keys] + [(pygame.K_ESCAPE, "")])
    assert player.steps == len(keys)
    env.close()


def test_keys_outside_the_map_do_nothing_but_say_so():
    env = gym.make("LectureRL/Parity-v0", render_mode="rgb_array", length=4)
    player = play(env, [(pygame.K_x, "x"), (pygame.K_ESCAPE, "")])
    assert player.steps == 0 and "not a key" in player.message
    keys, _ = play_module.key_map_for(env)
    assert action_for(keys, pygame.K_1, "1") == 1 and action_for(keys, pygame.K_x, "x") is None
    env.close()


def run(argv):
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


def test_watch_records_a_gif_headless_from_the_command_line(tmp_path):
    path = tmp_path / "cliff.gif"
    code, text = run(
        [
            "watch",
            "--env",
            "CliffWalking-v1",
            "--agent",
            "q_learning",
            "--train-episodes",
            "5",
            "--fps",
            "120",
            "--record",
            str(path),
            "--max-frames",
            "4",
        ]
    )
    assert code == 0, text
    assert iio.imread(path, index=None).shape[0] == 4
    assert "recorded 4 frames" in text


def test_watch_side_by_side_from_the_command_line():
    code, text = run(
        [
            "watch",
            "--env",
            "LectureRL/GridWorld-v0",
            "--agents",
            "sarsa,q_learning",
            "--train-episodes",
            "3",
            "--max-frames",
            "5",
            "--fps",
            "120",
        ]
    )
    assert code == 0, text
    assert "sarsa" in text and "q_learning" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--agents", "sarsa,q_learning,td0"], "at most two"),
        (["--agent", "sarsa", "--record", "x.png"], ".gif or .mp4"),
        (["--agent", "sarsa", "--zoom", "0"], "--zoom"),
    ],
)
def test_watch_misuse_is_one_line_and_exit_code_2(argv, message, capsys):
    code = main(["watch", "--env", "LectureRL/GridWorld-v0", *argv], out=io.StringIO())
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
