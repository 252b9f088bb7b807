"""`watch` on any env: the env's own picture beside what the agent thinks, live and recorded."""

from __future__ import annotations

import io
import re

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pygame
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents.vector_envs import make_train_envs
from lecture_rl.envs import rendering
from lecture_rl.runners.cli import main
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.viewer import panel, session
from lecture_rl.runners.viewer.controls import SPEEDS, Controls
from lecture_rl.runners.viewer.env_canvas import LEGEND_HEIGHT, PICTURE, EnvCanvas
from lecture_rl.runners.viewer.grid_canvas import draw_legend
from lecture_rl.runners.viewer.lane import Lane, LaneState
from lecture_rl.runners.viewer.live import LiveViewer, make_lane_factory
from lecture_rl.runners.viewer.picture import DrawnEnv, Picture, draw_picture, picture_of
from lecture_rl.runners.viewer.window import Window

TURBO = len(SPEEDS) - 1
SCREEN_WIDTH = 1920


# ----- which view ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, view",
    [
        (["--env", "LectureRL/Parity-v0", "--agent", "ppo"], "insides"),  # a tape task
        (["--env", "LectureRL/Copy-v0", "--agent", "dqn"], "insides"),
        (["--env", "CartPole-v1", "--agent", "ppo"], "picture"),
        (["--env", "Acrobot-v1", "--agent", "dqn"], "picture"),
        (["--env", "LectureRL/Parity-v0", "--agent", "q_learning"], "picture"),
        (["--env", "LectureRL/Parity-v0", "--agents", "ppo,dqn"], "picture"),
        (["--env", "Taxi-v4", "--agent", "q_learning"], "picture"),
        (["--env", "CliffWalking-v1", "--agent", "q_learning"], "grid"),
        (["--env", "LectureRL/GridWorld-v0", "--agent", "ppo"], "grid"),
        (
            ["--env", "LectureRL/GridWorld-v0", "--env-set", "obs_mode=image", "--agent", "dqn"],
            "insides",
        ),  # fmt: skip
    ],
)
def test_the_tape_view_is_chosen_only_for_tape_tasks(monkeypatch, argv, view):
    from lecture_rl.runners.viewer import insides_panel

    chosen = []

    def insides(*args, **kwargs):
        chosen.append("insides")
        return 0

    def live(args, console, grid, **window):  # window: the notebook's make_window seam
        chosen.append("grid" if grid else "picture")
        return 0

    monkeypatch.setattr(insides_panel, "watch_insides", insides)
    monkeypatch.setattr(session, "run_live", live)
    assert main(["watch", *argv, "--max-frames", "1"], out=io.StringIO()) == 0
    assert chosen == [view]


def test_insides_of_a_task_without_a_tape_have_no_answer_row():
    from lecture_rl.runners.insides import draw_insides, record_insides

    titles = {}
    for env_id in ("CartPole-v1", "LectureRL/Parity-v0"):
        env = gym.make(env_id)
        agent = agents.make("ppo", env, seed=0, device="cpu", net="gru", num_envs=4, n_steps=8)
        ins = record_insides(agent, env, 1, seed=0)
        fig = draw_insides(ins, "x")
        titles[env_id] = " ".join(ax.get_title() for ax in fig.axes)
        assert ins.tape_task is (env_id != "CartPole-v1")
    assert "tape" in titles["LectureRL/Parity-v0"] and "graded" in titles["LectureRL/Parity-v0"]
    assert "tape" not in titles["CartPole-v1"] and "answer" not in titles["CartPole-v1"]


def test_the_live_tape_grades_answers_from_the_env_not_all_red():
    """The tap used to grade every answer with reward 0 (all red); now env 0's rewards."""
    from lecture_rl.runners.viewer.insides_panel import InsidesTap

    env = gym.make("LectureRL/Parity-v0", length=6)
    agent = agents.make("ppo", env, seed=0, device="cpu", net="gru", num_envs=4, n_steps=16)
    tap = InsidesTap()
    agent.train(env, steps=96, callbacks=[tap])
    ins = tap.insides(agent, env=env)
    assert ins.tape_task and ins.graded.all()
    parity = np.bitwise_xor.accumulate(
        np.asarray(ins.obs)[np.flatnonzero(ins.episode_starts)[-1] :]
    )
    actions = ins.actions[-len(parity) :]
    np.testing.assert_array_equal(ins.rewards[-len(parity) :], (actions == parity).astype(float))


