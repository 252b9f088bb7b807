"""Which episodes and steps a recording draws, and the recorder's frames (kept, written exactly)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from lecture_rl.runners.viewer.live import shown_episodes
from lecture_rl.runners.viewer.recorder import Recorder, palette_image
from lecture_rl.runners.viewer.schedule import (
    RECORDED_STEPS,
    ShowSchedule,
    drawn_step,
    episode_schedule,
)


def drawn(schedule: ShowSchedule, starts: list[tuple[int, int, int]]) -> list[int]:
    """The indices of the episode starts (episodes done, env steps, env 0's steps) drawn."""
    return [i for i, start in enumerate(starts) if schedule.starts(*start)]


def test_a_table_draws_episodes_0_n_2n_and_the_last():
    schedule = episode_schedule(25, 200)
    shows = shown_episodes(25, 200)
    picked = drawn(schedule, [(e, 0, 0) for e in range(200)])
    assert picked == [e for e in range(200) if shows(e)] == [0, 25, 50, 75, 100, 125, 150, 175, 199]


def test_a_deep_agent_draws_env_0s_first_episode_after_each_mark_and_the_last_ones():
    # 8 envs finish episodes together: env 0 starts its episodes after 0, 8, 16, ... are done
    schedule = episode_schedule(20, 100, width=8)
    picked = drawn(schedule, [(done, 0, 0) for done in range(0, 100, 8)])
    # marks 0, 20, 40, 60, 80; the last ones: starting within 8 episodes of the end (92)
    assert [8 * i for i in picked] == [0, 24, 40, 64, 80, 96]
    # ... and with a step budget, by env steps: marks every 1000, the last quarter-mark band
    by_steps = ShowSchedule(1000, 8000, by_steps=True, width=8)
    picked = drawn(by_steps, [(0, steps, 0) for steps in range(0, 8000, 300)])
    assert [300 * i for i in picked] == [0, 1200, 2100, 3000, 4200, 5100, 6000, 7200, 7800]


def test_short_episodes_are_drawn_in_a_stretch_from_each_mark():
    schedule = episode_schedule(50, 200, min_steps=6)
    # episodes of 2 steps: env 0's steps when episode e starts are 2e
    picked = drawn(schedule, [(e, 0, 2 * e) for e in range(200)])
    assert picked == [0, 1, 2, 50, 51, 52, 100, 101, 102, 150, 151, 152, 199]


def test_long_episodes_are_thinned_to_about_forty_frames_per_doubling():
    steps = [t for t in range(1, 501) if drawn_step(t, ended=t == 500)]
    assert steps[:RECORDED_STEPS] == list(range(1, RECORDED_STEPS + 1))
    assert steps[-1] == 500 and 100 <= len(steps) <= 120
    gaps = np.diff(steps[:-1])  # (the step that ends the episode is always drawn)
    assert (gaps[:-1] <= gaps[1:]).all()  # the stride only grows
    assert len([t for t in range(1, 31) if drawn_step(t, False)]) == 30  # short: every step


def test_schedule_rejects_a_zero_stride():
    with pytest.raises(ValueError, match="at least 1"):
        ShowSchedule(0)


@pytest.mark.parametrize("colours", [3, 400])
def test_gif_frames_come_back_exact_up_to_256_colours(tmp_path, colours):
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, (colours, 3), dtype=np.uint8)
    frames = [palette[rng.integers(0, colours, (40, 60))] for _ in range(3)]
    image = palette_image(frames[0])
    assert image.mode == "P"
    back = np.asarray(image.convert("RGB"))
    if colours <= 256:
        np.testing.assert_array_equal(back, frames[0])
    else:  # too many: the nearest of 256 (close, not exact)
        assert np.abs(back.astype(int) - frames[0]).mean() < 24
    recorder = Recorder(tmp_path / "x.gif", fps=5)
    for frame in frames:
        recorder.add(frame)
    assert len(recorder) == 3 and sum(len(f) for f in recorder._frames) < 3 * frames[0].nbytes
    recorder.close()
    written = iio.imread(tmp_path / "x.gif", index=None)[..., :3]
    assert written.shape == (3, 40, 60, 3)
    if colours <= 256:
        np.testing.assert_array_equal(written, np.stack(frames))
