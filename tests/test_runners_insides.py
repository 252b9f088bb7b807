"""The insides views draw exactly trace_backbone's numbers; inspect loads without running code."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
import torch

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.nets import trace_backbone
from lecture_rl.runners.cli import main
from lecture_rl.runners.insides import correlation_ratio, pick_units, record_insides
from lecture_rl.runners.insides.common import tape_symbols
from lecture_rl.runners.insides.figure import draw_insides, find_image


def small(net: str, env: gym.Env, **kw):
    return agents.make("ppo", env, net=net, seed=0, hidden_size=16, num_envs=8, **kw)


def independent_trace(agent, ins):
    obs = agent.obs_tensor(ins.obs[:, None])
    return trace_backbone(agent.backbone, obs, torch.as_tensor(ins.episode_starts[:, None]))


def test_hidden_recorded_is_the_running_parity():
    env = gym.make("LectureRL/Parity-v0", length=8)
    ins = record_insides(small("lstm", env), env, episodes=2)
    episode = np.cumsum(ins.episode_starts)
    for e in (1, 2):
        bits = ins.obs[episode == e]
        np.testing.assert_array_equal(ins.hidden[episode == e], np.bitwise_xor.accumulate(bits))


@pytest.mark.parametrize(
    ("net", "by", "signals"),
    [
        ("lstm", "cell", ("cell", "forget_gate", "input_gate", "candidate", "output_gate")),
        ("gru", "hidden", ("hidden", "update_gate", "reset_gate", "candidate")),
        ("rnn", "hidden", ("hidden",)),
    ],
)
def test_recurrent_panel_highlights_the_unit_most_correlated_with_parity(net, by, signals):
    env = gym.make("LectureRL/Parity-v0", length=16)
    agent = small(net, env)
    ins = record_insides(agent, env, episodes=4, k=3)
    trace = independent_trace(agent, ins)
    values = trace[by][:, 0, -1]  # [T, H], last layer
    r = np.array([abs(np.corrcoef(values[:, j], ins.hidden)[0, 1]) for j in range(16)])
    assert ins.units[0] == int(np.nanargmax(r))  # the highlighted unit
    np.testing.assert_allclose(ins.unit_scores[0], np.nanmax(r), atol=1e-6)
    assert ins.picked_by == "correlation with info['hidden']"
    fig = draw_insides(ins)
    for unit in ins.units:
        for name in signals:  # every strip shows the traced numbers of that unit
            image = find_image(fig, f"{net}-unit-{unit}-{name}")
            assert image is not None, (unit, name)
            np.testing.assert_allclose(image.get_array()[0], trace[name][:, 0, -1, unit], 1e-6)
    policy = find_image(fig, "policy").get_array()  # [nA, T]: π(a|s) per step
    np.testing.assert_allclose(policy.sum(0), 1.0, atol=1e-5)


def test_units_by_variance_without_a_hidden_variable():
    signal = np.random.default_rng(0).normal(size=(50, 6)) * np.arange(1, 7)
    units, _, how = pick_units(signal, None, 2)
    assert how == "variance" and units.tolist() == [5, 4]


def test_correlation_ratio_is_abs_pearson_for_two_classes():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    values = labels[:, None] * 0.7 + rng.normal(size=(200, 3))
    expected = [abs(np.corrcoef(values[:, j], labels)[0, 1]) for j in range(3)]
    np.testing.assert_allclose(correlation_ratio(values, labels), expected, atol=1e-9)


def test_transformer_attention_rows_sum_to_one_over_the_right_tape_cells():
    env = gym.make("LectureRL/Copy-v0", length=3, symbols=4)
    agent = small("transformer", env, net_kwargs={"num_heads": 2, "num_layers": 2})
    ins = record_insides(agent, env, episodes=2)
    trace = independent_trace(agent, ins)
    fig = draw_insides(ins)
    first = int(np.flatnonzero(ins.episode_starts)[1])  # the second episode's first step
    for layer in range(2):
        for head in range(2):
            image = find_image(fig, f"attention-l{layer}-h{head}")
            drawn = np.ma.filled(image.get_array(), np.nan)
            np.testing.assert_allclose(np.nansum(drawn, axis=1), 1.0, atol=1e-5)
            expected = trace["attention"][layer, 0, head]
            causal = np.tril(np.ones_like(expected, dtype=bool))
            np.testing.assert_allclose(drawn[causal], expected[causal], atol=1e-6)
            # a step of the second episode gives no weight to the first episode's cells
            assert np.allclose(drawn[first:, :first], 0.0)
            labels = [t.get_text() for t in image.axes.get_xticklabels()]
            assert ins.tape[3] == "GO"  # length 3, no delay: the go marker at step 3
            assert labels == tape_symbols(ins) == ins.tape  # columns are the tape cells, in order


def test_inspect_writes_a_figure_from_a_checkpoint_without_running_code(tmp_path, no_unpickling):
    env = gym.make("LectureRL/Parity-v0", length=6)
    agent = small("lstm", env)
    agent.train(env, steps=512)
    agent.save(tmp_path / "ck")

    out = io.StringIO()
    path = tmp_path / "fig.png"
    code = main(["inspect", "--checkpoint", str(tmp_path / "ck"), "--out", str(path),
                 "--episodes", "2"], out=out)  # fmt: skip
    assert code == 0, out.getvalue()
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert "units by correlation" in out.getvalue()


def test_inspect_misuse_is_one_line_and_exit_2(tmp_path):
    out = io.StringIO()
    code = main(["inspect", "--checkpoint", str(tmp_path / "none"), "--out", "x.png"], out=out)
    assert code == 2


# ---------------------------------------------------------------- the live panel and watch


def test_tap_keeps_env_zero_episode_with_its_hidden_variable():
    from lecture_rl.runners.viewer.insides_panel import InsidesTap

    env = gym.make("LectureRL/Parity-v0", length=6)
    agent = small("lstm", env)
    tap = InsidesTap()
    agent.train(env, steps=8 * 40, callbacks=[tap])
    ins = tap.insides(agent)
    assert ins is not None and 1 <= ins.steps <= 6 and ins.episode_starts[0]
    # the hidden variable the events carried is the running parity of the bits env 0 showed
    np.testing.assert_array_equal(ins.hidden, np.bitwise_xor.accumulate(ins.obs))
    trace = independent_trace(agent, ins)
    np.testing.assert_allclose(ins.signal("cell"), trace["cell"][:, 0, -1], atol=1e-6)


def test_watch_shows_a_checkpoints_insides_headless(tmp_path, watch_recording):
    env = gym.make("LectureRL/Copy-v0", length=2, symbols=2)
    agent = small("transformer", env, net_kwargs={"num_heads": 2, "num_layers": 1})
    agent.train(env, steps=256)
    agent.save(tmp_path / "ck")
    watch_recording("--checkpoint", str(tmp_path / "ck"), "--episodes", "1", "--max-frames", "3")


def test_watch_draws_the_insides_live_while_learning(watch_recording):
    watch_recording("--env", "LectureRL/Parity-v0", "--env-set", "length=4",
                    "--agent", "ppo", "--set", "net=gru", "--set", "num_envs=8",
                    "--set", "hidden_size=16", "--max-frames", "2", fps="20")  # fmt: skip


@pytest.mark.parametrize("net", ["lstm", "transformer", "mlp", "cnn"])
def test_value_line_has_its_own_row_under_the_policy_numbers(net):
    """V(s) is drawn in its own axes below the π strip, so the line never crosses a number
    (the CNN figure drew it over the strip until the figures were looked at again)."""
    env = gym.make("LectureRL/Copy-v0", length=3)
    if net == "cnn":
        env = gym.make("LectureRL/GridWorld-v0", map_name="maze", obs_mode="image")
    agent = small(net, env) if net != "transformer" else agents.make("ppo", env, net=net, seed=0)
    ins = record_insides(agent, env, episodes=1)
    fig = draw_insides(ins)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # lay out, so the axes' boxes are final
    policy_ax = find_image(fig, "policy").axes
    (line,) = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "value"]
    np.testing.assert_allclose(line.get_ydata(), ins.values, atol=1e-6)
    assert line.axes is not policy_ax and line.axes.bbox.y1 <= policy_ax.bbox.y0  # below it
    assert not any(ln.get_gid() == "value" for ln in policy_ax.get_lines())
    numbers = [t for t in policy_ax.texts if t.get_text()]
    # every π(a|s) is printed, in the strip's own axes (none past 40 steps: too small to read;
    # the untrained CNN wanders its 100 steps)
    assert len(numbers) == (ins.probs.size if ins.steps <= 40 else 0)