# ----- what a pane shows --------------------------------------------------------------------
def lanes_for(env_id, names, *, episodes=3, env_kwargs=None, **hp):
    """`make_lanes` for the env's own picture, as `watch` builds them."""
    env_kwargs = env_kwargs or {}

    def build(name):
        env = make_env(env_id, env_kwargs, render_mode="rgb_array")
        agent = agents.make(name, env, seed=0, **hp)
        return agent, DrawnEnv(env), make_env(env_id, env_kwargs, render_mode="rgb_array")

    return make_lane_factory(names, build, {"episodes": episodes}, grid=False)


def run_viewer(make_lanes, *, frames=12, on_frame=None, greedy=1, **kwargs):
    class Noting(Window):
        def show(self, canvas):
            super().show(canvas)
            if on_frame is not None:
                on_frame(viewer, canvas)

    window = Noting("test", max_frames=frames)
    viewer = LiveViewer(
        make_lanes, env_label="test", window=window, controls=Controls(speed=TURBO - 1),
        greedy_episodes=greedy, hold=False, **kwargs,
    )  # fmt: skip
    viewer.run()
    return viewer


def test_taxi_shows_its_own_picture_and_q_of_the_state_shown_by_action_name():
    seen = []

    def on_frame(viewer, canvas):
        lane = viewer.lanes[0]
        picture, thought, _ = viewer.view.look(lane)
        s = int(lane.state.obs)
        seen.append((picture, thought, lane.agent.q[s].copy(), viewer.hud_lines(lane)))

    viewer = run_viewer(lanes_for("Taxi-v4", ["q_learning"], episodes=2), on_frame=on_frame)
    assert isinstance(viewer.view, EnvCanvas) and not viewer.painters
    for picture, thought, q, hud in seen:
        if thought.labels:  # not a terminal state
            assert thought.labels == ["south", "north", "east", "west", "pickup", "dropoff"]
            np.testing.assert_array_equal(thought.values, q)  # the table, after the update
            assert thought.marked == int(np.argmax(q))
        assert picture.rgb is not None and picture.rgb.shape[2] == 3  # Taxi's own frame
        last = [line if isinstance(line, str) else line[0] for line in hud][-1]
        assert re.match(r"last: (south|north|east|west|pickup|dropoff) \(", last), last


def test_a_deep_agent_shows_pi_and_v_of_the_state_shown():
    import torch

    seen = []

    def on_frame(viewer, canvas):
        lane = viewer.lanes[0]
        if lane.state.mode == "learning" and not lane.state.terminal:
            agent, obs = lane.agent, np.asarray(lane.state.obs)[None]
            with torch.no_grad():  # the weights of this frame (the worker waits meanwhile)
                features, _ = agent.backbone.step(agent.obs_tensor(obs), (), None)
                probs = torch.softmax(agent._action_scores(features), -1)[0].numpy()
                value = float(agent.value(features)[0])
            seen.append((viewer.view.look(lane)[1], probs, value))

    run_viewer(
        lanes_for("CartPole-v1", ["ppo"], episodes=40, device="cpu", num_envs=4, n_steps=8),
        on_frame=on_frame, frames=40,
    )  # fmt: skip
    assert len(seen) >= 20
    for thought, probs, value in seen:
        assert thought.labels == ["push left", "push right"] and thought.probabilities
        np.testing.assert_allclose(thought.values, probs, atol=1e-6)
        assert f"V(s) = {panel.num(value)}" in thought.lines
        assert any(line.startswith("H(π) = ") for line in thought.lines)
    assert len({round(float(t.values[0]), 4) for t, _, _ in seen}) > 1  # it changes


def test_a_vector_env_reset_does_not_hide_the_last_frame_of_an_episode():
    """Copy 0 of a deep agent's envs is the viewer's env; its episode's last frame is kept."""
    env = DrawnEnv(gym.make("CartPole-v1", render_mode="rgb_array"))
    env.keep_final = lambda: True
    envs = make_train_envs(env, 3)
    assert envs.envs[0].env is env  # the viewer's env is copy 0
    envs.reset(seed=0)
    for _ in range(200):
        _, _, terminated, truncated, _ = envs.step(np.zeros(3, dtype=np.int64))
        if terminated[0] or truncated[0]:
            break
    assert terminated[0]
    final = env.final.rgb
    now = env.render()  # the start of the next episode: the pole upright again
    assert final.shape == now.shape and not np.array_equal(final, now)
    envs.close()
    assert env.render() is not None  # the vector env borrowed it: still open
    env.close()


