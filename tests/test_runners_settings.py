"""Runner building blocks: `--set` parsing, config files, smoothing, CIs, thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lecture_rl.runners.compare import episodes_to_threshold, threshold_window
from lecture_rl.runners.plots import mean_band, smooth
from lecture_rl.runners.settings import (
    UsageError,
    load_config,
    parse_assignments,
    safe_name,
    split_agent_overrides,
)


def test_set_values_parse_as_json_where_they_can():
    parsed = parse_assignments(
        [
            "gamma=0.7",
            "net=lstm",
            'name="x=y"',
            "sizes=[64, 64]",
            "double=true",
            "flag=False",
            "steps=1e3",
            "empty=",
        ]
    )
    assert parsed == {
        "gamma": 0.7,
        "net": "lstm",
        "name": "x=y",
        "sizes": [64, 64],
        "double": True,
        "flag": False,
        "steps": 1000.0,
        "empty": "",
    }
    assert isinstance(parse_assignments(["episodes=5"])["episodes"], int)


@pytest.mark.parametrize("item", ["alpha", "=3", " =3"])
def test_malformed_assignments_name_the_fix(item):
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_assignments([item], "--env-set")


def test_per_agent_overrides_split_by_agent_name():
    common, per_agent = split_agent_overrides(
        {"gamma": 0.9, "ppo.lr": 1e-3, "sb3:PPO.learning_rate": 3e-4}, ["ppo", "sb3:PPO"]
    )
    assert common == {"gamma": 0.9}
    assert per_agent == {"ppo": {"lr": 1e-3}, "sb3:PPO": {"learning_rate": 3e-4}}
    with pytest.raises(UsageError, match="'dqn' is not one of the agents"):
        split_agent_overrides({"dqn.lr": 1}, ["ppo"])


def test_config_files_json_toml_and_errors(tmp_path):
    (tmp_path / "c.json").write_text('{"env": "CliffWalking-v1", "seeds": 3}')
    (tmp_path / "c.toml").write_text('env = "CliffWalking-v1"\nseeds = 3\n')
    assert load_config(tmp_path / "c.json") == load_config(tmp_path / "c.toml")
    (tmp_path / "bad.json").write_text("{env: ")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_config(tmp_path / "bad.json")
    with pytest.raises(UsageError, match="does not exist"):
        load_config(tmp_path / "missing.json")


def test_safe_name_keeps_runs_folders_flat():
    assert safe_name("LectureRL/Parity-v0-sb3:PPO-0") == "LectureRL_Parity-v0-sb3_PPO-0"


def test_smooth_is_a_trailing_moving_average():
    values = np.array([4.0, 0.0, 2.0, 6.0, 1.0])
    expected = [np.mean(values[max(0, i - 2) : i + 1]) for i in range(values.size)]
    assert np.allclose(smooth(values, 3), expected)
    assert np.allclose(smooth(values, 1), values)


def test_mean_band_is_the_student_t_interval_per_column():
    rows = np.array([[1.0, 2.0, np.nan], [3.0, 2.0, 5.0], [5.0, 8.0, np.nan]])
    mean, low, high = mean_band(rows)
    assert np.allclose(mean, [3.0, 4.0, 5.0])
    half = stats.t.ppf(0.975, 2) * np.std([1.0, 3.0, 5.0], ddof=1) / np.sqrt(3)
    assert np.isclose(high[0] - mean[0], half) and np.isclose(mean[0] - low[0], half)
    assert low[2] == high[2] == 5.0  # one seed: no band


def test_episodes_to_threshold_uses_the_moving_average():
    returns = [0.0] * 20 + [1.0] * 80
    records = [{"return": r, "env_steps": 10 * (i + 1)} for i, r in enumerate(returns)]
    window = threshold_window(len(records))
    assert window == 5
    # the average over the last 5 episodes first reaches 1.0 at episode 25 (1-based)
    assert episodes_to_threshold(records, 1.0) == (25, 250)
    assert episodes_to_threshold(records, 0.2) == (21, 210)
    assert episodes_to_threshold(records, 2.0) == (None, None)
    assert episodes_to_threshold(records, None) == (None, None)


def test_t_975_is_students_quantile_and_the_ci_uses_it():
    from lecture_rl.agents.stats import mean_ci95, t_975

    degrees = np.arange(1, 120)
    assert np.allclose(t_975(degrees), stats.t.ppf(0.975, degrees), rtol=1e-10, atol=0)
    assert abs(float(t_975(1)) - 12.7062) < 1e-4  # the textbook table's first row
    mean, std, (low, high) = mean_ci95([2.0, 4.0, 9.0])
    assert np.isclose(high - mean, stats.t.ppf(0.975, 2) * std / np.sqrt(3))
    assert np.isclose(mean - low, high - mean)
