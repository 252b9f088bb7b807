"""Tabular agents: each update rule by hand, learning claims (S&B Example 6.6, TD(0) → v_π),
masks, seeding, checkpoints and clear errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents import HyperparameterError
from lecture_rl.agents.dynamic_programming import policy_evaluation, uniform_policy
from lecture_rl.agents.tabular import UnsupportedSpaceError, Update, availability

TABLE_AGENTS = ["q_learning", "sarsa", "expected_sarsa", "double_q"]


class ChainEnv(gym.Env):
    """Two states; one step from state 0 to state 1 with reward 1, then the episode ends by
    `terminated` or `truncated` as asked. Used to check what bootstraps."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, end: str = "terminated"):
        self.end = end

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 1, 1.0, self.end == "terminated", self.end == "truncated", {}


class MaskChecker(gym.Wrapper):
    """Fails the test if an action outside the last `info["action_mask"]` is taken."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.mask = info["action_mask"]
        return obs, info

    def step(self, action):
        assert self.mask[action] == 1, f"masked action {action} taken"
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.mask = info["action_mask"]
        self.steps = getattr(self, "steps", 0) + 1
        return obs, reward, terminated, truncated, info


@pytest.fixture
def lecture_env():
    env = gym.make("LectureRL/GridWorld-v0", map_name="lecture")
    yield env
    env.close()


# ----- each update rule against a hand-computed transition ----------------------------------


def _hooked(agent):
    seen: list[Update] = []
    agent.add_update_hook(seen.append)
    return seen


def test_q_learning_update_by_hand(lecture_env):
    agent = agents.make("q_learning", lecture_env, alpha=0.5, gamma=0.9)
    agent.q[4] = [1.0, 3.0, 2.0, -1.0]
    agent.q[3, 1] = 0.5
    seen = _hooked(agent)
    # action 1 (value 3) is masked in s' = 4, so the bootstrap max is 2
    agent.learn(3, 1, 1.0, 4, False, next_mask=np.array([1, 0, 1, 1], np.int8))
    # target = 1 + 0.9·2 = 2.8, δ = 2.8 − 0.5 = 2.3, Q = 0.5 + 0.5·2.3 = 1.65
    assert agent.q[3, 1] == pytest.approx(1.65)
    (u,) = seen
    assert (u.s, u.a, u.r, u.s_next) == (3, 1, 1.0, 4)
    assert u.target == pytest.approx(2.8)
    assert u.td_error == pytest.approx(2.3)
    assert u.new_value == pytest.approx(1.65)
    # without a mask the max is 3: target 3.7, Q = 1.65 + 0.5·(3.7 − 1.65)
    agent.learn(3, 1, 1.0, 4, False)
    assert agent.q[3, 1] == pytest.approx(1.65 + 0.5 * (3.7 - 1.65))


def test_terminal_bootstraps_zero_and_truncation_bootstraps(lecture_env):
    for end, expected in (("terminated", 0.5 * 1.0), ("truncated", 0.5 * (1.0 + 0.9 * 4.0))):
        env = ChainEnv(end)
        for name in ("q_learning", "sarsa", "expected_sarsa"):
            agent = agents.make(name, env, alpha=0.5, gamma=0.9, epsilon=0.0, seed=0)
            agent.q[1] = [4.0, 4.0]
            agent.train(env, episodes=1)
            assert agent.q[0].max() == pytest.approx(expected), (name, end)


def test_sarsa_update_uses_the_next_action_taken(lecture_env):
    agent = agents.make("sarsa", lecture_env, alpha=0.5, gamma=0.9)
    agent.q[4] = [1.0, 3.0, 2.0, -1.0]
    seen = _hooked(agent)
    agent.learn(3, 1, 1.0, 4, False, a_next=3)  # a' = left, Q(s', a') = −1
    # target = 1 + 0.9·(−1) = 0.1, δ = 0.1, Q = 0.05
    assert agent.q[3, 1] == pytest.approx(0.05)
    assert seen[0].a_next == 3 and seen[0].target == pytest.approx(0.1)
    with pytest.raises(ValueError, match="a_next"):
        agent.learn(3, 1, 1.0, 4, False)


def test_expected_sarsa_update_by_hand(lecture_env):
    agent = agents.make("expected_sarsa", lecture_env, alpha=0.5, gamma=1.0, epsilon=0.2)
    agent.q[4] = [1.0, 9.0, 2.0, -1.0]
    agent.learn(3, 1, 0.0, 4, False, next_mask=np.array([1, 0, 1, 1], np.int8))
    # available {1, 2, −1}: E = 0.2·mean + 0.8·max = 0.2·(2/3) + 0.8·2 = 1.7333
    assert agent.q[3, 1] == pytest.approx(0.5 * (0.2 * 2 / 3 + 0.8 * 2))


def test_double_q_updates_one_table_valued_by_the_other(lecture_env):
    agent = agents.make("double_q", lecture_env, alpha=0.5, gamma=1.0, seed=3)
    agent.q1[4] = [0.0, 5.0, 1.0, 0.0]  # Q1 prefers action 1 in s'
    agent.q2[4] = [0.0, 2.0, 7.0, 0.0]  # Q2 prefers action 2 in s'
    agent._sum = agent.q1 + agent.q2
    seen = _hooked(agent)
    tables = set()
    for _ in range(20):
        agent.q1[3, 0] = agent.q2[3, 0] = 0.0
        agent._sum[3, 0] = 0.0
        agent.learn(3, 0, 0.0, 4, False)
        u = seen[-1]
        tables.add(u.table)
        # Q1 is updated with Q2(s', argmax Q1) = Q2(s', 1) = 2; Q2 with Q1(s', argmax Q2) = 1
        assert u.target == pytest.approx(2.0 if u.table == "q1" else 1.0)
        updated, other = (agent.q1, agent.q2) if u.table == "q1" else (agent.q2, agent.q1)
        assert updated[3, 0] == pytest.approx(0.5 * u.target) and other[3, 0] == 0.0
        assert agent.q[3, 0] == pytest.approx(0.25 * u.target)
    assert tables == {"q1", "q2"}


def test_td0_update_by_hand(lecture_env):
    agent = agents.make("td0", lecture_env, alpha=0.5, gamma=0.5)
    agent.v[3], agent.v[4] = 1.0, 2.0
    seen = _hooked(agent)
    agent.learn(3, 1, 1.0, 4, False)  # V(S) ← V(S) + α[R + γV(S') − V(S)] = 1 + 0.5·(2 − 1)
    assert agent.v[3] == pytest.approx(1.5)
    assert seen[0].table == "v" and seen[0].td_error == pytest.approx(1.0)
    agent.learn(4, 1, -10.0, 8, True)  # terminal S': V(S) ← 2 + 0.5·(−10 − 2)
    assert agent.v[4] == pytest.approx(-4.0)


# ----- learning claims ----------------------------------------------------------------------


def test_td0_converges_to_the_dp_value_of_the_uniform_random_policy(lecture_env):
    u = lecture_env.unwrapped
    gamma = 0.7
    policy = uniform_policy(u.nS, u.nA, availability(lecture_env, u.nS, u.nA))
    v_true = policy_evaluation(u.P, u.nS, u.nA, policy, gamma)
    # α_n = 2 / (1 + n(s)): averaging-like steps that forget the arbitrary start (notes 002 §5.6)
    agent = agents.make(
        "td0", lecture_env, alpha=1.0, alpha_power=1.0, alpha_delay=2.0, gamma=gamma, seed=0
    )
    agent.train(lecture_env, episodes=60_000)
    states = [s for s in range(u.nS) if s not in u.terminal_states and u.desc.flat[s] != "#"]
    rms = float(np.sqrt(np.mean((agent.v[states] - v_true[states]) ** 2)))
    assert rms < 0.05, rms
    assert agent.v[sorted(u.terminal_states)].tolist() == [0.0, 0.0]  # V(terminal) = 0


def _cliff_greedy_path(agent, env):
    obs, info = env.reset(seed=0)
    cells, total = [obs], 0.0
    for _ in range(100):
        obs, reward, terminated, _, info = env.step(agent.act(obs, info))
        cells.append(obs)
        total += reward
        if terminated:
            return cells, total
    return cells, None


def test_cliff_walking_sarsa_safe_q_learning_optimal():
    """Sutton & Barto Example 6.6: ε = 0.1, α = 0.5, γ = 1, 500 episodes, 10 seeds."""
    env = gym.make("CliffWalking-v1")
    online, paths = {}, {}
    for name in ("sarsa", "q_learning"):
        online[name], paths[name] = [], []
        for seed in range(10):
            agent = agents.make(name, env, alpha=0.5, gamma=1.0, epsilon=0.1, seed=seed)
            result = agent.train(env, episodes=500)
            online[name].append(np.mean([r["return"] for r in result.episodes[400:500]]))
            paths[name].append(_cliff_greedy_path(agent, env))
    sarsa, qlearn = np.mean(online["sarsa"]), np.mean(online["q_learning"])
    assert -35 <= sarsa <= -18, sarsa
    assert -60 <= qlearn <= -40, qlearn
    assert sarsa > qlearn + 10
    # Q-learning's greedy path is the 13-step edge path, along all 10 cells above the cliff
    edge = {2 * 12 + c for c in range(1, 11)}  # row index 2, columns 1–10
    assert all(total == -13 and edge <= set(cells) for cells, total in paths["q_learning"])
    # SARSA's takes the longer, safer route through the upper rows (S&B: 17 steps), touching
    # at most the last edge cell on the way down to the goal
    safe = [
        total
        for cells, total in paths["sarsa"]
        if total is not None and total <= -15 and len(edge & set(cells)) <= 1
    ]
    assert len(safe) >= 8, paths["sarsa"]
    env.close()


def test_q_learning_finds_the_lecture_optimum_that_value_iteration_gives(lecture_env):
    planner = agents.make("value_iteration", lecture_env, gamma=0.9)
    planner.train(lecture_env, episodes=0)
    agent = agents.make("q_learning", lecture_env, alpha=0.5, gamma=0.9, epsilon=0.3, seed=1)
    agent.train(lecture_env, episodes=1500)
    u = lecture_env.unwrapped
    for s in range(u.nS):
        if s in u.terminal_states or u.desc.flat[s] == "#":
            continue
        assert u.greedy_actions(agent.q, s, atol=1e-3) == u.greedy_actions(planner.q, s), s


# ----- behaviour: masks, ties, seeds, budgets, decay ----------------------------------------


@pytest.mark.parametrize("name", [*TABLE_AGENTS, "td0", "random"])
def test_masked_actions_never_taken(name):
    for env_id, kwargs in (("LectureRL/GridWorld-v0", {"map_name": "maze"}), ("Taxi-v4", {})):
        env = MaskChecker(gym.make(env_id, **kwargs))
        hp = {} if name in ("td0", "random") else {"epsilon": 1.0}
        agent = agents.make(name, env, seed=0, **hp)
        agent.train(env, steps=1500)
        assert env.steps == 1500
        obs, info = env.reset(seed=1)
        for _ in range(50):
            obs, _, terminated, truncated, info = env.step(agent.act(obs, info))
            if terminated or truncated:
                obs, info = env.reset()
        env.close()


def test_ties_broken_at_random_by_the_seeded_generator(lecture_env):
    agent = agents.make("q_learning", lecture_env, seed=0)
    mask = np.array([1, 1, 1, 1], np.int8)
    picks = {agent.act(4, {"action_mask": mask}) for _ in range(100)}
    assert picks == {0, 1, 2, 3}
    picks = {agent.act(3, {"action_mask": lecture_env.unwrapped.action_mask(3)}) for _ in range(50)}
    assert picks == {0, 1}  # (2,1): only up and right are open
    agent.q[4, 2] = 0.1
    assert {agent.act(4) for _ in range(20)} == {2}


@pytest.mark.parametrize("name", [*TABLE_AGENTS, "td0"])
def test_same_seed_same_table_and_other_seed_differs(name):
    env = gym.make("LectureRL/GridWorld-v0", map_name="maze", slip=0.2)

    def table(seed):
        agent = agents.make(name, env, seed=seed)
        result = agent.train(env, episodes=30)
        return (agent.v if name == "td0" else agent.q).copy(), [
            r["return"] for r in result.episodes
        ]

    (a, ra), (b, rb), (c, _) = table(7), table(7), table(8)
    assert np.array_equal(a, b) and ra == rb
    assert not np.array_equal(a, c)
    env.close()


def test_episode_and_step_budgets_and_records(lecture_env):
    agent = agents.make("q_learning", lecture_env, seed=0)
    seen = []
    result = agent.train(lecture_env, episodes=7, callback=seen.append)
    assert len(result.episodes) == 7 and seen == result.episodes
    assert [r["episode"] for r in seen] == list(range(7))
    assert seen[-1]["env_steps"] == result.env_steps == sum(r["length"] for r in seen)
    result = agent.train(lecture_env, steps=123)
    assert result.env_steps == 123
    assert result.episodes[0]["episode"] == 7  # episode numbers continue across calls
    result = agent.train(lecture_env, episodes=50, callback=lambda record: False)
    assert result.stopped_early and len(result.episodes) == 1
    updates = []
    result = agent.train(lecture_env, steps=40, hooks=[updates.append])
    assert len(updates) == 40 and all(isinstance(u, Update) for u in updates)
    assert [u.new_value for u in updates][-1] == agent.q[updates[-1].s, updates[-1].a]
    agent.train(lecture_env, steps=5)
    assert len(updates) == 40  # hooks given to train() last for that call only


def test_v_is_the_max_over_available_actions(lecture_env):
    agent = agents.make("q_learning", lecture_env)
    s = lecture_env.unwrapped.state_of(3, 2)  # only up and right are open
    agent.q[s] = [-1.0, -2.0, 5.0, 5.0]
    assert agent.v[s] == -1.0


def test_epsilon_decay(lecture_env):
    agent = agents.make(
        "q_learning", lecture_env, epsilon=1.0, epsilon_decay=0.9, epsilon_min=0.5, seed=0
    )
    agent.train(lecture_env, episodes=3)
    assert agent.epsilon == pytest.approx(0.729)
    agent.train(lecture_env, episodes=10)
    assert agent.epsilon == 0.5


def test_td0_evaluates_a_given_policy(lecture_env):
    u = lecture_env.unwrapped
    always_up = np.zeros((u.nS, u.nA))
    always_up[:, 0] = 1.0
    agent = agents.make("td0", lecture_env, policy=always_up.tolist(), alpha=0.5, seed=0)
    obs, info = lecture_env.reset(seed=0)
    assert {agent.act(obs, info) for _ in range(10)} == {0}
    # from (2,2): up to (1,2), then up is blocked, π falls back to the open moves
    assert agent.act(1, {"action_mask": u.action_mask(1)}) in (1, 2, 3)
    with pytest.raises(HyperparameterError, match="shape"):
        agents.make("td0", lecture_env, policy=[[1.0]])
    with pytest.raises(HyperparameterError, match="probabilities"):
        agents.make("td0", lecture_env, policy=np.full((u.nS, u.nA), 0.5))


# ----- checkpoints --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*TABLE_AGENTS, "td0"])
def test_save_load_round_trip_continues_identically(name, tmp_path):
    env = gym.make("FrozenLake-v1", is_slippery=True)  # the env's own randomness continues too
    straight = agents.make(name, env, alpha=0.5, seed=4)
    straight.train(env, episodes=40)
    resumed = agents.make(name, env, alpha=0.5, seed=4)
    resumed.train(env, episodes=20)
    resumed.save(tmp_path / "ckpt")
    loaded = agents.load(tmp_path / "ckpt")
    assert type(loaded) is type(resumed) and loaded.hp == resumed.hp
    table = "v" if name == "td0" else "q"
    assert np.array_equal(getattr(loaded, table), getattr(resumed, table))
    assert np.array_equal(loaded.visits, resumed.visits)
    loaded.train(env, episodes=20)
    assert np.array_equal(getattr(loaded, table), getattr(straight, table))
    assert loaded.episodes_done == 40
    env.close()


def test_load_rejects_another_env(tmp_path, lecture_env):
    agent = agents.make("q_learning", lecture_env, seed=0)
    agent.save(tmp_path / "ckpt")
    with pytest.raises(agents.CheckpointError, match="needs \\(48, 4\\)|observation space"):
        agents.load(tmp_path / "ckpt", env=gym.make("CliffWalking-v1"))
    (tmp_path / "ckpt" / "arrays.npz").write_bytes(b"not a zip")
    with pytest.raises(agents.CheckpointError, match="corrupt"):
        agents.load(tmp_path / "ckpt")


# ----- clear errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hp", "message"),
    [
        ({"alpha": 0}, r"alpha=0 is out of range; alpha must be in \(0, 1\]"),
        ({"alpha": 1.5}, r"alpha=1.5 is out of range"),
        ({"gamma": 1.1}, r"gamma=1.1 is out of range; gamma must be in \[0, 1\]"),
        ({"epsilon": -0.1}, r"epsilon=-0.1 is out of range"),
        ({"epsilon_decay": 0}, r"epsilon_decay=0 is out of range"),
        ({"alpha": "fast"}, r"alpha='fast' is not a finite number"),
        ({"alpah": 0.5}, r"unknown hyperparameter 'alpah'.*did you mean 'alpha'"),
    ],
)
@pytest.mark.parametrize("name", TABLE_AGENTS)
def test_bad_hyperparameters_name_the_value_and_range(name, hp, message, lecture_env):
    with pytest.raises(HyperparameterError, match=message):
        agents.make(name, lecture_env, **hp)


def test_td0_rejects_epsilon_and_bad_alpha(lecture_env):
    with pytest.raises(HyperparameterError, match="unknown hyperparameter 'epsilon'"):
        agents.make("td0", lecture_env, epsilon=0.1)
    with pytest.raises(HyperparameterError, match=r"alpha=0 is out of range"):
        agents.make("td0", lecture_env, alpha=0)


@pytest.mark.parametrize("name", [*TABLE_AGENTS, "td0", "value_iteration"])
def test_non_discrete_spaces_get_a_clear_error(name):
    env = gym.make("LectureRL/GridWorld-v0", obs_mode="onehot")
    with pytest.raises(UnsupportedSpaceError, match="Discrete observations.*obs_mode=index"):
        agents.make(name, env)
    with pytest.raises(ValueError, match="Discrete observations"):
        agents.make(name, gym.make("CartPole-v1"))


def test_training_on_an_env_of_another_shape_is_refused(lecture_env):
    agent = agents.make("sarsa", lecture_env)
    with pytest.raises(UnsupportedSpaceError, match=r"built for Discrete\(9\) observations"):
        agent.train(gym.make("CliffWalking-v1"), episodes=1)


def test_random_agent_works_on_any_space():
    env = gym.make("CartPole-v1")
    agent = agents.make("random", env, seed=0)
    result = agent.train(env, episodes=3)
    assert len(result.episodes) == 3 and all(r["length"] > 0 for r in result.episodes)
    again = agents.make("random", env, seed=0).train(env, episodes=3)
    assert [r["return"] for r in again.episodes] == [r["return"] for r in result.episodes]
