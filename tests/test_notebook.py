"""`lecture_rl.notebook`: the live view hands frames to the widget while the agent learns, its
buttons are the viewer's keys, the static fallback writes an animation, and the helpers return
what the CLI prints."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets", reason="the notebook extra is not installed")

from lecture_rl import notebook as lrl  # noqa: E402
from lecture_rl.notebook import buttons, frontend  # noqa: E402
from lecture_rl.notebook.window import NotebookWindow, encode_png  # noqa: E402
from lecture_rl.runners.cli import main  # noqa: E402
from lecture_rl.runners.viewer.controls import Controls  # noqa: E402

CLIFF = {"alpha": 0.5, "gamma": 1, "epsilon": 0.1}


def png_rgb(data: bytes) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(data, extension=".png"))


def click(label: str, lesson) -> None:
    """Click the lesson's button with this label, as the frontend's click arrives."""
    bar = lesson.widget.children[2].children
    [button] = [b for b in bar if b.description == label]
    button.click()


def wait_for(predicate, timeout: float = 30.0) -> None:
    end = time.perf_counter() + timeout
    while not predicate():
        assert time.perf_counter() < end, "timed out"
        time.sleep(0.01)


def test_the_png_a_frame_becomes_is_the_canvas():
    from lecture_rl.envs import rendering

    canvas = rendering.new_surface(37, 11)
    canvas.fill((12, 200, 7))
    canvas.fill((250, 3, 90), (5, 2, 9, 4))
    assert np.array_equal(png_rgb(encode_png(canvas)), rendering.surface_to_rgb(canvas))


def test_the_widget_receives_frames_while_the_agent_learns():
    lesson = lrl.watch("LectureRL/GridWorld-v0", "q_learning", env_set={"map_name": "lecture"},
                       train_episodes=12, speed=120, greedy_episodes=1, view="widget",
                       alpha=0.5, gamma=0.7, epsilon=0.2)  # fmt: skip
    image = lesson.window.image
    seen: list[tuple[bytes, bool]] = []  # (frame, whether the lesson was still learning)
    image.observe(lambda change: seen.append((change["new"], lesson.running)), "value")
    assert lesson.wait(120), "the lesson did not finish"
    assert lesson.error is None and lesson.code == 0
    assert len(seen) == lesson.window.sent >= 20
    assert lesson.window.sent <= lesson.window.frames
    assert sum(running for _, running in seen) >= 20  # they came while it ran, not at the end
    frames = [png_rgb(frame) for frame, _ in seen]
    assert all(f.shape == frames[0].shape and f.shape[2] == 3 for f in frames)
    changed = sum(not np.array_equal(a, b) for a, b in zip(frames, frames[1:]))
    assert changed >= len(frames) // 2  # each frame shows a new step, not the same picture
    assert "q_learning: 12 episodes" in lesson.printed  # the CLI's closing line, in the text box


def test_pause_and_step_buttons_steer_a_running_lesson():
    lesson = lrl.watch("CliffWalking-v1", "q_learning", train_episodes=200, speed=120,
                       view="widget", **CLIFF)  # fmt: skip
    try:
        wait_for(lambda: lesson.window.frames >= 5)
        click("pause / resume", lesson)
        time.sleep(0.3)  # the frame that was being drawn when the click came
        paused_at = lesson.window.frames
        time.sleep(0.5)
        assert lesson.window.frames == paused_at  # paused: no new step, no new frame
        for expected in (1, 2, 3):
            click("step ▸", lesson)
            wait_for(lambda e=expected: lesson.window.frames == paused_at + e)
        time.sleep(0.3)
        assert lesson.window.frames == paused_at + 3  # one step per click, no more
        click("pause / resume", lesson)
        wait_for(lambda: lesson.window.frames >= paused_at + 10)  # running again
        assert lesson.running
        click("■ stop", lesson)
        assert lesson.wait(20) and lesson.error is None
    finally:
        lesson.stop()
    lesson.window.flush()
    last = png_rgb(lesson.window.image.value)
    assert last.shape[0] > 100  # the widget keeps the last frame after the lesson ended


#: what each button of the live viewer changes in its Controls (`handle_key`)
VIEWER_EFFECTS = {
    "pause / resume": lambda c: c.paused,
    "step ▸": lambda c: c.step_requests == 1,
    "− slower": lambda c: c.speed == 4,
    "+ faster": lambda c: c.speed == 6,
    "greedy run": lambda c: c.greedy_request,
    "restart": lambda c: c.restart_request,
    "values": lambda c: c.options.values != Controls().options.values,
    "Q": lambda c: c.options.q != Controls().options.q,
    "policy": lambda c: c.options.policy != Controls().options.policy,
    "trail": lambda c: c.options.trail != Controls().options.trail,
    "help": lambda c: not c.legend,
    "■ stop": lambda c: c.quit,
}


def test_each_viewer_button_is_the_key_that_does_the_same():
    import ipywidgets

    window = NotebookWindow(ipywidgets.Image())
    bar = buttons.button_bar(window, buttons.VIEWER_KEYS)
    assert [b.description for b in bar.children] == list(VIEWER_EFFECTS)
    for button in bar.children:
        controls = Controls(speed=5)
        button.click()
        [event] = window.events()
        assert controls.handle_key(event.key, event.unicode), button.description
        assert VIEWER_EFFECTS[button.description](controls), button.description
        others = [name for name, effect in VIEWER_EFFECTS.items() if effect(controls)]
        assert others == [button.description]  # and nothing else changed
    assert window.events() == []


def test_stepper_buttons_go_back_and_forth():
    import gymnasium as gym

    from lecture_rl.envs.grid_draw import GridLayout
    from lecture_rl.runners.lecture_example import ENV_ID, MAP_NAME, replay_lecture_episode
    from lecture_rl.runners.viewer.stepper import Stepper

    env = gym.make(ENV_ID, map_name=MAP_NAME)
    stepper = Stepper(replay_lecture_episode(), GridLayout.from_env(env))
    env.close()
    codes = {spec.label: spec.code for spec in buttons.STEPPER_KEYS}
    assert stepper.handle_key(codes["next ▸"]) and stepper.k == 1
    assert stepper.handle_key(codes["next ▸"]) and stepper.k == 2
    assert stepper.handle_key(codes["◂ back"]) and stepper.k == 1
    assert not stepper.handle_key(codes["■ close"])


@pytest.mark.parametrize(
    ("env_name", "expected"),
    [
        ("GridWorld", {"↑": 0, "→": 1, "↓": 2, "←": 3}),
        ("FrozenLake", {"←": 0, "↓": 1, "→": 2, "↑": 3}),
        ("Taxi", {"↓": 0, "↑": 1, "→": 2, "←": 3, "P": 4, "D": 5}),
        ("Parity", {"0": 0, "1": 1}),
        ("Blackjack", {"S": 0, "H": 1}),
    ],
)
def test_play_has_one_button_per_action_and_it_plays_that_action(env_name, expected):
    from lecture_rl.runners.play import KEY_MAPS
    from lecture_rl.runners.viewer.keyboard import action_for

    keys = KEY_MAPS[env_name][0]
    specs = buttons.play_keys(keys)
    labels = [*sorted(expected, key=expected.get), "new episode", "■ stop"]
    assert [s.label for s in specs] == labels
    for spec in specs[:-2]:
        assert action_for(keys, spec.code, spec.unicode) == expected[spec.label]


def test_play_buttons_play_the_grid_in_a_live_lesson():
    lesson = lrl.play("LectureRL/GridWorld-v0", seed=0, view="widget")
    try:
        wait_for(lambda: lesson.window.frames >= 1)
        for label in ("→", "→", "↓", "↓"):  # (1,1) → (1,3) → (3,3) on the default map
            before = lesson.window.frames
            click(label, lesson)
            wait_for(lambda b=before: lesson.window.frames > b)
        click("■ stop", lesson)
        assert lesson.wait(20) and lesson.error is None
    finally:
        lesson.stop()
    assert lesson.window.frames >= 5


def test_the_static_fallback_writes_a_video_of_the_frames_drawn():
    import imageio.v3 as iio

    lesson = lrl.watch("CliffWalking-v1", "q_learning", train_episodes=40, frames=30,
                       view="animation", **CLIFF)  # fmt: skip
    assert lesson.mode == "animation" and lesson.code == 0
    assert lesson.animation[4:8] == b"ftyp"  # an MP4
    video = iio.imread(lesson.animation, extension=".mp4")
    assert len(video) == lesson.window.frames == 30
    page = lesson.animation_html()
    assert page.startswith("<video") and "data:video/mp4;base64," in page
    assert "q_learning: 40 episodes" in lesson.printed
    assert "lecture-rl-notebook-" not in lesson.printed  # the temporary file is not named


def test_the_worked_example_and_play_leave_animations_without_a_frontend():
    import imageio.v3 as iio

    example = lrl.lecture_example(view="animation")
    frames = iio.imread(example.animation, extension=".mp4")
    assert len(frames) == example.window.frames == 4  # the start and the episode's 3 updates
    assert "Q((3,2),→) 0 → -5" in example.printed
    still = lrl.play("LectureRL/GridWorld-v0", view="animation")
    assert still.animation[:6] == b"GIF89a" and still.window.frames == 1


def test_the_view_is_a_widget_only_where_a_frontend_answers(monkeypatch):
    monkeypatch.delenv(frontend.VIEW_ENV, raising=False)
    assert frontend.view_mode() == "animation"  # no kernel here

    class Kernel:
        allow = True

        def get_parent(self):
            return {"content": {"allow_stdin": self.allow}}

    kernel = Kernel()
    monkeypatch.setattr(frontend, "_kernel", lambda: kernel)
    assert frontend.view_mode() == "widget"  # JupyterLab, VS Code, Colab ask with stdin
    kernel.allow = False
    assert frontend.view_mode() == "animation"  # nbclient, nbconvert, papermill do not
    monkeypatch.setenv(frontend.VIEW_ENV, "widget")
    assert frontend.view_mode() == "widget"
    assert frontend.view_mode("animation") == "animation"
    monkeypatch.setenv(frontend.VIEW_ENV, "video")
    with pytest.raises(ValueError, match="LECTURE_RL_NOTEBOOK_VIEW"):
        frontend.view_mode()


def test_bad_arguments_are_the_cli_s_one_line():
    from lecture_rl.runners.settings import UsageError

    with pytest.raises(UsageError, match="--agents shows at most two"):
        lrl.watch("CliffWalking-v1", "sarsa,q_learning,mc", view="animation")
    with pytest.raises(UsageError, match="invalid int value"):
        lrl.compare("CliffWalking-v1", "sarsa", seeds="many", episodes=5)


def cli_rows(text: str) -> dict[str, list[str]]:
    """The body rows of a table rich printed, cells that wrapped onto more lines joined."""
    rows: dict[str, list[str]] = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells[0]:
            last = cells[0]
            rows[last] = cells[1:]
        elif last is not None:
            rows[last] = [f"{a} {b}".strip() for a, b in zip(rows[last], cells[1:])]
    return rows


def test_compare_returns_the_table_the_cli_prints(tmp_path):
    argv = ["--env", "CliffWalking-v1", "--agents", "q_learning,sarsa", "--seeds", "2",
            "--episodes", "150", "--eval-episodes", "3", "--workers", "1",
            "--set", "alpha=0.5", "--set", "gamma=1"]  # fmt: skip
    out = io.StringIO()
    assert main(["compare", *argv, "--out", str(tmp_path / "cli")], out=out) == 0
    printed = cli_rows(out.getvalue())
    table = lrl.compare("CliffWalking-v1", ["q_learning", "sarsa"], seeds=2, episodes=150,
                        eval_episodes=3, workers=1, alpha=0.5, gamma=1, out=tmp_path / "nb",
                        show=False)  # fmt: skip
    assert list(table.index) == ["q_learning", "sarsa"] == list(printed)
    for agent, row in table.iterrows():
        greedy, train = printed[agent][0], printed[agent][1]
        assert greedy == f"{row['greedy return']:.3f} ± {row['± 95% CI']:.3f}"
        assert train == f"{row['train return, last 10%']:.3f}"
        assert printed[agent][-1] == str(int(row["seeds"]))
    assert table.attrs["summary"]["agents"]["sarsa"]["eval"]["n"] == 2


def test_experiment_returns_the_verdict_the_cli_prints(tmp_path):
    out = io.StringIO()
    argv = ["random-walk", "--quick", "--seeds", "1", "--workers", "1"]
    assert main(["experiment", *argv, "--out", str(tmp_path / "cli")], out=out) == 0
    result = lrl.experiment("random-walk", seeds=1, workers=1, out=tmp_path / "nb", show=False)
    assert f"  {result.verdict}\n" in out.getvalue()
    assert result.verdict.startswith("HELD" if result.held else "NOT HELD")
    assert result.name == "random-walk" and result.numbers
    page = lrl.reports.report_markdown(result.out)
    assert result.verdict in page and "](data:image/png;base64," in page


def test_train_and_inspect_write_what_the_cli_writes(tmp_path):
    argv = ["--env", "LectureRL/Parity-v0", "--env-set", "length=4", "--agent", "ppo",
            "--steps", "512", "--set", "net=lstm", "--eval-episodes", "5"]  # fmt: skip
    out = io.StringIO()
    assert main(["train", *argv, "--out", str(tmp_path / "cli")], out=out) == 0
    checkpoint = lrl.train("LectureRL/Parity-v0", "ppo", env_set={"length": 4}, steps=512,
                           net="lstm", eval_episodes=5, out=tmp_path / "nb")  # fmt: skip
    from safetensors.numpy import load_file

    cli_weights = load_file(tmp_path / "cli" / "weights.safetensors")
    weights = load_file(checkpoint / "weights.safetensors")
    assert weights.keys() == cli_weights.keys()
    assert all(np.array_equal(weights[k], cli_weights[k]) for k in weights)  # the same run
    assert main(["inspect", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "cli.png")],
                out=io.StringIO()) == 0  # fmt: skip
    figure = lrl.inspect(checkpoint, show=False)
    assert figure == checkpoint / "insides.png"
    cli_figure = png_rgb((tmp_path / "cli.png").read_bytes())
    assert np.array_equal(png_rgb(figure.read_bytes()), cli_figure)


def test_one_lesson_at_a_time():
    first = lrl.watch("CliffWalking-v1", "q_learning", train_episodes=500, speed=120,
                      view="widget", **CLIFF)  # fmt: skip
    wait_for(lambda: first.window.frames >= 2)
    second = lrl.watch("CliffWalking-v1", "sarsa", train_episodes=500, speed=120,
                       view="widget", **CLIFF)  # fmt: skip
    try:
        assert not first.running and first.error is None  # stopped by the second
        wait_for(lambda: second.window.frames >= 2)
    finally:
        second.stop()
    assert not second.running
    assert threading.active_count() < 20
