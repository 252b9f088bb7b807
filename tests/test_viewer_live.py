"""The live viewer driven headless by key events: pause, step, speed, toggles, greedy, quit."""

import gymnasium as gym
import numpy as np
import pygame
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.envs import rendering
from lecture_rl.envs.grid_layout import CLIFF_COLOR
from lecture_rl.runners.viewer import panel
from lecture_rl.runners.viewer.controls import SPEEDS, Controls
from lecture_rl.runners.viewer.live import LiveViewer, make_lane_factory
from lecture_rl.runners.viewer.recorder import Recorder
from lecture_rl.runners.viewer.window import Window

CLIFF = {"map_name": "cliff"}
TURBO = len(SPEEDS) - 1


class ScriptedWindow(Window):
    """Posts the scripted key events right after frame `n` is shown, and notes each frame."""

    def __init__(self, script, on_frame=None, **kwargs):
        super().__init__("test", **kwargs)
        self.script = script
        self.on_frame = on_frame

    def show(self, canvas):
        super().show(canvas)
        if self.on_frame is not None:
            self.on_frame(self.frames, canvas)
        for key in self.script.get(self.frames, ()):
            if isinstance(key, pygame.event.Event):
                pygame.event.post(key)
            else:
                char = chr(key) if key < 0x110000 and chr(key).isprintable() else ""
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char))


def viewer_for(
    names,
    script,
    *,
    episodes=50,
    controls=None,
    on_frame=None,
    env_kwargs=CLIFF,
    env_id="LectureRL/GridWorld-v0",
    recorder=None,
    max_frames=None,
    greedy=0,
    step_cap=200,
):
    built = []

    def build(name):
        env = gym.make(env_id, **env_kwargs)
        agent = agents.make(name, env, seed=3, alpha=0.5, gamma=0.9, epsilon=0.1)
        built.append(agent)
        return agent, env, gym.make(env_id, **env_kwargs)

    window = ScriptedWindow(script, on_frame, recorder=recorder, max_frames=max_frames)
    viewer = LiveViewer(
        make_lane_factory(names, build, {"episodes": episodes}),
        env_label="test",
        window=window,
        controls=controls or Controls(paused=True),
        greedy_episodes=greedy,
        hold=False,
        step_cap=step_cap,
    )
    return viewer, built


def test_paused_viewer_steps_once_per_key_and_quits_on_escape():
    viewer, _ = viewer_for(
        ["q_learning"], {1: [pygame.K_RIGHT], 2: [pygame.K_PERIOD], 3: [pygame.K_ESCAPE]}
    )
    viewer.run()
    lane = viewer.lanes[0]
    assert lane.env_steps == 3  # the first step, then one per key press
    assert viewer.window.frames == 3
    assert viewer.controls.paused and viewer.controls.quit
    assert len(lane.returns) < 50  # quitting stopped training


def test_space_resumes_q_quits_and_speed_keys_change_the_speed():
    controls = Controls(paused=True, speed=3)
    script = {1: [ord("+"), ord("+"), ord("-")], 2: [pygame.K_SPACE], 5: [pygame.K_q]}
    viewer, _ = viewer_for(["q_learning"], script, controls=controls)
    viewer.run()
    assert controls.speed == 4 and not controls.paused and controls.quit
    assert viewer.lanes[0].env_steps >= 3


