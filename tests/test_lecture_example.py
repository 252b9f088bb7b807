"""The notes' worked example (000 §7.f) through the real env and Q-learning agent."""

from __future__ import annotations

import io

import pytest

from lecture_rl.runners.lecture_example import (
    ALPHA,
    GAMMA,
    replay_lecture_episode,
    run_lecture_example,
)

UP, RIGHT, DOWN, LEFT = range(4)


@pytest.mark.parametrize("agent", ["q_learning", "sarsa"])
def test_only_q_32_right_changes_to_minus_five(agent):
    ex = replay_lecture_episode(agent)
    s21, s22, s32 = ex.state_of(2, 1), ex.state_of(2, 2), ex.state_of(3, 2)
    assert (ALPHA, GAMMA) == (0.5, 0.7)
    # exactly the three visited pairs are updated, in order
    assert [(u.s, u.a) for u in ex.updates] == [(s21, RIGHT), (s22, DOWN), (s32, RIGHT)]
    assert [u.new_value for u in ex.updates] == [0.0, 0.0, -5.0]
    assert ex.updates[-1].terminated and ex.updates[-1].target == -10.0
    assert ex.q_after[s32, RIGHT] == -5.0
    assert ex.changed_pairs == [(s32, RIGHT)]
    # the greedy policy changes at (3,2) from "↑ or →" to "↑", and nowhere else
    assert ex.greedy_before[s32] == [UP, RIGHT]
    assert ex.greedy_after[s32] == [UP]
    assert ex.changed_states == [s32]
    assert ex.arrows(s32, after=False) == "↑→" and ex.arrows(s32) == "↑"


def test_printout_shows_every_update_and_the_policy_change():
    out = io.StringIO()
    assert run_lecture_example(out=out) == 0
    text = out.getvalue()
    assert text.count("new value") == 3
    assert "Q((3,2),→) = 0 + 0.5·(-10) = -5" in text
    assert "r + γ·bootstrap = -10 + 0.7·0 = -10" in text
    assert "changed values: Q((3,2),→) 0 → -5" in text
    assert 'policy at (3,2): "↑ or →" → "↑"' in text
    assert "Greedy policy before" in text and "Greedy policy after" in text


def test_window_shows_every_update_headless():
    assert run_lecture_example(window=True, out=io.StringIO(), seconds_per_step=0, hold=0) == 0


def test_stepper_steps_back_and_forth_and_shows_the_changed_value():
    import gymnasium as gym
    import pygame

    from lecture_rl.envs import rendering
    from lecture_rl.envs.grid_layout import GridLayout
    from lecture_rl.runners.viewer import panel
    from lecture_rl.runners.viewer.stepper import Stepper
    from lecture_rl.runners.viewer.window import Window

    ex = replay_lecture_episode()
    env = gym.make("LectureRL/GridWorld-v0", map_name="lecture")
    stepper = Stepper(ex, GridLayout.from_env(env))
    env.close()
    keys = [pygame.K_RIGHT, pygame.K_RIGHT, pygame.K_LEFT, pygame.K_RIGHT, pygame.K_SPACE]
    seen = []

    class Scripted(Window):
        def show(self, canvas):
            super().show(canvas)
            seen.append(stepper.k)
            if self.frames == 1:
                for key in [*keys, pygame.K_RIGHT]:  # the last one, on the last frame, closes
                    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))

    window = Scripted("test")
    stepper.run(window, hold=True)
    window.close()
    assert seen == [0, 1, 2, 1, 2, 3]
    s32 = ex.state_of(3, 2)
    assert stepper.changed(3) == [(s32, RIGHT)] and stepper.changed(1) == []
    assert stepper.tables[3][s32, RIGHT] == -5
    # the changed triangle is outlined, the last frame says how to close
    stepper.k = 3
    canvas = stepper.render()
    x, y, w, h = stepper.painter.rect_of(s32)
    assert tuple(canvas.get_at((x + w - 1, y + h // 3)))[:3] == rendering.HIGHLIGHT
    lines = panel.update_lines(ex.updates[2], rule="q_learning")
    assert lines[2] == "target = r + γ·0   (s' is terminal)"
    assert lines[3].endswith("= -10") and lines[-1].endswith("= -5")
