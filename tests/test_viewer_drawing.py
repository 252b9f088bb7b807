"""The grid painter: contrast rule, Q triangles, colour bar, empty cliff cells, Gymnasium grids."""

import gymnasium as gym
import numpy as np
import pygame
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl.envs import rendering
from lecture_rl.envs.grid_draw import GridPainter
from lecture_rl.envs.grid_layout import CLIFF_COLOR, KIND_COLORS, GridLayout
from lecture_rl.envs.grid_overlay import Overlay, ViewOptions


def pixel(surface, xy):
    return tuple(surface.get_at((int(xy[0]), int(xy[1])))[:3])


def cliff_layout():
    env = gym.make("LectureRL/GridWorld-v0", map_name="cliff")
    return GridLayout.from_env(env)


def test_contrast_ratio_matches_wcag_reference_values():
    assert rendering.contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert rendering.contrast_ratio((120, 120, 120), (120, 120, 120)) == pytest.approx(1.0)
    # WCAG's own example: #777777 on white is 4.48:1 (just fails AA)
    assert rendering.contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, 0.01)


def test_every_heat_map_colour_gets_text_of_at_least_4_5_to_1():
    painter = GridPainter(cliff_layout())
    for fill in painter._scale_table:  # every colour the heat map can paint
        ink = rendering.readable_on(fill)
        assert rendering.contrast_ratio(ink, fill) >= rendering.MIN_CONTRAST, fill
    for x in np.linspace(-1, 1, 1001):
        fill = rendering.diverging_color(x)
        assert rendering.contrast_ratio(rendering.readable_on(fill), fill) >= 4.5


def test_cell_labels_and_coordinates_meet_the_contrast_rule():
    for fill in KIND_COLORS.values():
        assert rendering.contrast_ratio(rendering.readable_on(fill), fill) >= 4.5
    assert rendering.contrast_ratio(rendering.LABEL, rendering.BACKGROUND) >= 4.5


def test_diverging_scale_is_centred_on_zero_and_scaled_to_the_data():
    assert rendering.diverging_color(0.0) == (255, 255, 255)
    neg, pos = rendering.diverging_color(-1.0), rendering.diverging_color(1.0)
    assert neg[0] > neg[1] and pos[1] > pos[0]  # magenta below 0, green above
    assert rendering.heat_color(-5, -5, 1) == neg  # the largest |value| saturates
    assert rendering.heat_color(1, -5, 1) != pos


def trained_q(layout, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-100, 10, size=(layout.nS, 4))


def test_nothing_but_the_label_is_drawn_in_cliff_cells():
    layout = cliff_layout()
    painter = GridPainter(layout)
    q = trained_q(layout)
    surface = painter.draw(
        Overlay(values=q.max(axis=1), q=q), agent=36, trail=[36, 24, 25, 26, 27, 15]
    )
    for s in range(layout.nS):
        if layout.kind(s) != "C":
            continue
        x, y, w, h = painter.rect_of(s)
        # the middle of the cell (labels sit in the corners) is the plain cliff colour
        block = pygame.surfarray.array3d(surface)[
            x + w // 4 : x + 3 * w // 4, y + h // 4 : y + 3 * h // 4
        ]
        assert (block == np.array(CLIFF_COLOR)).all(axis=-1).all(), layout.coords_of(s)


def test_q_triangles_follow_the_scale_and_the_toggle_removes_them():
    layout = cliff_layout()
    painter = GridPainter(layout)
    q = np.zeros((layout.nS, 4))
    s = layout.state_of(2, 5)
    q[s] = [-8.0, 4.0, 0.0, 0.0]  # up negative, right positive
    x, y, w, h = painter.rect_of(s)
    up_point = (x + w / 2, y + h * 0.3)  # inside the up triangle, off its number
    right_point = (x + w * 0.7, y + h / 2 + h * 0.12)
    surface = painter.draw(Overlay(values=q.max(axis=1), q=q))
    assert pixel(surface, up_point) == rendering.diverging_color(-1.0)
    assert pixel(surface, right_point) == painter._scale_table[int(np.rint((0.5 + 1) * 128))]
    bare = painter.draw(
        Overlay(values=q.max(axis=1), q=q), options=ViewOptions(q=False, values=False)
    )
    assert pixel(bare, up_point) == rendering.CELL
    assert pixel(bare, right_point) == rendering.CELL


def test_flash_outlines_the_updated_triangle():
    layout = cliff_layout()
    painter = GridPainter(layout)
    q = trained_q(layout)
    s = layout.state_of(3, 4)
    surface = painter.draw(Overlay(q=q), flash=(s, 1))  # right triangle of (3,4)
    x, y, w, h = painter.rect_of(s)
    right_edge = (x + w - 1, y + h * 0.3)  # on the cell's right edge, part of the triangle
    assert pixel(surface, right_edge) == rendering.HIGHLIGHT
    plain = painter.draw(Overlay(q=q))
    assert pixel(plain, right_edge) != rendering.HIGHLIGHT