def test_an_env_that_draws_nothing_is_shown_as_text():
    class Counter(gym.Env):
        metadata = {"render_modes": []}
        observation_space = gym.spaces.Box(-1, 1, (3,))
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return np.array([0.0, 0.5, -0.25], dtype=np.float32), {}

        def step(self, action):
            self.t += 1
            obs = np.array([self.t, 0.5, -0.25], dtype=np.float32) / 10
            return obs, 1.0, self.t >= 5, False, {}

    picture = picture_of(Counter(), np.array([0.1, 0.5]))
    assert picture.rgb is None and "0.1" in " ".join(picture.text) and picture.note
    line = session.no_picture_line("Counter", [])
    assert "draws no picture" in line and "text" in line

    lane = Lane("x", agents.make("random", Counter(), seed=0), Counter(), {"episodes": 1})
    lane.episode.start(np.zeros(3))
    lane.episode.add(1, 1.0, np.array([0.1, 0.5, -0.25]))
    lane.state = LaneState(obs=np.array([0.1, 0.5, -0.25]), episode_steps=1)
    view = EnvCanvas("test")
    view.build([lane], 1.0)
    text = " | ".join(view.look(lane)[0].text)
    assert text.startswith("t=0") and "→ a=1  r=1" in text and "t=1" in text


def test_agents_acting_with_vectors_get_the_vector_not_a_crash():
    class BoxAgent:
        name = "box"
        hp = {"net": "mlp", "num_envs": 1}
        backbone = object()
        action_space = gym.spaces.Box(-1, 1, (2,))

    lane = Lane("box", BoxAgent(), None, {"steps": 1})
    lane.state = LaneState(obs=np.zeros(3), last_action=np.array([0.25, -0.5]))
    view = EnvCanvas("test")
    view.names = None
    thought, ins = view._thought(lane)
    assert ins is None and thought.lines[0] == "action taken: [0.25, -0.5]"
    assert view._action_word(lane)(np.array([0.25, -0.5])) == "[0.25, -0.5]"


# ----- readable at the default size ---------------------------------------------------------
@pytest.mark.parametrize(
    "env_id, name, hp",
    [
        ("CartPole-v1", "ppo", {"device": "cpu", "net": "lstm"}),
        ("Acrobot-v1", "dqn", {"device": "cpu"}),
        ("Taxi-v4", "q_learning", {}),
        ("Blackjack-v1", "q_learning", {}),
        ("LectureRL/Parity-v0", "q_learning", {}),
    ],
)
@pytest.mark.parametrize("count", [1, 2])
def test_no_frame_is_wider_than_a_screen(env_id, name, hp, count):
    lanes = lanes_for(env_id, [name] * count, **hp)()
    view = EnvCanvas(env_id)
    canvas = view.build(lanes, 1.0)
    assert canvas.get_width() <= SCREEN_WIDTH and canvas.get_height() <= 1080
    for lane in lanes:
        for env in lane.envs():
            env.close()


def test_a_huge_env_frame_is_shrunk_into_its_box_and_a_small_one_enlarged():
    surface = rendering.new_surface(1500, 700)
    huge = np.full((2000, 3000, 3), 7, dtype=np.uint8)
    bottom = draw_picture(surface, Picture(rgb=huge), (10, 10, *PICTURE))
    pixels = pygame.surfarray.array3d(surface)  # [x, y, rgb]
    inside = np.all(np.abs(pixels.astype(int) - 7) <= 2, axis=-1)  # smoothscale rounds
    xs, ys = np.nonzero(inside)
    assert xs.max() < 10 + PICTURE[0] and ys.max() < 10 + PICTURE[1] and bottom <= 10 + PICTURE[1]
    small = np.full((160, 160, 3), 9, dtype=np.uint8)  # Minigrid's 5x5 map
    surface.fill(rendering.BACKGROUND)
    draw_picture(surface, Picture(rgb=small), (10, 10, *PICTURE))
    assert np.all(pygame.surfarray.array3d(surface) == 9, axis=-1).sum() == 480 * 480  # x3


def test_the_grid_view_fits_a_screen_too():
    env = gym.make("FrozenLake-v1", map_name="8x8")
    make = make_lane_factory(
        ["q_learning", "sarsa"],
        lambda name: (agents.make(name, env, seed=0), env, env),
        {"episodes": 1},
    )
    viewer = LiveViewer(make, env_label="x", window=Window("x"), hold=False)
    assert viewer.canvas.get_width() <= SCREEN_WIDTH


