"""The training contract and the event stream, checked on every registered agent."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents.base import BudgetError
from lecture_rl.agents.events import (
    EpisodeEnd,
    NetworkUpdate,
    PolicyStep,
    TableUpdate,
    TrainingCallback,
    Transition,
)

TABULAR = {"td0", "q_learning", "sarsa", "expected_sarsa", "double_q"}
PLANNERS = {"value_iteration", "policy_iteration"}
DEEP = {"dqn", "ppo", "reinforce"}
SMALL_DEEP = {
    "dqn": {"num_envs": 2, "learning_starts": 8, "batch_size": 8, "hidden_size": 16},
    "ppo": {"num_envs": 4, "n_steps": 8, "num_minibatches": 2, "hidden_size": 16},
    "reinforce": {"num_envs": 4, "hidden_size": 16},
    "sb3:PPO": {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "device": "cpu"},
}
# every agent lecture-rl registers (test modules register test-only agents of their own)
ALL = sorted(name for name in agents.names() if not name.startswith("test_")) + ["sb3:PPO"]


def make_env(name: str) -> gym.Env:
    if name in DEEP or name.startswith("sb3"):
        return gym.make("LectureRL/Parity-v0", length=4)
    return gym.make("LectureRL/GridWorld-v0", map_name="lecture")


def make_agent(name: str, env: gym.Env, seed: int = 0) -> agents.Agent:
    hp = dict(SMALL_DEEP.get(name, {}))
    if name in DEEP:
        hp["device"] = "cpu"
    return agents.make(name, env, seed=seed, **hp)


class Recorder(TrainingCallback):
    """Keeps every event in order, and the start/end calls."""

    events = (Transition, TableUpdate, NetworkUpdate, PolicyStep, EpisodeEnd)

    def __init__(self, stop_on: type | None = None):
        self.seen: list = []
        self.started = 0
        self.ended: list = []
        self.stop_on = stop_on

    def on_training_start(self, agent, budget):
        assert not self.seen and not self.ended
        self.started += 1
        self.budget = dict(budget)

    def on_event(self, event):
        assert self.started == 1 and not self.ended
        self.seen.append(event)
        if self.stop_on is not None and isinstance(event, self.stop_on):
            return False
        return None

    def on_training_end(self, result):
        self.ended.append(result)

    def of(self, kind: type) -> list:
        return [e for e in self.seen if isinstance(e, kind)]


@pytest.mark.parametrize("name", ALL)
def test_budget_rule_is_the_same_for_every_agent(name):
    env = make_env(name)
    agent = make_agent(name, env)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(BudgetError, match="must be a whole number >= 0"):
            agent.train(env, episodes=bad)
        with pytest.raises(BudgetError, match="must be a whole number >= 0"):
            agent.train(env, steps=bad)
    nothing = agent.train(env, episodes=0)
    assert nothing.episodes == [] and nothing.env_steps == 0 and not nothing.stopped_early
    result = agent.train(env, episodes=3)
    assert len(result.episodes) == 3  # exactly: episodes past the budget are not recorded
    assert not result.stopped_early
    steps = agent.train(env, steps=64)
    assert steps.env_steps >= 64
    assert steps.env_steps < 64 + 2_000  # at most one batch past the budget
    both = agent.train(env, episodes=2, steps=10_000)  # whichever ends first
    assert len(both.episodes) == 2 and both.env_steps < 10_000
    env.close()


@pytest.mark.parametrize("name", ALL)
def test_events_arrive_in_order_and_complete(name):
    env = make_env(name)
    agent = make_agent(name, env)
    recorder = Recorder()
    result = agent.train(env, episodes=4, callbacks=[recorder])
    assert recorder.started == 1 and recorder.ended == [result]
    assert recorder.budget == {"episodes": 4}
    ends = recorder.of(EpisodeEnd)
    assert [dict(e.record) for e in ends] == result.episodes and len(ends) == 4
    steps_seen = [e.record["env_steps"] for e in ends]
    assert steps_seen == sorted(steps_seen)
    transitions = recorder.of(Transition)
    if name in TABULAR | PLANNERS | {"random"} or name.startswith("sb3"):
        # one transition per env step, numbered 1, 2, ... in env steps
        assert len(transitions) >= sum(r["length"] for r in result.episodes)
        counts = [t.env_steps for t in transitions]
        assert counts == sorted(counts) and counts[0] >= 1
    if name in TABULAR:
        updates = recorder.of(TableUpdate)
        assert len(updates) == len(transitions)
        # the update of a step comes before its transition: a viewer drawing on a transition
        # shows the table after learning from it
        kinds = [type(e) for e in recorder.seen if not isinstance(e, EpisodeEnd)]
        assert kinds[0::2] == [TableUpdate] * len(updates)
        assert kinds[1::2] == [Transition] * len(transitions)
        for u in updates:
            assert math.isclose(u.new_value, u.old_value + u.alpha * u.td_error, abs_tol=1e-12)
            assert math.isclose(u.td_error, u.target - u.old_value, abs_tol=1e-12)
        explored = {t.explored for t in transitions}
        assert explored <= {True, False}
    if name in DEEP:
        net_updates = recorder.of(NetworkUpdate)
        assert net_updates, "deep agents report their gradient steps"
        for u in net_updates:
            assert all(math.isfinite(v) for v in u.losses.values())
            assert u.grad_norm is not None and u.grad_norm >= 0.0
        if name in ("ppo", "dqn"):
            policy = recorder.of(PolicyStep)
            assert policy
            probs = np.asarray(policy[0].probs)
            assert np.allclose(probs.sum(-1), 1.0, atol=1e-5) and (probs >= 0).all()
    env.close()


@pytest.mark.parametrize("name", ALL)
def test_a_subscriber_stops_training(name):
    env = make_env(name)
    agent = make_agent(name, env)
    by_function = agent.train(env, episodes=50, callback=lambda record: False)
    assert by_function.stopped_early and 1 <= len(by_function.episodes) < 50
    stopper = Recorder(stop_on=EpisodeEnd)
    result = agent.train(env, episodes=50, callbacks=[stopper])
    assert result.stopped_early and len(result.episodes) < 50
    assert stopper.ended == [result]
    if name in TABULAR:  # a stop on a transition ends training within that step
        mid = Recorder(stop_on=Transition)
        result = agent.train(env, episodes=50, callbacks=mid)
        assert result.stopped_early and result.env_steps == 1 and result.episodes == []
    env.close()


def test_a_callback_that_returns_nothing_never_stops():
    env = make_env("q_learning")
    agent = make_agent("q_learning", env)
    result = agent.train(env, episodes=5, callback=lambda record: None)
    assert len(result.episodes) == 5 and not result.stopped_early


def test_callbacks_must_be_subscribers():
    env = make_env("q_learning")
    agent = make_agent("q_learning", env)
    with pytest.raises(TypeError, match="TrainingCallback"):
        agent.train(env, episodes=1, callbacks=[print])


def test_update_hooks_are_an_adapter_on_the_stream():
    env = make_env("sarsa")
    agent = make_agent("sarsa", env)
    hooked = []
    agent.add_update_hook(hooked.append)
    recorder = Recorder()
    agent.train(env, episodes=3, callbacks=[recorder])
    assert hooked == recorder.of(TableUpdate)
    agent.learn(0, 1, -1.0, 1, False, a_next=2)  # by hand: the hooks still hear it
    assert len(hooked) == len(recorder.of(TableUpdate)) + 1 and hooked[-1].a_next == 2


def test_divergence_guard_is_a_subscriber_that_stops_before_the_weights_change():
    env = make_env("reinforce")
    agent = make_agent("reinforce", env)
    import torch

    before = [p.detach().clone() for p in agent.parameters()]
    original = agent._update

    def poisoned(batch):
        batch["returns"] = batch["returns"] * float("nan")
        return original(batch)

    agent._update = poisoned
    with pytest.raises(agents.TrainingDiverged, match="training diverged at update 1"):
        agent.train(env, steps=64)
    after = list(agent.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after))
