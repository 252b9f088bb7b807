"""DQN's minibatch on its distinct pictures only: same rows, same loss, same gradient."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents.distinct_rows import DistinctRows, distinct_rows


def test_distinct_rows_rebuilds_every_row_in_first_seen_order():
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 255, size=(5, 6, 6, 3), dtype=np.uint8)
    pictures[3] = pictures[1]  # two ids, one picture: must count once
    ids = rng.integers(0, 5, size=40)
    obs = pictures[ids]
    unique, inverse = distinct_rows(obs)
    assert np.array_equal(unique[inverse], obs)
    assert len(unique) == len(np.unique(obs.reshape(40, -1), axis=0))
    firsts = [int(np.flatnonzero(inverse == k)[0]) for k in range(len(unique))]
    assert firsts == sorted(firsts)  # numbered as they first appear


def test_distinct_rows_stops_looking_where_rows_do_not_repeat_and_looks_again_later():
    finder = DistinctRows(patience=2, retry_every=5)
    rng = np.random.default_rng(1)
    fresh = lambda: rng.normal(size=(16, 3))  # noqa: E731 - never repeats
    repeated = np.repeat(rng.normal(size=(2, 3)), 8, axis=0)
    assert finder(repeated) is not None  # call 1
    assert finder(fresh()) is None and finder(fresh()) is None  # calls 2, 3: two misses, stop
    assert finder(repeated) is None  # call 4: stopped, not looked at
    assert finder(repeated) is not None  # call 5: every 5th call looks again, finds repeats
    assert finder(repeated) is not None  # and from then on looks at every minibatch


def _maze_agent_and_batch(double: bool):
    env = gym.make("LectureRL/GridWorld-v0", map_name="maze", obs_mode="image")
    agent = agents.make("dqn", env, seed=3, net="cnn", double=double, learning_starts=64)
    agent.train(env, steps=400)  # fills the replay with the maze's few pictures
    batch = agent.buffer.sample(256)
    return agent, batch


@pytest.mark.parametrize("double", [False, True])
def test_the_loss_and_gradient_on_distinct_pictures_equal_one_pass_per_row(double):
    agent, batch = _maze_agent_and_batch(double)
    seen = distinct_rows(batch["obs"])[0]
    assert len(seen) < 64  # the maze has 28 pictures: a batch of 256 repeats itself

    def loss_and_grads(finder):
        agent._distinct = finder
        agent.optimizer.zero_grad()
        loss = agent.loss_on(batch)
        loss.backward()
        params = [*agent.backbone.parameters(), *agent.heads["q"].parameters()]
        return loss.detach(), [p.grad.clone() for p in params]

    loss_each, grads_each = loss_and_grads(lambda obs: None)  # the network on every row
    calls = []

    def finder(obs):
        found = distinct_rows(obs)
        calls.append(len(found[0]))
        return found

    loss_once, grads_once = loss_and_grads(finder)
    assert calls and max(calls) < 64  # the distinct path really ran
    assert torch.allclose(loss_once, loss_each, rtol=1e-5, atol=1e-7)
    for a, b in zip(grads_once, grads_each, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_an_env_whose_pictures_never_repeat_trains_on_every_row():
    env = gym.make("LectureRL/GridWorld-v0", map_name="maze", obs_mode="image")
    agent = agents.make("dqn", env, seed=0, net="cnn", learning_starts=64)
    agent.train(env, steps=400)
    batch = agent.buffer.sample(64)
    noise = np.random.default_rng(0).integers(0, 2, size=batch["obs"].shape, dtype=np.uint8)
    batch["obs"] = batch["obs"] ^ noise  # every picture its own
    assert agent._distinct(batch["obs"]) is None
