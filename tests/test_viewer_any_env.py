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
from lecture_rl.runners.viewer.schedule import ShowSchedule, drawn_step
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


def run_viewer(
    make_lanes, *, frames=12, on_frame=None, greedy=1, script=None, controls=None, **kwargs
):
    """Run a viewer headless; `script`: the keys pressed right after frame n is shown."""

    class Noting(Window):
        def show(self, canvas):
            super().show(canvas)
            if on_frame is not None:
                on_frame(viewer, canvas)
            for key in (script or {}).get(self.frames, ()):
                char = chr(key) if key < 0x110000 and chr(key).isprintable() else ""
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char))

    window = Noting("test", max_frames=frames)
    viewer = LiveViewer(
        make_lanes, env_label="test", window=window,
        controls=controls or Controls(speed=TURBO - 1), greedy_episodes=greedy, hold=False,
        **kwargs,
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


def test_keys_drive_the_env_view_of_two_agents_side_by_side():
    """Paused: one step per → for both panes; + / − change the speed; g plays a greedy episode
    and learning goes on; both agents start from the same seeded state; Esc quits."""
    seen = []

    def on_frame(viewer, canvas):
        seen.append(
            [(lane.state.mode, lane.env_steps, int(lane.state.obs),
              viewer.view.look(lane)[0].rgb is not None)
             for lane in viewer.lanes] + [viewer.controls.speed, canvas.get_height()]
        )  # fmt: skip

    controls = Controls(paused=True, speed=3)
    script = {1: [pygame.K_RIGHT], 2: [pygame.K_RIGHT], 3: [ord("+"), ord("+"), ord("-")],
              4: [pygame.K_g, pygame.K_SPACE], 30: [pygame.K_ESCAPE]}  # fmt: skip
    make = lanes_for("Taxi-v4", ["q_learning", "sarsa"], episodes=50)
    viewer = run_viewer(
        make, frames=60, on_frame=on_frame, script=script, controls=controls, step_cap=8, greedy=0
    )
    assert isinstance(viewer.view, EnvCanvas)
    assert [lane.name for lane in viewer.lanes] == ["q_learning", "sarsa"]
    steps = [[lane[1] for lane in frame[:2]] for frame in seen[:3]]
    assert steps == [[1, 1], [2, 2], [3, 3]]  # paused: one step per key, both panes
    assert all(lane[3] for frame in seen for lane in frame[:2])  # Taxi's own picture each time
    assert seen[0][0][2] == seen[0][1][2]  # the same seed: the same first state
    assert [seen[3][0][1], seen[3][2]] == [3, 4] and controls.quit  # + + −: speed 3 -> 4, no step
    modes = [frame[0][0] for frame in seen]
    assert modes.index("greedy") <= 6 and viewer.greedy_runs == 1  # g: a greedy run at once
    assert "learning" in modes[modes.index("greedy") :]  # ... then learning goes on
    assert seen[-1][1][1] > 3 and len(seen) == 30  # space resumed; Esc after frame 30
    one = run_viewer(lanes_for("Taxi-v4", ["sarsa"], episodes=1), frames=2)
    assert seen[0][-1] > 1.5 * one.canvas.get_height() - 100  # two panes, one above the other


@pytest.mark.parametrize(
    "env_id, names, sets, prefix",
    [  # ppo steps 4 envs, dqn 1: their episode counts differ, the line names the top pane's
        ("CartPole-v1", "ppo,dqn", ["ppo.num_envs=4", "ppo.n_steps=16", "dqn.num_envs=1"],
         "ppo (top): env 0's episode "),
        ("Taxi-v4", "q_learning,sarsa", [], "training episode "),  # one count for both
    ],
)  # fmt: skip
def test_a_recording_of_two_agents_says_whose_episode_its_caption_counts(
    env_id, names, sets, prefix, tmp_path, monkeypatch
):
    captions = []
    real_run = LiveViewer.run

    def run(viewer):
        try:
            return real_run(viewer)
        finally:
            captions.extend(viewer.captions)

    monkeypatch.setattr(LiveViewer, "run", run)
    argv = ["watch", "--env", env_id, "--agents", names, "--train-episodes", "8",
            "--episodes", "1", "--max-frames", "12", "--threads", "1",
            "--record", str(tmp_path / "two.gif")]  # fmt: skip
    for item in sets:
        argv += ["--set", item]
    assert main(argv, out=io.StringIO()) == 0
    training = [caption for caption in captions if not caption.startswith("after ")]
    assert training and all(caption.startswith(prefix) for caption in training), training
    assert training[0].startswith(prefix + ("1, begun after 0 of 8" if "0's" in prefix else "1"))


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


class AnsiWalk(gym.Env):
    """A walk on 5 cells that draws itself only as coloured text (`ansi`)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}
    observation_space = gym.spaces.Discrete(5)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 2
        return self.s, {}

    def step(self, action):
        self.s = max(0, min(4, self.s + (1 if action else -1)))
        return self.s, float(self.s == 4), self.s in (0, 4), False, {}

    def render(self):
        return "".join("\x1b[41mX\x1b[0m" if i == self.s else "." for i in range(5)) + "\n"


def test_an_ansi_env_is_shown_as_its_text_and_the_console_says_so(tmp_path, monkeypatch):
    gym.register("LectureRLTest/AnsiWalk-v0", entry_point=AnsiWalk, max_episode_steps=20)
    shown = []
    real_show = LiveViewer.show

    def show(viewer, prompt=""):
        real_show(viewer, prompt)
        lane = viewer.lanes[0]
        shown.append((viewer.view.look(lane)[0], int(lane.state.obs), lane.state.mode))

    monkeypatch.setattr(LiveViewer, "show", show)
    out = io.StringIO()
    try:
        code = main(["watch", "--env", "LectureRLTest/AnsiWalk-v0", "--agent", "q_learning",
                     "--train-episodes", "3", "--episodes", "1", "--max-frames", "12",
                     "--record", str(tmp_path / "walk.gif")], out=out)  # fmt: skip
    finally:
        gym.registry.pop("LectureRLTest/AnsiWalk-v0")
    assert code == 0, out.getvalue()
    said = " ".join(out.getvalue().split())
    assert "LectureRLTest/AnsiWalk-v0 draws no picture (render modes: ['ansi']); showing its " \
        "ansi text" in said  # fmt: skip
    learning = [(picture, s) for picture, s, mode in shown if mode == "learning"]
    assert learning and (tmp_path / "walk.gif").exists()
    for picture, s in learning:  # the env's own text of the state shown, without its colours
        assert picture.rgb is None and picture.text == ["".join("X" if i == s else "." for i in
                                                                range(5))]  # fmt: skip


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


def label_of(caption: str) -> tuple[int, int] | None:
    """(training episode, step) a caption names (env 0's episodes: how many began before it,
    plus one); None for a greedy frame's caption."""
    found = re.match(
        r"(?:training episode (\d+)|env 0's episode \d+, begun after (\d+)).*step (\d+)", caption
    )
    if found is None:
        return None
    episode = int(found.group(1)) if found.group(1) else int(found.group(2)) + 1
    return episode, int(found.group(3))


def scheduled_frames(
    starts: list[tuple[int, int]], end: int, total: int, width: int, caption: str, cap: int
) -> list[tuple[int, int]]:
    """The (episode, step) labels a recording's training frames must carry, written from the
    rule the caption states: env 0's episode starting at `(episodes done, env 0's steps)` is
    drawn when it is the first to start after a mark (every N-th episode), while fewer than S
    of env 0's steps were drawn since that mark (`at least S steps from each`), or when it
    starts within `width` episodes of the end; each drawn episode shows its steps 1, 2, ...
    up to its length or `cap`, whichever is first (`end`: env 0's steps at the end)."""
    found = re.search(r"every (\d+)(?:st|nd|rd|th) shown", caption)
    every = int(found.group(1)) if found else 1  # (or "every episode shown")
    stretch = re.search(r"at least (\d+) steps from each", caption)
    min_steps = int(stretch.group(1)) if stretch else 0
    labels, mark_at = [], None
    for i, (done, own) in enumerate(starts):
        length = (starts[i + 1][1] if i + 1 < len(starts) else end) - own
        first_after_mark = i == 0 or done // every > starts[i - 1][0] // every
        if first_after_mark:
            mark_at = own
        if first_after_mark or own - mark_at < min_steps or done >= total - width:
            steps = range(1, min(length, cap) + 1)
            labels += [(done + 1, t) for t in steps if drawn_step(t, t == length)]
    return labels


@pytest.mark.parametrize("case", sorted(RECORDINGS))
def test_a_recording_spans_the_training_and_names_every_frames_episode(case, tmp_path,
                                                                      monkeypatch):  # fmt: skip
    if case.startswith("MiniGrid"):
        pytest.importorskip("minigrid")
    argv, width = RECORDINGS[case]
    total = int(argv[argv.index("--train-episodes") + 1])
    shown: list[dict] = []
    starts: list[tuple[int, int]] = []  # (episodes done, env 0's steps) as env 0's episodes begin
    real_show, real_starts = LiveViewer.show, ShowSchedule.starts

    def show(viewer, prompt=""):
        before = viewer.window.frames
        real_show(viewer, prompt)
        if viewer.window.frames > before:
            lane = viewer.lanes[0]
            shown.append({"caption": viewer.captions[-1], "picture": viewer.view.look(lane)[0],
                          "end": lane.env_steps, "cap": lane.steps_drawn})  # fmt: skip

    def spy_starts(schedule, done, env_steps, own_steps=0):
        starts.append((done, own_steps))
        return real_starts(schedule, done, env_steps, own_steps)

    monkeypatch.setattr(LiveViewer, "show", show)
    monkeypatch.setattr(ShowSchedule, "starts", spy_starts)
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
    labels = [label_of(caption) for caption in read if label_of(caption) is not None]
    # the training frames in the file are exactly those the schedule the caption states picks:
    # the first episode, the first after every N-th, the last ones, each step by step
    after = next(item for item in shown if not label_of(item["caption"]))  # training is over
    expected = scheduled_frames(starts, after["end"], total, width, read[0], after["cap"] or 10**9)
    assert labels == expected
    episodes = [episode for episode, _ in labels]
    assert episodes[0] == 1 and episodes == sorted(episodes)  # first, then onwards
    assert max(episodes) >= total - width  # ... up to the last episodes
    assert len(set(episodes)) >= 3 or total <= 4 * width
    greedy = read[len(labels) :]
    assert greedy and set(greedy) == {f"after {total} training episodes: the greedy policy"}