def test_panel_numbers_equal_the_agents_update_and_the_updated_cell_flashes():
    records = []
    seen = {}

    def on_frame(n, canvas):
        if n == 2:
            lane = viewer.lanes[0]
            seen["update"] = lane.state.update
            seen["lines"] = (
                viewer.hud_lines(lane),
                panel.update_lines(
                    lane.state.update, viewer.view.cell_name(lane.layout), rule="q_learning"
                ),
            )
            seen["q"] = lane.agent.q.copy()
            seen["canvas"] = pygame.surfarray.array3d(canvas).copy()

    viewer, built = viewer_for(
        ["q_learning"], {1: [pygame.K_RIGHT], 2: [pygame.K_ESCAPE]}, on_frame=on_frame
    )
    built[0].add_update_hook(records.append)
    viewer.run()
    update = seen["update"]
    assert update == records[1]  # the second update, shown on the second frame
    assert seen["q"][update.s, update.a] == update.new_value  # drawn after learning
    _, lines = seen["lines"]
    text = "\n".join(lines)
    assert f"= {panel.num(update.target)}" in text
    assert f"= {panel.num(update.td_error)}" in text
    assert text.endswith(f"= {panel.num(update.new_value)}")
    assert "max_a' Q(s',a')" in text
    # the updated triangle is outlined in the highlight colour
    painter = viewer.painters[0]
    x, y, w, h = painter.rect_of(update.s)
    d = painter.layout.directions[update.a]
    edge = [
        (x + w // 2, y + 1),
        (x + w - 1, y + h // 2),
        (x + w // 2, y + h - 1),
        (x + 1, y + h // 2),
    ][d]
    assert tuple(seen["canvas"][edge]) == rendering.HIGHLIGHT


def test_toggles_remove_the_q_triangles_and_cliff_cells_stay_empty():
    frames = {}

    def on_frame(n, canvas):
        frames[n] = pygame.surfarray.array3d(canvas).copy()

    script = {3: [pygame.K_n, pygame.K_v], 4: [pygame.K_ESCAPE]}
    controls = Controls(speed=TURBO)
    viewer, _ = viewer_for(
        ["q_learning"], script, controls=controls, on_frame=on_frame, episodes=400
    )
    viewer.run()
    assert not controls.options.q and not controls.options.values
    painter = viewer.painters[0]
    layout = painter.layout
    s = layout.state_of(3, 3)
    x, y, w, h = painter.rect_of(s)
    spot = (x + w // 2, y + int(h * 0.7))  # the down triangle: towards the cliff
    assert tuple(frames[3][spot]) != rendering.CELL  # Q triangle (learned by now)
    assert tuple(frames[4][spot]) == rendering.CELL  # toggled off: plain floor
    for n in (3, 4):
        for c in range(2, 12):
            x, y, w, h = painter.rect_of(layout.state_of(4, c))
            block = frames[n][x + w // 4 : x + 3 * w // 4, y + h // 4 : y + 3 * h // 4]
            assert (block == np.array(CLIFF_COLOR)).all()


def test_greedy_key_plays_a_greedy_episode_and_training_goes_on():
    modes = []

    def on_frame(n, canvas):
        modes.append(viewer.lanes[0].state.mode)

    controls = Controls(speed=SPEEDS.index(120.0))
    viewer, _ = viewer_for(
        ["q_learning"],
        {2: [pygame.K_g]},
        controls=controls,
        on_frame=on_frame,
        episodes=100,
        max_frames=40,
        step_cap=8,
    )
    viewer.run()
    assert viewer.greedy_runs == 1
    first_greedy = modes.index("greedy")
    assert first_greedy <= 3
    assert "learning" in modes[first_greedy:]  # back to learning after the key's run
    assert viewer.lanes[0].env_steps >= 3


def test_greedy_episodes_follow_training():
    controls = Controls(speed=TURBO)
    viewer, _ = viewer_for(["q_learning"], {}, controls=controls, episodes=30, greedy=2)
    viewer.run()
    assert viewer.greedy_runs == 2 and len(viewer.lanes[0].returns) == 30
    assert viewer.lanes[0].state.mode == "greedy"


def test_restart_key_starts_learning_again_and_resize_rescales_cells():
    controls = Controls(paused=True)
    script = {
        1: [pygame.K_RIGHT],
        2: [pygame.K_r],
        3: [pygame.event.Event(pygame.VIDEORESIZE, size=(2000, 1000), w=2000, h=1000)],
        4: [pygame.K_ESCAPE],
    }
    viewer, built = viewer_for(["q_learning"], script, controls=controls)
    px_before = viewer.painters[0].px
    viewer.run()
    assert viewer.restarts == 1 and len(built) == 2
    assert viewer.painters[0].px > px_before


def test_side_by_side_learns_both_agents_on_the_same_seeds():
    firsts = {}

    def on_frame(n, canvas):
        if n == 1:
            firsts["pos"] = [lane.state.trail[:] for lane in viewer.lanes]

    controls = Controls(speed=TURBO)
    viewer, built = viewer_for(
        ["sarsa", "q_learning"], {}, controls=controls, on_frame=on_frame, episodes=30
    )
    single_height = viewer_for(["sarsa"], {})[0].canvas.get_height()
    viewer.run()
    assert [len(lane.returns) for lane in viewer.lanes] == [30, 30]
    assert firsts["pos"][0] == firsts["pos"][1]  # same seed: the same first step
    assert viewer.canvas.get_height() > 1.5 * single_height - 100
    assert [lane.name for lane in viewer.lanes] == ["sarsa", "q_learning"]


@pytest.mark.parametrize(
    "env_id, kwargs", [("FrozenLake-v1", {"map_name": "4x4"}), ("CliffWalking-v1", {})]
)
def test_gymnasium_grids_learn_live(env_id, kwargs):
    controls = Controls(speed=TURBO)
    viewer, _ = viewer_for(
        ["q_learning"], {}, controls=controls, env_id=env_id, env_kwargs=kwargs, episodes=20
    )
    viewer.run()
    assert len(viewer.lanes[0].returns) == 20
    assert viewer.window.frames >= 1


def recorded(path, max_frames):
    """A fast Q-learning lesson recorded to `path`: the viewer and the file's frames."""
    import imageio.v3 as iio

    controls = Controls(speed=SPEEDS.index(120.0))
    recorder = Recorder(path, fps=10)
    viewer, _ = viewer_for(
        ["q_learning"], {}, controls=controls, recorder=recorder, max_frames=max_frames
    )
    viewer.run()
    return viewer, iio.imread(path, index=None)


def test_recorded_gif_has_one_frame_per_frame_shown_and_they_change(tmp_path):
    viewer, frames = recorded(tmp_path / "lesson.gif", max_frames=6)
    assert frames.shape[0] == 6 == viewer.window.frames
    assert frames.shape[1:3] == viewer.canvas.get_size()[::-1]
    for a, b in zip(frames, frames[1:]):
        assert not np.array_equal(a, b)  # the agent moved, a value changed


def test_recorded_mp4_holds_the_frames_shown(tmp_path):
    viewer, frames = recorded(tmp_path / "lesson.mp4", max_frames=5)
    width, height = viewer.canvas.get_size()
    assert frames.shape[0] == 5
    assert frames.shape[1] >= height and frames.shape[2] >= width  # padded to 16, not scaled


def test_zoom_scales_the_window_and_the_canvas_is_what_is_recorded(tmp_path):
    import imageio.v3 as iio

    path = tmp_path / "zoom.gif"
    controls = Controls(speed=TURBO)
    viewer, _ = viewer_for(
        ["q_learning"], {}, controls=controls, recorder=Recorder(path), max_frames=2
    )
    viewer.window.zoom = 1.5
    viewer.run()
    width, height = viewer.canvas.get_size()
    assert viewer.window.size == (int(width * 1.5), int(height * 1.5))
    assert iio.imread(path, index=None).shape[1:3] == (height, width)


@pytest.mark.parametrize(
    "name, hp",
    [("dqn", {}), ("ppo", {"num_envs": 4, "n_steps": 8}), ("reinforce", {"num_envs": 2})],
)
def test_deep_agents_learn_live_and_max_frames_stops_their_training(name, hp):
    """dqn/ppo/reinforce are drawn while they learn (not trained in the dark, then replayed),
    placed by the env's state even when they see pixels, and stop with the window."""
    modes, cells = [], []

    def build(_name):
        env = gym.make("LectureRL/GridWorld-v0", obs_mode="image")
        agent = agents.make(name, env, seed=0, device="cpu", **hp)
        return agent, env, gym.make("LectureRL/GridWorld-v0", obs_mode="image")

    huds = []

    def on_frame(frame, canvas):
        modes.append(viewer.lanes[0].state.mode)
        cells.append(viewer.lanes[0].state.pos)
        huds.append(viewer.hud_lines(viewer.lanes[0]))

    window = ScriptedWindow({}, on_frame, max_frames=25)
    viewer = LiveViewer(
        make_lane_factory([name], build, {"steps": 200_000}),
        env_label="test", window=window, controls=Controls(speed=3), greedy_episodes=0,
        hold=False, step_cap=50,
    )  # fmt: skip
    viewer.run()
    assert viewer.lanes[0].agent.env_steps < 50_000  # stopped with the window, not the budget
    assert window.frames == 25 and modes.count("learning") >= 20
    assert set(cells) <= set(range(9)) and len(set(cells)) >= 2  # it moves on the 3x3 grid
    # the episode count is over all training envs; the pane draws env 0's episode
    envs = viewer.lanes[0].agent.hp["num_envs"]
    learning = [hud for hud, mode in zip(huds, modes) if mode == "learning"]
    assert all(
        f"all {envs} envs" in hud[2] and hud[3].startswith("env 0 (drawn)") for hud in learning
    )


def test_tabular_hud_counts_its_single_envs_episodes_on_one_line():
    seen = {}

    def on_frame(n, canvas):
        seen.setdefault("hud", viewer.hud_lines(viewer.lanes[0]))

    viewer, _ = viewer_for(["q_learning"], {1: [pygame.K_ESCAPE]}, on_frame=on_frame)
    viewer.run()
    assert seen["hud"][2].startswith("episode 1/50   step ")


@pytest.mark.parametrize("returns", [[-10, 10] * 300, list(np.linspace(-123.5, 9.25, 40)), [5, 5]])
def test_returns_plot_keeps_its_min_and_max_labels_clear_of_the_line(returns):
    surface = pygame.Surface((404, 110))
    surface.fill((255, 255, 255))
    panel.draw_returns(surface, (0, 0, 404, 110), returns)
    pixels = pygame.surfarray.array3d(surface)  # [x, y, rgb]
    line = np.all(pixels == np.array(rendering.AGENT[:3]), axis=-1)
    label_w = max(panel.text_font(12).size(panel.num(v))[0] for v in (min(returns), max(returns)))
    columns = np.flatnonzero(line.any(axis=1))
    assert columns.size and columns.max() < 404 - 4 - label_w  # the line stops before the labels
    assert columns.min() <= 6  # ... and starts at the left edge


@pytest.mark.parametrize(
    "returns, words",
    [
        ([-500.0] * 6, ["return per episode (6 episodes)", "-500"]),  # not -499 and -501
        ([-13.0], ["return per episode (1 episode)", "episode 1: -13"]),
        ([2.0, -3.5], ["return per episode (2 episodes)", "2", "-3.5"]),
    ],
)
def test_returns_plot_labels_name_returns_that_happened(returns, words, monkeypatch):
    written = []
    real = panel.draw_text
    monkeypatch.setattr(panel, "draw_text", lambda s, text, *a, **k: written.append(text)
                        or real(s, text, *a, **k))  # fmt: skip
    panel.draw_returns(pygame.Surface((404, 110)), (0, 0, 404, 110), returns)
    assert written == words
