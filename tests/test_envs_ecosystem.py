"""Our ids work with the ecosystem's tools as they are: MaskablePPO, Gymnasium's play,
CliffWalking-v1's numbers, reward thresholds for compare."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.envs.grid_world import GridWorldEnv

pygame = pytest.importorskip("pygame")


# ----------------------------------------------------------------------------- MaskablePPO
def test_maskable_ppo_learns_the_maze_from_the_envs_masks_alone(monkeypatch):
    """sb3-contrib's MaskablePPO finds `action_masks()` on the env (no ActionMasker) and never
    picks a blocked move, in training or in greedy evaluation."""
    pytest.importorskip("sb3_contrib")
    masked_moves = []
    step = GridWorldEnv._step

    def checked_step(self, action):
        if not self.dynamics.mask[self.s, action]:
            masked_moves.append((self.s, action))
        return step(self, action)

    monkeypatch.setattr(GridWorldEnv, "_step", checked_step)
    env = gym.make("LectureRL/GridWorld-v0", map_name="maze", max_steps=50)
    assert env.unwrapped.action_masks().tolist() == [False, True, True, False]  # (1,1): → ↓
    agent = agents.make(
        "sb3-contrib:MaskablePPO",
        env,
        seed=0,
        n_steps=256,
        batch_size=64,
        learning_rate=3e-3,
        ent_coef=0.0,
        gamma=0.95,
        device="cpu",
    )
    agent.train(env, steps=6144)
    result = agent.evaluate(env, episodes=3, seed=0)
    assert result["return_mean"] == pytest.approx(0.89)  # the 12-move shortest path
    assert masked_moves == []


def test_vector_env_action_masks_match_the_single_envs():
    venv = gym.make_vec(
        "LectureRL/GridWorld-v0", 4, "vector_entry_point", map_name="maze", slip=0.3
    )
    singles = [gym.make("LectureRL/GridWorld-v0", map_name="maze", slip=0.3) for _ in range(4)]
    venv.reset(seed=1)
    for i, env in enumerate(singles):
        env.reset(seed=1 + i)
    rng = np.random.default_rng(0)
    steps = 0
    for _ in range(30):
        masks = venv.unwrapped.action_masks()
        assert masks.dtype == bool
        for i, env in enumerate(singles):
            np.testing.assert_array_equal(masks[i], env.unwrapped.action_masks())
        a = rng.integers(0, 4, 4)
        _, _, term, trunc, _ = venv.step(a)
        for i, env in enumerate(singles):
            env.step(int(a[i]))
        if (term | trunc).any():  # a copy fell into the pit: its next step is a reset
            break
        steps += 1
    assert steps >= 5


# ----------------------------------------------------------------------------- play
@pytest.mark.parametrize(
    ("env_id", "kw", "key", "action"),
    [
        ("LectureRL/GridWorld-v0", {}, "K_RIGHT", 1),
        ("LectureRL/GridWorld-v0", {}, "K_s", 2),
        ("LectureRL/Parity-v0", {}, "K_1", 1),
        ("LectureRL/Copy-v0", {"symbols": 12}, "K_b", 11),
    ],
)
def test_gymnasium_play_works_with_the_envs_own_key_map(env_id, kw, key, action):
    """`gymnasium.utils.play.play(env)` without `keys_to_action`: a key press reaches the env
    as the action the env's `get_keys_to_action()` names."""
    from lecture_rl.runners.play import _gym_play  # imports play without switching matplotlib

    play = _gym_play()
    env = gym.make(env_id, render_mode="rgb_array", **kw)
    actions: list[int] = []

    def callback(obs_t, obs_tp1, a, reward, terminated, truncated, info):
        actions.append(int(a))
        if len(actions) == 2:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=getattr(pygame, key)))
        if len(actions) == 6:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    play(env, callback=callback, fps=200, noop=0)
    assert actions[:2] == [0, 0]  # the noop until a key is pressed
    assert actions[-1] == action
    env.close()


# ----------------------------------------------------------------------------- thresholds
@pytest.mark.parametrize(
    ("map_name", "best"), [("lecture", 10.0), ("cliff", -13.0), ("maze", 0.89)]
)
def test_reward_threshold_is_the_maps_optimal_return(map_name, best):
    env = gym.make("LectureRL/GridWorld-v0", map_name=map_name)
    assert env.unwrapped.reward_threshold == pytest.approx(best, abs=1e-9)
    # a greedy walk on the value-iteration policy earns exactly that return
    from lecture_rl.agents.dynamic_programming import value_iteration

    u = env.unwrapped
    policy = value_iteration(u.P, u.nS, u.nA, gamma=0.99).policy  # γ < 1: shortest of ties
    s, _ = env.reset()
    total, done = 0.0, False
    while not done:
        s, r, term, trunc, _ = env.step(int(np.argmax(policy[s])))
        total, done = total + r, term or trunc
    assert total == pytest.approx(best)
    with_slip = gym.make("LectureRL/GridWorld-v0", map_name=map_name, slip=0.1)
    assert with_slip.unwrapped.reward_threshold < best  # slip only costs


def test_registered_threshold_is_the_default_maps_and_compare_uses_the_envs_own(tmp_path):
    import json

    from lecture_rl.runners.cli import main

    assert gym.spec("LectureRL/GridWorld-v0").reward_threshold == 10.0
    assert gym.make("LectureRL/GridWorld-v0").unwrapped.reward_threshold == 10.0
    argv = ["compare", "--env", "LectureRL/GridWorld-v0", "--env-set", "map_name=cliff"]
    argv += ["--agents", "q_learning", "--seeds", "1", "--episodes", "5", "--eval-episodes", "1"]
    assert main([*argv, "--workers", "1", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    reach = summary["agents"]["q_learning"]["episodes_to_threshold"]
    assert reach["threshold"] == -13.0


# ----------------------------------------------------------------------------- CliffWalking
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cliff_map_equals_cliffwalking_v1_step_for_step(seed):
    """Observations, reward values and terminations agree with Gymnasium's CliffWalking-v1 on
    random actions (their rewards are ints, ours floats: the values are equal)."""
    ours = gym.make("LectureRL/GridWorld-v0", map_name="cliff", max_steps=None)
    theirs = gym.make("CliffWalking-v1")
    assert ours.observation_space == theirs.observation_space
    assert ours.action_space == theirs.action_space
    rng = np.random.default_rng(seed)
    o1, _ = ours.reset(seed=seed)
    o2, _ = theirs.reset(seed=seed)
    assert o1 == o2
    cliff_falls = episodes = 0
    for a in rng.choice(4, size=5000, p=[0.3, 0.3, 0.2, 0.2]):  # drifts up and right
        o1, r1, t1, tr1, _ = ours.step(int(a))
        o2, r2, t2, tr2, _ = theirs.step(int(a))
        assert (o1, r1, t1, tr1) == (o2, float(r2), t2, tr2)
        cliff_falls += r1 == -100
        if t1:
            episodes += 1
            assert ours.reset()[0] == theirs.reset()[0]
    assert cliff_falls > 10  # the walk hit the cliff (and was sent back) many times
    assert episodes >= 1
