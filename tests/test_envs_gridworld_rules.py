"""GridWorld: maps, the transition model P, the lecture's worked example, observation modes,
pixels, the batched env's equivalence, and SB3 learning the lecture map."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

import lecture_rl.envs  # noqa: F401
from lecture_rl.envs import rendering
from lecture_rl.envs.grid_layout import frame_cell_size
from lecture_rl.envs.grid_maps import MapFormatError, UnknownMapError, load_map, parse_map

UP, RIGHT, DOWN, LEFT = range(4)


def grid(**kw) -> gym.Env:
    return gym.make("LectureRL/GridWorld-v0", **kw)


# ----------------------------------------------------------------------------- maps


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\ngrid:\nS.G\n..\n", 4, "ragged"),
        ("grid:\nS.X\n", 2, "unknown character 'X'"),
        ("goal_reward: abc\ngrid:\nSG\n", 1, "must be a number"),
    ],
)
def test_malformed_map_names_the_file_line_and_problem(text, line, words):
    with pytest.raises(MapFormatError, match=rf"bad\.txt, line {line}: .*{words}"):
        parse_map(text, "bad.txt")


def test_map_without_start_or_goal_and_unknown_map_are_errors(tmp_path):
    with pytest.raises(MapFormatError, match="no start"):
        parse_map("grid:\n..G\n", "m.txt")
    with pytest.raises(MapFormatError, match="no goal"):
        parse_map("grid:\nS..\n", "m.txt")
    with pytest.raises(UnknownMapError, match="lecture"):  # lists the shipped maps
        load_map("atlantis")
    path = tmp_path / "tiny.txt"
    path.write_text("goal_reward: 3\nstep_reward: -1\ngrid:\nS.G\n")
    env = grid(map_name=str(path))
    env.reset(seed=0)
    env.step(RIGHT)
    _, reward, terminated, _, _ = env.step(RIGHT)
    assert (reward, terminated) == (3.0, True)


def test_lecture_map_layout_matches_the_notes():
    u = grid().unwrapped
    assert (u.nrow, u.ncol, u.nS, u.nA) == (3, 3, 9, 4)
    assert u.coords_of(u.start_state) == (2, 1)
    assert {u.coords_of(s) for s in u.terminal_states} == {(1, 3), (3, 3)}
    assert u.state_of(3, 2) == 7 and u.coords_of(7) == (3, 2)
    # (3,2) can only go up or right: down leaves the grid, left is the wall at (3,1)
    assert u.action_mask(u.state_of(3, 2)).tolist() == [1, 1, 0, 0]
    assert u.P[u.state_of(3, 2)][RIGHT] == [(1.0, u.state_of(3, 3), -10.0, True)]
    assert u.P[u.state_of(2, 3)][UP] == [(1.0, u.state_of(1, 3), 10.0, True)]


# ------------------------------------------------------------------------ transition model


@pytest.mark.parametrize("map_name", ["lecture", "cliff", "maze"])
@pytest.mark.parametrize("slip", [0.0, 0.3])
def test_P_is_a_distribution_masked_moves_stay_terminals_absorb(map_name, slip):
    u = grid(map_name=map_name, slip=slip).unwrapped
    for s in range(u.nS):
        mask = u.action_mask(s)
        for a in range(u.nA):
            outcomes = u.P[s][a]
            assert sum(p for p, *_ in outcomes) == pytest.approx(1.0)
            if s in u.terminal_states:
                assert outcomes == [(1.0, s, 0.0, True)]
            elif slip == 0 and not mask[a]:
                assert [(p, n, t) for p, n, _, t in outcomes] == [(1.0, s, False)]


def test_slip_spreads_probability_over_directions():
    u = grid(slip=0.4).unwrapped
    s = u.state_of(2, 2)  # every move available
    probs = {n: p for p, n, _, _ in u.P[s][UP]}
    assert probs[u.state_of(1, 2)] == pytest.approx(0.6 + 0.1)
    for row, col in ((2, 3), (3, 2), (2, 1)):
        assert probs[u.state_of(row, col)] == pytest.approx(0.1)


def test_slip_frequencies_follow_P():
    env = grid(slip=0.5).unwrapped
    s = env.state_of(2, 2)
    counts: dict[int, int] = {}
    env.reset(seed=0)
    for _ in range(4000):
        env.reset(options={"start": (2, 2)})
        _, _, _, _, info = env.step(UP)
        counts[info["state"]] = counts.get(info["state"], 0) + 1
    for p, n, _, _ in env.P[s][UP]:
        assert counts[n] / 4000 == pytest.approx(p, abs=0.03)


def test_cliff_sends_the_agent_back_to_start_with_minus_100():
    env = grid(map_name="cliff")
    env.reset(seed=0)
    u = env.unwrapped
    obs, reward, terminated, _, _ = env.step(RIGHT)  # from (4,1) into the cliff at (4,2)
    assert (reward, terminated, obs) == (-100.0, False, u.start_state)
    # the optimal path along the edge: up, 11 x right, down = 13 steps, return -13
    total = 0.0
    for a in [UP] + [RIGHT] * 11 + [DOWN]:
        _, reward, terminated, _, _ = env.step(a)
        total += reward
    assert terminated and total == -13.0


def test_truncation_at_max_steps():
    env = grid(max_steps=5)
    env.reset(seed=0)
    flags = [env.step(UP)[2:4] for _ in range(5)]  # bump into the top edge... or move up
    assert flags[-1] == (False, True)
    assert all(f == (False, False) for f in flags[:-1])


# ------------------------------------------------------------------ the lecture example


def test_notes_episode_changes_only_q_32_right_to_minus_5_and_the_greedy_choice():
    """notes 000 §7.f: α=0.5, γ=0.7, (2,1)→(2,2)→(3,2)→(3,3) from an all-zero table."""
    env = grid()
    u = env.unwrapped
    q = np.zeros((u.nS, u.nA))

    def greedy(s: int) -> set[int]:
        mask = u.action_mask(s).astype(bool)
        best = q[s][mask].max()
        return {a for a in range(u.nA) if mask[a] and q[s, a] == best}

    before = {s: greedy(s) for s in range(u.nS) if s not in u.terminal_states}
    s, info = env.reset(seed=0)
    for a in (RIGHT, DOWN, RIGHT):
        s_next, r, terminated, _, info = env.step(a)
        mask = info["action_mask"].astype(bool)
        q_next = 0.0 if terminated else q[s_next][mask].max()
        q[s, a] += 0.5 * (r + 0.7 * q_next - q[s, a])  # notes 000 §7.e
        s = s_next
    assert terminated and u.coords_of(s) == (3, 3)
    changed = np.argwhere(q != 0)
    assert changed.tolist() == [[u.state_of(3, 2), RIGHT]]
    assert q[u.state_of(3, 2), RIGHT] == -5.0
    after = {s: greedy(s) for s in before}
    assert before[u.state_of(3, 2)] == {UP, RIGHT} and after[u.state_of(3, 2)] == {UP}
    assert {s for s in before if before[s] != after[s]} == {u.state_of(3, 2)}


# ---------------------------------------------------------------- observations and pixels


def test_observation_modes_describe_the_same_state():
    envs = {mode: grid(map_name="maze", obs_mode=mode) for mode in ("index", "onehot", "coords")}
    image_env = grid(map_name="maze", obs_mode="image")
    obs = {mode: env.reset(seed=0)[0] for mode, env in envs.items()}
    first_image, _ = image_env.reset(seed=0)
    for a in (RIGHT, RIGHT, DOWN, LEFT):
        obs = {mode: env.step(a)[0] for mode, env in envs.items()}
        image = image_env.step(a)[0]
    u = envs["index"].unwrapped
    s = int(obs["index"])
    assert obs["onehot"].argmax() == s and obs["onehot"].sum() == 1
    assert tuple(obs["coords"].astype(int)) == u.coords_of(s)
    assert image.dtype == np.uint8 and min(image.shape[:2]) >= 36
    assert not np.array_equal(image, first_image)  # the agent's position shows


def _cell_centre(u, row: int, col: int) -> tuple[int, int]:
    px = frame_cell_size(u.nrow, u.ncol)
    left, top = 44, 40
    return int(top + (row - 0.5) * px), int(left + (col - 0.5) * px)


def test_rgb_frame_shows_agent_wall_goal_and_pit():
    env = grid(render_mode="rgb_array")
    env.reset(seed=0)
    u = env.unwrapped
    frame = env.render()

    def colour_at(row, col):
        y, x = _cell_centre(u, row, col)
        return tuple(int(v) for v in frame[y, x])

    assert colour_at(2, 1) == rendering.AGENT
    assert colour_at(3, 1) == rendering.WALL
    assert colour_at(1, 3) == rendering.GOAL
    assert colour_at(3, 3) == rendering.PIT
    env.step(RIGHT)
    frame = env.render()
    assert colour_at(2, 2) == rendering.AGENT and colour_at(2, 1) != rendering.AGENT


def test_overlay_paints_values_and_clearing_restores_the_frame():
    env = grid(render_mode="rgb_array")
    env.reset(seed=0)
    u = env.unwrapped
    plain = env.render()
    values = np.linspace(-5, 5, u.nS)
    q = np.zeros((u.nS, u.nA))
    q[:, RIGHT] = 1.0
    u.set_overlay(values=values, q=q)
    painted = env.render()
    y, x = _cell_centre(u, 1, 1)
    assert not np.array_equal(
        painted[y - 30 : y + 30, x - 30 : x + 30], plain[y - 30 : y + 30, x - 30 : x + 30]
    )
    u.clear_overlay()
    assert np.array_equal(env.render(), plain)
    with pytest.raises((ValueError, gym.error.Error)):
        u.set_overlay(values=np.zeros(u.nS + 1))


# -------------------------------------------------------------- batched env equivalence


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("obs_mode", ["index", "onehot", "coords", "image"])
def test_native_batch_matches_single_envs_on_the_same_actions(mode, obs_mode):
    n, steps = 5, 60
    kw = {"map_name": "maze", "obs_mode": obs_mode, "max_steps": 20}
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=(steps, n))
    batch = gym.make_vec(
        "LectureRL/GridWorld-v0",
        num_envs=n,
        vectorization_mode="vector_entry_point",
        autoreset_mode=mode,
        **kw,
    )
    singles = [gym.make("LectureRL/GridWorld-v0", **kw) for _ in range(n)]
    b_obs, b_info = batch.reset(seed=0)
    s_obs = [env.reset(seed=0)[0] for env in singles]
    assert np.array_equal(b_obs, np.stack(s_obs))
    needs_reset = [False] * n
    for t in range(steps):
        b_obs, b_rew, b_term, b_trunc, b_info = batch.step(actions[t])
        for i, env in enumerate(singles):
            if needs_reset[i]:  # NEXT_STEP: this step only resets copy i
                obs, info = env.reset()
                assert np.array_equal(b_obs[i], obs) and b_rew[i] == 0 and not b_term[i]
                needs_reset[i] = False
                continue
            obs, rew, term, trunc, info = env.step(int(actions[t, i]))
            assert (b_rew[i], b_term[i], b_trunc[i]) == (rew, term, trunc)
            assert np.array_equal(b_info["action_mask"][i], info["action_mask"]) or term or trunc
            if term or trunc:
                if mode == AutoresetMode.SAME_STEP:
                    assert np.array_equal(b_info["final_obs"][i], obs)
                    obs, _ = env.reset()
                else:
                    needs_reset[i] = True
            assert np.array_equal(b_obs[i], obs)
    batch.close()


# ------------------------------------------------------------------ random episodes


@settings(max_examples=25, deadline=None)
@given(
    map_name=st.sampled_from(["lecture", "cliff", "maze"]),
    slip=st.sampled_from([0.0, 0.25]),
    seed=st.integers(0, 10_000),
    actions=st.lists(st.integers(0, 3), min_size=1, max_size=60),
)
def test_random_episodes_keep_the_invariants(map_name, slip, seed, actions):
    env = grid(map_name=map_name, slip=slip, max_steps=40)
    u = env.unwrapped
    rewards = {r for s in u.P for a in u.P[s] for _, _, r, _ in u.P[s][a]}
    obs, info = env.reset(seed=seed)
    length = 0
    for a in actions:
        s = int(obs)
        assert info["action_mask"].tolist() == u.action_mask(s).tolist()
        obs, reward, terminated, truncated, info = env.step(a)
        length += 1
        assert env.observation_space.contains(obs)
        assert reward in rewards
        assert any(n == int(obs) and r == reward for _, n, r, _ in u.P[s][a])  # P allows it
        if terminated or truncated:
            assert length <= 40
            obs, info = env.reset()
            length = 0


# ----------------------------------------------------------------- SB3 out of the box


def test_sb3_ppo_with_default_settings_learns_the_lecture_map():
    from stable_baselines3 import PPO

    env = grid()
    model = PPO("MlpPolicy", env, seed=0, device="cpu")
    model.learn(6_000)
    obs, _ = env.reset(seed=1)
    total, done = 0.0, False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(int(action))
        total += reward
        done = terminated or truncated
    assert total == 10.0


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("LectureRL/GridWorld-v0", {"slip": 2.0}),
        ("LectureRL/GridWorld-v0", {"obs_mode": "pixels"}),
        ("LectureRL/Parity-v0", {"length": 0}),
        ("LectureRL/Copy-v0", {"reverse": "yes"}),
    ],
)
def test_every_env_raises_the_same_error_type_for_a_bad_keyword(env_id, kwargs):
    from lecture_rl.envs.base import EnvArgumentError

    with pytest.raises(EnvArgumentError):
        gym.make(env_id, **kwargs)
    with pytest.raises(EnvArgumentError):
        gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kwargs)
