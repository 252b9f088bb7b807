"""A CNN's insides on a grid seen as pixels: what is drawn is the trace's saliency and maps."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.nets import trace_backbone
from lecture_rl.runners.cli import main
from lecture_rl.runners.insides import grid_context, pick_feature_maps, record_insides
from lecture_rl.runners.insides.cnn import cnn_columns, saliency_share
from lecture_rl.runners.insides.common import text_colour
from lecture_rl.runners.insides.figure import draw_insides, find_image

CHANNELS = (6, 8)  # conv1 has 6 channels


def grid_env(map_name: str = "lecture") -> gym.Env:
    return gym.make("LectureRL/GridWorld-v0", map_name=map_name, obs_mode="image")


def small(env: gym.Env, algo: str = "ppo", **kw):
    kw = {"num_envs": 4, **kw} if algo == "ppo" else {"num_envs": 4, "learning_starts": 64, **kw}
    return agents.make(
        algo, env, net="cnn", seed=0, hidden_size=16, net_kwargs={"channels": CHANNELS}, **kw
    )


def independent_trace(agent, ins):
    """The trace computed here, from the agent's own modules and the actions taken."""
    obs = agent.obs_tensor(ins.obs[:, None])
    return trace_backbone(
        agent.backbone, obs, head=agent._action_scores, actions=ins.actions[:, None],
        cells=ins.grid,
    )  # fmt: skip


def contrast(a, b) -> float:
    def lum(rgb):
        c = np.asarray(rgb, dtype=float)[:3]
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(c @ [0.2126, 0.7152, 0.0722])

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_cnn_figure_draws_the_traced_saliency_and_feature_maps(algo):
    from matplotlib.colors import to_rgba

    env = grid_env("maze")
    agent = small(env, algo)
    ins = record_insides(agent, env, episodes=1, seed=3, k=3)
    assert ins.grid == (7, 7) and ins.action_labels == list("↑→↓←")
    assert ins.score == ("logit" if algo == "ppo" else "Q")
    trace = independent_trace(agent, ins)
    fig = draw_insides(ins)
    columns = cnn_columns(ins)  # 7 x 7 cells of 0.3 inch: 5 pictures fit in a row
    assert columns[0] == 0 and columns[-1] == ins.steps - 1 and len(columns) == min(5, ins.steps)
    for t in columns:
        cells = trace["saliency_cells"][t, 0]
        drawn = np.asarray(find_image(fig, f"saliency-t{t}").get_array())
        np.testing.assert_allclose(drawn, 100 * cells / cells.sum(), atol=1e-4)
        np.testing.assert_allclose(drawn, saliency_share(ins, t))
        # the brightest cell drawn is the cell the traced saliency is largest on
        assert np.unravel_index(drawn.argmax(), drawn.shape) == np.unravel_index(
            cells.argmax(), cells.shape
        )
        image = find_image(fig, f"saliency-t{t}")
        texts = {
            (round(x.get_position()[1]), round(x.get_position()[0])): x for x in image.axes.texts
        }
        assert len(texts) == 49  # a number in every cell, readable on its colour
        for (r, c), text in texts.items():
            assert text.get_text() == f"{drawn[r, c]:.0f}"
            cell = image.cmap(image.norm(drawn[r, c]))
            assert contrast(to_rgba(text.get_color()), cell) >= 4.5
        np.testing.assert_array_equal(find_image(fig, f"input-t{t}").get_array(), ins.obs[t])
        for k in ins.units:  # the picked channels' maps at conv1's resolution
            fmap = find_image(fig, f"conv1-ch{k}-t{t}").get_array()
            np.testing.assert_allclose(fmap, trace["conv1"][t, 0, k], atol=1e-6)
    # the picked maps are conv1's 3 highest-variance channels out of its 6
    variance = trace["conv1"][:, 0].transpose(1, 0, 2, 3).reshape(CHANNELS[0], -1).var(1)
    assert list(ins.units) == list(np.argsort(-variance)[:3])
    assert not any(find_image(fig, f"conv1-ch{k}-t0") for k in set(range(6)) - set(ins.units))
    policy = find_image(fig, "policy").get_array()
    np.testing.assert_allclose(policy.sum(0), 1.0, atol=1e-5)


def test_pick_feature_maps_by_variance_over_steps_and_positions():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(5, 4, 3, 3)) * np.array([1.0, 3.0, 0.5, 2.0])[None, :, None, None]
    maps[:, 0] = 7.0  # strongly active but constant: says nothing
    channels, scores, how = pick_feature_maps(maps, 2)
    assert channels.tolist() == [1, 3] and how == "variance over steps and positions"
    assert scores[0] > scores[1] > 0


def test_text_colour_always_reaches_4_5_to_1():
    for rgb in np.random.default_rng(1).uniform(size=(500, 3)):
        colour = (0, 0, 0) if text_colour(rgb) == "black" else (1, 1, 1)
        assert contrast(colour, rgb) >= 4.5


def test_grid_context_only_for_grids_seen_as_pixels():
    assert grid_context(grid_env("cliff")) == ((4, 12), list("↑→↓←"))
    cells, arrows = grid_context(gym.make("LectureRL/GridWorld-v0"))  # index observations
    assert cells is None and arrows == list("↑→↓←")
    assert grid_context(gym.make("LectureRL/Parity-v0")) == (None, [])


def test_live_tap_traces_the_steps_env_zero_took():
    from lecture_rl.runners.viewer.insides_panel import InsidesTap

    env = grid_env()
    agent = small(env)
    tap = InsidesTap()
    agent.train(env, steps=4 * 30, callbacks=[tap])
    grid, labels = grid_context(env)
    ins = tap.insides(agent, grid, labels)
    assert ins is not None and ins.episode_starts[0] and ins.grid == (3, 3)
    trace = independent_trace(agent, ins)
    # the saliency is of the actions the events carried, under the agent's weights
    np.testing.assert_array_equal(ins.trace["saliency_action"], ins.actions)
    np.testing.assert_allclose(ins.saliency(), trace["saliency_cells"][:, 0], rtol=1e-5)
    fig = draw_insides(ins, latest=True)
    last = ins.steps - 1
    assert find_image(fig, f"saliency-t{last}") is not None  # the live strip ends at now
    assert cnn_columns(ins, latest=True) == list(range(max(0, ins.steps - 4), ins.steps))


def test_inspect_and_watch_a_cnn_checkpoint_without_running_code(
    tmp_path, no_unpickling, watch_recording
):
    env = grid_env()
    agent = small(env)
    agent.train(env, steps=256)
    agent.save(tmp_path / "ck")

    out = io.StringIO()
    path = tmp_path / "fig.png"
    code = main(["inspect", "--checkpoint", str(tmp_path / "ck"), "--out", str(path)], out=out)
    assert code == 0, out.getvalue()
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert "feature maps by variance over steps and positions: conv1 ch" in out.getvalue()
    watch_recording("--checkpoint", str(tmp_path / "ck"), "--episodes", "1", "--max-frames", "2")


def test_watch_shows_a_deep_agent_on_pixels_its_insides_live(watch_recording):
    printed = watch_recording("--env", "LectureRL/GridWorld-v0", "--env-set", "obs_mode=image",
                              "--agent", "ppo", "--set", "net=cnn", "--set", "num_envs=4",
                              "--set", "hidden_size=16", "--set", 'net_kwargs={"channels": [4, 8]}',
                              "--max-frames", "2", fps="20")  # fmt: skip
    assert "watching the insides of ppo + cnn" in printed