@pytest.mark.parametrize("cell", [24, 36, 48, 63, 90, 128])
def test_numbers_and_arrows_never_overlap_at_any_cell_size(cell):
    layout = cliff_layout()
    painter = GridPainter(layout, cell)
    s = layout.state_of(2, 5)
    assert painter.q_numbers == (cell >= 56)  # too small for four numbers: V in the middle
    rects = []
    for d in layout.directions:
        image = painter.number("-88.8", painter.q_size, (255, 255, 255), painter.q_max_width)
        anchor, pos = painter.q_spot(s, d)
        rects.append(image.get_rect(**{anchor: (int(pos[0]), int(pos[1]))}))
    for i in range(4 if painter.q_numbers else 0):
        for j in range(i + 1, 4):
            assert not rects[i].colliderect(rects[j]), (cell, i, j)
        assert pygame.Rect(painter.rect_of(s)).contains(rects[i])
    # V view: the arrows' box stays above the V number
    (cx, cy), arm = painter.arrow_box(s)
    number = painter.number("-88.8", painter.v_size, (255, 255, 255), int(cell * 0.9))
    vx, vy = painter.v_spot(s)
    number_rect = number.get_rect(midbottom=(int(vx), int(vy)))
    arrow_rect = pygame.Rect(int(cx - arm), int(cy - arm), int(2 * arm), int(2 * arm))
    assert not arrow_rect.colliderect(number_rect)


@pytest.mark.parametrize(
    "env_id, kwargs, shape, holes",
    [
        ("FrozenLake-v1", {"map_name": "4x4"}, (4, 4), 4),
        ("FrozenLake-v1", {"map_name": "8x8", "is_slippery": True}, (8, 8), 10),
        ("CliffWalking-v1", {}, (4, 12), 10),
    ],
)
def test_gymnasium_grids_are_drawn_with_the_overlay(env_id, kwargs, shape, holes):
    env = gym.make(env_id, **kwargs)
    layout = GridLayout.from_env(env)
    assert (layout.nrow, layout.ncol) == shape
    blocked = [s for s in range(layout.nS) if not layout.occupiable(s)]
    assert len(blocked) == holes + 1  # holes or cliff cells, plus the goal
    painter = GridPainter(layout)
    q = trained_q(layout)
    surface = painter.draw(Overlay(values=q.max(axis=1), q=q), agent=0)
    assert surface.get_size() == (painter.width, painter.height)
    # an occupiable cell shows its Q triangles: four different fills
    s = next(s for s in range(layout.nS) if layout.occupiable(s) and layout.kind(s) == ".")
    x, y, w, h = painter.rect_of(s)
    spots = [
        (x + w / 2, y + h * 0.3),
        (x + w * 0.7, y + h * 0.62),
        (x + w / 2, y + h * 0.7),
        (x + w * 0.3, y + h * 0.38),
    ]
    colours = {pixel(surface, p) for p in spots}
    assert len(colours) >= 3
    env.close()


def test_frozen_lake_actions_point_the_right_way():
    env = gym.make("FrozenLake-v1", map_name="4x4")
    layout = GridLayout.from_env(env)
    painter = GridPainter(layout)
    q = np.zeros((16, 4))
    q[5 - 5 + 1, 2] = 5.0  # state (1,2), action 2 = right in FrozenLake
    surface = painter.draw(Overlay(q=q))
    x, y, w, h = painter.rect_of(1)
    assert pixel(surface, (x + w * 0.7, y + h * 0.6)) == rendering.diverging_color(1.0)
    env.close()


def test_other_envs_are_refused_with_a_clear_message():
    env = gym.make("LectureRL/Parity-v0")
    with pytest.raises(ValueError, match="their own picture"):
        GridLayout.from_env(env)
    env.close()


def test_env_frames_use_the_painter_and_keep_their_caption():
    env = gym.make("LectureRL/GridWorld-v0", map_name="maze", render_mode="rgb_array")
    env.reset(seed=0)
    env.unwrapped.set_overlay(values=np.linspace(-1, 1, env.unwrapped.nS))
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3
    env.close()


def test_the_trail_breaks_where_the_cliff_sends_the_agent_back():
    layout = cliff_layout()
    painter = GridPainter(layout)
    start = layout.state_of(4, 1)
    # along row 3, a fall from (3,6) back to the start, then up again
    trail = [
        start,
        layout.state_of(3, 1),
        *[layout.state_of(3, c) for c in range(2, 7)],
        start,
        layout.state_of(3, 1),
    ]
    surface = painter.draw(None, agent=start, trail=trail)
    pixels = pygame.surfarray.array3d(surface)
    for c in range(2, 12):
        x, y, w, h = painter.rect_of(layout.state_of(4, c))
        block = pixels[x + 2 : x + w - 2, y + h // 4 : y + h - 2]
        assert not (block == np.array(rendering.TRAIL)).all(axis=-1).any(), c
