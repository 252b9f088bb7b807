"""`watch --record`: a recording spans the whole training and ends with what was learned."""

from __future__ import annotations

import imageio.v3 as iio
import pytest

from lecture_rl.runners.cli import main
from lecture_rl.runners.viewer.live import LiveViewer

# CliffWalking-v1 (4 x 12): start (4,1) = 36, goal (4,12) = 47; the optimal path goes up, along
# the cliff edge on row 3 and down into the goal: 13 moves, return −13.
CLIFF_PATH = [36, 24, *range(25, 36), 47]
WATCH = ["watch", "--env", "CliffWalking-v1", "--agent", "q_learning", "--set", "epsilon=0.1",
         "--set", "alpha=0.5", "--set", "gamma=1", "--train-episodes", "200", "--episodes", "1",
         "--seed", "0"]  # fmt: skip


def record(tmp_path, monkeypatch, *extra: str, suffix=".gif") -> tuple[list[dict], int]:
    """Run `watch --record` and note what each recorded frame showed."""
    frames: list[dict] = []
    real_show = LiveViewer.show

    def show(viewer, prompt=""):
        before = viewer.window.frames
        real_show(viewer, prompt)
        if viewer.window.frames > before:  # a frame was shown and recorded
            lane = viewer.lanes[0]
            caption = getattr(viewer, "caption", str)()  # (the old viewer had none)
            frames.append({"mode": lane.state.mode, "episode": lane.state.episode,
                           "trail": list(lane.state.trail or []),
                           "return": lane.state.episode_return, "caption": caption,
                           "hud": [line if isinstance(line, str) else line[0]
                                   for line in viewer.hud_lines(lane)]})  # fmt: skip

    monkeypatch.setattr(LiveViewer, "show", show)
    path = tmp_path / f"cliff{suffix}"
    assert main([*WATCH, "--record", str(path), *extra]) == 0
    return frames, len(iio.imread(path, index=None))


def test_a_recording_of_q_learning_on_the_cliff_ends_with_the_learned_path(tmp_path,
                                                                          monkeypatch):  # fmt: skip
    frames, in_file = record(tmp_path, monkeypatch, "--max-frames", "100")
    assert 0.9 * len(frames) <= in_file <= len(frames)  # (the GIF merges identical frames)
    training = [frame for frame in frames if frame["mode"] == "learning"]
    drawn = sorted({frame["episode"] for frame in training})
    assert drawn[0] == 0 and drawn[-1] == 199  # spread over the whole training, first to last
    assert len(drawn) >= 8
    for frame in frames:  # every frame names its episode
        assert any(line.startswith("episode ") for line in frame["hud"]), frame["hud"]
        assert frame["caption"].startswith(("training episode", "after 200 training episodes"))
    last = frames[-1]
    assert last["mode"] == "greedy" and last["caption"].startswith("after 200")
    assert last["trail"] == CLIFF_PATH and last["return"] == pytest.approx(-13.0)


def test_record_every_draws_the_chosen_episodes_and_the_last(tmp_path, monkeypatch):
    frames, in_file = record(
        tmp_path, monkeypatch, "--record-every", "90", "--max-frames", "60", suffix=".mp4"
    )
    assert in_file == len(frames)
    drawn = {frame["episode"] for frame in frames if frame["mode"] == "learning"}
    assert drawn == {0, 90, 180, 199}
    assert "(every 90th shown)" in frames[0]["caption"]
    assert frames[-1]["mode"] == "greedy"  # --max-frames left room for the greedy episode


def test_shown_episodes():
    from lecture_rl.runners.viewer.live import shown_episodes

    shows = shown_episodes(25, 200)
    assert [e for e in range(200) if shows(e)] == [0, 25, 50, 75, 100, 125, 150, 175, 199]


def test_record_every_below_one_is_misuse(tmp_path, capsys):
    assert main([*WATCH, "--record", str(tmp_path / "x.gif"), "--record-every", "0"]) == 2
    assert "--record-every must be at least 1" in capsys.readouterr().err


def test_record_with_no_live_is_misuse(tmp_path, capsys):
    assert main([*WATCH, "--no-live", "--record", str(tmp_path / "x.gif")]) == 2
    assert "--no-live" in capsys.readouterr().err
    assert not (tmp_path / "x.gif").exists()


@pytest.mark.parametrize(
    ("agent", "env_id", "held"),
    [("q_learning", "CliffWalking-v1", "table"),
     ("ppo", "Pendulum-v1", "agent with continuous actions")],
)  # fmt: skip
def test_record_from_a_checkpoint_without_an_insides_panel_says_what_it_holds(
    tmp_path, capsys, agent, env_id, held
):
    folder = tmp_path / "run"
    assert main(["train", "--env", env_id, "--agent", agent, "--steps", "600", "--seed", "0",
                 "--out", str(folder)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["watch", "--checkpoint", str(folder), "--record", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert f"holds a '{agent}' {held}: record it learning with --agent {agent}" in err
    assert not (tmp_path / "x.gif").exists()
