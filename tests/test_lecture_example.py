"""The notes' worked example (000 §7.f) through the real env and Q-learning agent."""

from __future__ import annotations

import io

import numpy as np
import pytest

from lecture_rl.envs.grid_world import GridWorldEnv
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


def test_window_shows_before_and_after_on_the_grid(monkeypatch):
    overlays = []
    original = GridWorldEnv.set_overlay

    def record(self, values=None, q=None, policy=None):
        overlays.append((None if values is None else np.array(values), np.array(q)))
        original(self, values=values, q=q, policy=policy)

    monkeypatch.setattr(GridWorldEnv, "set_overlay", record)
    assert run_lecture_example(window=True, out=io.StringIO(), seconds_per_step=0, hold=0) == 0
    ex = replay_lecture_episode()
    s32 = ex.state_of(3, 2)
    assert len(overlays) == 5  # before, after each of the three steps, after
    assert np.array_equal(overlays[0][1], ex.q_before)
    assert np.array_equal(overlays[-1][1], ex.q_after) and overlays[-1][1][s32, RIGHT] == -5
    assert overlays[-1][0][s32] == 0.0  # V(3,2) = max(up 0, right −5)