# ----- recordings ---------------------------------------------------------------------------
RECORDINGS = {
    "CartPole-v1 + ppo": (
        ["--env", "CartPole-v1", "--agent", "ppo", "--set", "num_envs=4", "--set", "n_steps=16",
         "--train-episodes", "24"], 4),
    "Acrobot-v1 + dqn": (
        ["--env", "Acrobot-v1", "--agent", "dqn", "--set", "num_envs=1", "--train-episodes", "2"],
        1),
    "Taxi-v4 + q_learning": (["--env", "Taxi-v4", "--agent", "q_learning",
                              "--train-episodes", "40"], 1),
    "MiniGrid-Empty-5x5 + ppo": (
        ["--env", "MiniGrid-Empty-5x5-v0", "--agent", "ppo", "--set", "num_envs=4", "--set",
         "n_steps=16", "--train-episodes", "16"], 4),
    "Blackjack-v1 + q_learning": (["--env", "Blackjack-v1", "--agent", "q_learning",
                                   "--train-episodes", "160"], 1),
}  # fmt: skip


def caption_reader(size: tuple[int, int], candidates: list[str]):
    """`read(frame)`: the caption a recorded frame shows, the candidate whose drawing matches
    the frame's bottom pixel for pixel (a pixel off by more than a GIF palette's rounding
    counts as wrong)."""
    width, height = size
    rows = slice(height - LEGEND_HEIGHT + 20, height - LEGEND_HEIGHT + 52)
    drawn = []
    for text in candidates:
        surface = rendering.new_surface(width, height)
        draw_legend(surface, Controls(), text, LEGEND_HEIGHT)
        drawn.append(rendering.surface_to_rgb(surface)[rows].astype(np.int16))

    def read(frame: np.ndarray) -> str:
        part = frame[rows, :, :3].astype(np.int16)
        wrong = [int((np.abs(d - part).max(axis=-1) > 48).sum()) for d in drawn]
        order = np.argsort(wrong)
        assert wrong[order[0]] <= 3, wrong[order[0]]  # it is the caption drawn there
        if len(wrong) > 1:
            assert wrong[order[1]] >= 10, wrong[order[1]]  # and no other caption is
        return candidates[order[0]]

    return read


def episode_of(caption: str) -> int | None:
    """The training episode a caption names (env 0's episodes: how many began before it)."""
    found = re.match(r"training episode (\d+)|env 0's episode \d+, begun after (\d+)", caption)
    if found is None:
        return None
    return int(found.group(1)) if found.group(1) else int(found.group(2)) + 1


@pytest.mark.parametrize("case", sorted(RECORDINGS))
def test_a_recording_spans_the_training_and_names_every_frames_episode(case, tmp_path,
                                                                      monkeypatch):  # fmt: skip
    if case.startswith("MiniGrid"):
        pytest.importorskip("minigrid")
    argv, width = RECORDINGS[case]
    total = int(argv[argv.index("--train-episodes") + 1])
    shown: list[dict] = []
    real_show = LiveViewer.show

    def show(viewer, prompt=""):
        before = viewer.window.frames
        real_show(viewer, prompt)
        if viewer.window.frames > before:
            shown.append(
                {"caption": viewer.captions[-1], "picture": viewer.view.look(viewer.lanes[0])[0]}
            )

    monkeypatch.setattr(LiveViewer, "show", show)
    gif = tmp_path / "lesson.gif"
    out = io.StringIO()
    code = main(["watch", *argv, "--episodes", "1", "--max-frames", "40", "--threads", "1",
                 "--record", str(gif)], out=out)  # fmt: skip
    assert code == 0, out.getvalue()
    frames = iio.imread(gif, index=None)
    assert len(shown) == int(re.search(r"recorded (\d+) frames", out.getvalue()).group(1))
    assert 0.8 * len(shown) <= len(frames) <= len(shown) <= 40  # (the GIF merges equal frames)
    assert frames.shape[2] <= SCREEN_WIDTH
    # every frame shows the env's own picture (no tape, no text) and names its episode
    assert all(item["picture"].rgb is not None for item in shown)
    candidates = sorted({item["caption"] for item in shown})
    read = list(map(caption_reader(frames.shape[2:0:-1], candidates), frames))
    episodes = [episode_of(caption) for caption in read if episode_of(caption) is not None]
    assert episodes[0] == 1 and episodes == sorted(episodes)  # first, then onwards
    assert max(episodes) >= total - width  # ... up to the last episodes
    assert len(set(episodes)) >= 3 or total <= 4 * width
    assert read[-1] == f"after {total} training episodes: the greedy policy"
