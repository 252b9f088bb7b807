"""What an env states about itself: a tape task, its action names, a tuple read as one state."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl.envs.action_names import action_names
from lecture_rl.envs.adapters import DiscreteActions, DiscreteObservations, index_wanted
from lecture_rl.envs.protocols import TapeTask, tape_task
from lecture_rl.runners.env_factory import make_env


@pytest.mark.parametrize(
    "env_id, kwargs, is_tape",
    [
        ("LectureRL/Parity-v0", {}, True),
        ("LectureRL/Copy-v0", {"delay": 2}, True),
        ("LectureRL/GridWorld-v0", {}, False),
        ("CartPole-v1", {}, False),
        ("Taxi-v4", {}, False),
        ("Blackjack-v1", {}, False),
    ],
)
def test_only_parity_and_copy_declare_themselves_tape_tasks(env_id, kwargs, is_tape):
    env = make_env(env_id, kwargs)  # through Gymnasium's wrappers (and ours for Blackjack)
    try:
        assert (tape_task(env) is not None) is is_tape
    finally:
        env.close()


def test_a_wrapper_can_declare_an_env_a_tape_task():
    class Symbols(gym.Wrapper):
        def tape_symbol(self, obs):
            return "ABCD"[int(obs)]

    env = Symbols(gym.make("FrozenLake-v1"))
    assert isinstance(tape_task(env), TapeTask)
    assert tape_task(env).tape_symbol(2) == "C"


def test_copy_names_its_blank_and_go_marker_on_the_tape():
    env = gym.make("LectureRL/Copy-v0", length=3, symbols=4)
    task = tape_task(env)
    assert [task.tape_symbol(o) for o in (0, 3, 4, 5)] == ["0", "3", "·", "GO"]


@pytest.mark.parametrize(
    "env_id, names",
    [
        ("Taxi-v4", ["south", "north", "east", "west", "pickup", "dropoff"]),
        ("Blackjack-v1", ["stick", "hit"]),
        ("CartPole-v1", ["push left", "push right"]),
        ("Acrobot-v1", ["torque −1", "torque 0", "torque +1"]),
        ("FrozenLake-v1", ["left", "down", "right", "up"]),
    ],
)
def test_action_names_of_gymnasiums_envs(env_id, names):
    env = make_env(env_id, {})
    assert action_names(env) == names
    env.close()


def test_action_names_from_minigrids_own_enum():
    pytest.importorskip("minigrid")
    env = make_env("MiniGrid-Empty-5x5-v0", {})  # adapted: Minigrid's image, its own actions
    assert action_names(env) == ["left", "right", "forward", "pickup", "drop", "toggle", "done"]
    env.close()


def test_an_env_that_names_its_actions_or_has_ale_meanings_is_heard_first():
    class Named(gym.Wrapper):
        action_names = ("wait", "go")

    env = Named(gym.make("CartPole-v1"))
    assert action_names(env) == ["wait", "go"]  # the env's own word beats the table

    class Ale(gym.Env):
        action_space = gym.spaces.Discrete(3)
        observation_space = gym.spaces.Discrete(1)

        def get_action_meanings(self):
            return ["NOOP", "FIRE", "UP"]

    assert action_names(Ale()) == ["NOOP", "FIRE", "UP"]


def test_names_that_do_not_fit_the_action_space_are_not_used():
    class Multi(gym.Env):
        action_space = gym.spaces.MultiDiscrete([2, 3])
        observation_space = gym.spaces.Discrete(1)
        action_names = ("a", "b")

    assert action_names(DiscreteActions(Multi())) is None  # 6 actions now, not 2
    assert action_names(gym.make("Pendulum-v1")) is None  # a Box: no names


def test_blackjacks_tuple_is_one_state_for_tabular_agents():
    env = make_env("Blackjack-v1", {})
    assert env.observation_space == gym.spaces.Discrete(32 * 11 * 2)
    obs, _ = env.reset(seed=0)
    raw = env.unwrapped._get_obs()  # Gymnasium's (player sum, dealer card, usable ace)
    assert obs == np.ravel_multi_index(tuple(int(x) for x in raw), (32, 11, 2))
    namer = env.get_wrapper_attr("state_name")
    assert namer(obs) == "(" + ", ".join(str(int(x)) for x in raw) + ")"
    assert index_wanted(gym.make("Blackjack-v1")) and not index_wanted(gym.make("Taxi-v4"))
    with pytest.raises(gym.error.Error, match="Tuple of Discrete"):
        DiscreteObservations(gym.make("CartPole-v1"))
    env.close()


def test_q_learning_learns_blackjack_through_the_index():
    from lecture_rl import agents

    env = make_env("Blackjack-v1", {})
    agent = agents.make("q_learning", env, seed=0)
    agent.train(env, episodes=3000)
    # stick on 20 or 21 against any dealer card: the table learned it is better than a hit
    for dealer in (2, 6, 10):
        s = int(np.ravel_multi_index((20, dealer, 0), (32, 11, 2)))
        assert agent.q[s, 0] > agent.q[s, 1]
    env.close()
