"""One coordinate convention wherever a person reads a cell: the notes' 1-indexed (row, col),
row 1 on top (notes 000 §7.f; docs/coordinates.md)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import lecture_rl.envs  # noqa: F401
from lecture_rl.agents.events import TableUpdate
from lecture_rl.envs.grid_images import grid_text
from lecture_rl.envs.grid_layout import GridLayout
from lecture_rl.runners.experiments.cliff import draw_paths
from lecture_rl.runners.experiments.report import figure
from lecture_rl.runners.lecture_example import _pair, replay_lecture_episode
from lecture_rl.runners.viewer import panel

# CliffWalking: start (4,1) = state 36, up to (3,1), along row 3, down into the goal (4,12)
EDGE_PATH = [36, 24, *range(25, 36), 47]


def test_the_cliff_path_plot_reads_in_the_notes_row_col():
    fig, axes = figure(5.0, 2.5)
    ax = axes if not isinstance(axes, np.ndarray) else axes.flat[0]
    draw_paths(ax, {"q_learning": EDGE_PATH})
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(c) for c in range(1, 13)]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2", "3", "4"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("col", "row")
    cols, rows = ax.lines[0].get_data()
    assert (cols[0], round(rows[0])) == (1, 4)  # S at (4,1)
    assert (cols[-1], round(rows[-1])) == (12, 4)  # G at (4,12)
    assert [round(r) for r in rows[1:-1]] == [3] * 12  # along row 3, the cliff edge
    marks = {t.get_text(): t.get_position() for t in ax.texts}
    (s_col, s_row), (g_col, g_row) = marks["S"], marks["G"]  # inside cells (4,1) and (4,12)
    assert (round(s_col), s_row, round(g_col), g_row) == (1, 4, 12, 4)


def test_viewer_panel_lecture_example_and_text_name_a_cell_alike():
    env = gym.make("LectureRL/GridWorld-v0")  # the lecture map: S at (2,1)
    u = env.unwrapped
    s = u.state_of(2, 1)
    layout = GridLayout.from_env(env)
    assert layout.coords_of(s) == u.coords_of(s) == (2, 1)
    update = TableUpdate(s=s, a=1, r=0.0, s_next=s + 1, a_next=None, terminated=False,
                         target=0.0, td_error=0.0, old_value=0.0, new_value=0.0, alpha=0.5,
                         gamma=0.7, episode=0, step=0)  # fmt: skip
    lines = panel.update_lines(update, lambda x: "({},{})".format(*layout.coords_of(x)))
    assert any("(2,1)" in (line if isinstance(line, str) else line[0]) for line in lines)
    assert _pair(replay_lecture_episode(), s, 1) == "Q((2,1),→)"
    text = grid_text(u.dynamics, s).splitlines()
    assert text[0].split()[:3] == ["col", "1", "2"]
    assert text[2].startswith("row  2") and "@" in text[2]
    cliff = gym.make("CliffWalking-v1")
    assert GridLayout.from_env(cliff).coords_of(36) == (4, 1)  # Gymnasium's grids too
