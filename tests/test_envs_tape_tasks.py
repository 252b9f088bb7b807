"""Parity and Copy: the rules of notes 003's bit-stream XOR and of delayed recall, their batched
versions, and their pictures."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

import lecture_rl.envs  # noqa: F401
from lecture_rl.envs import rendering


def parity(**kw) -> gym.Env:
    return gym.make("LectureRL/Parity-v0", **kw)


def copy_task(**kw) -> gym.Env:
    return gym.make("LectureRL/Copy-v0", **kw)


# ---------------------------------------------------------------------------- parity


def test_parity_rewards_the_xor_of_all_bits_so_far():
    env = parity(length=6)
    bits = [1, 0, 1, 1, 0, 1]
    obs, _ = env.reset(seed=0, options={"bits": bits})
    running, total = 0, 0.0
    for t, bit in enumerate(bits):
        assert obs == bit  # the observation is the bit of this step, nothing else
        running ^= bit
        claim = running if t % 2 == 0 else 1 - running  # right on even steps, wrong on odd
        obs, reward, terminated, truncated, info = env.step(claim)
        assert reward == (1.0 if t % 2 == 0 else 0.0)
        assert info["parity"] == running
        total += reward
        assert terminated == (t == len(bits) - 1) and not truncated
    assert total == 3 and env.unwrapped.answers_per_episode == 6


def test_parity_observation_does_not_leak_the_answer():
    """The same observation history can have either answer only through earlier bits: at each
    step the observation equals the fresh bit, which is independent of the parity before it."""
    env = parity(length=16)
    obs_and_answer = []
    for seed in range(200):
        obs, _ = env.reset(seed=seed)
        _, _, _, _, info = env.step(0)
        obs_and_answer.append((int(obs), info["parity"]))
    for seen in (0, 1):
        answers = {a for o, a in obs_and_answer if o == seen}
        assert answers == {seen}  # step 1: parity = bit, fine; later steps below
    later = []
    for seed in range(300):
        obs, _ = env.reset(seed=seed)
        for _ in range(5):
            obs, _, _, _, info = env.step(0)
        later.append((int(obs), info["parity"]))
    for seen in (0, 1):  # after several bits the current bit says nothing about the parity
        rate = np.mean([a for o, a in later if o == seen])
        assert 0.3 < rate < 0.7


def test_parity_bits_are_fair_coin_flips():
    env = parity(length=16)
    bits = []
    for seed in range(100):
        obs, _ = env.reset(seed=seed)
        for _ in range(16):
            bits.append(obs)
            obs, *_ = env.step(0)
    assert 0.45 < np.mean(bits) < 0.55


# ------------------------------------------------------------------------------ copy


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("delay", [0, 3])
def test_copy_phases_and_grading(reverse, delay):
    length, symbols = 4, 5
    env = copy_task(length=length, symbols=symbols, delay=delay, reverse=reverse)
    u = env.unwrapped
    sequence = [3, 0, 4, 1]
    obs, _ = env.reset(seed=0, options={"sequence": sequence})
    seen, total, t = [obs], 0.0, 0
    expected = list(reversed(sequence)) if reverse else sequence
    recall = 0
    while True:
        phase = u.phase(t)
        if phase == "recall":
            action = expected[recall] if recall % 2 == 0 else (expected[recall] + 1) % symbols
        else:
            action = 0  # ignored
        obs, reward, terminated, truncated, info = env.step(action)
        assert info["phase"] == phase
        if phase == "recall":
            assert info["target"] == expected[recall]
            assert reward == (1.0 if recall % 2 == 0 else 0.0)
            recall += 1
        else:
            assert reward == 0.0
        total += reward
        t += 1
        if terminated:
            break
        seen.append(obs)
    assert t == 2 * length + delay + 1 and not truncated
    assert recall == length and total == 2.0
    blank, go = symbols, symbols + 1
    assert seen[:length] == sequence
    assert seen[length : length + delay] == [blank] * delay
    assert seen[length + delay] == go
    assert seen[length + delay + 1 :] == [blank] * length  # recall observations are blank


def test_copy_spaces_start_at_zero_for_sb3():
    env = copy_task(length=3, symbols=6)
    assert env.observation_space == gym.spaces.Discrete(8)
    assert env.action_space == gym.spaces.Discrete(6)


# -------------------------------------------------------------- batched equivalence


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize(
    ("env_id", "kw", "option", "tape"),
    [
        ("LectureRL/Parity-v0", {"length": 5}, "bits", lambda rng, n: rng.integers(0, 2, (n, 5))),
        (
            "LectureRL/Copy-v0",
            {"length": 3, "symbols": 4, "delay": 2, "reverse": True},
            "sequence",
            lambda rng, n: rng.integers(0, 4, (n, 3)),
        ),
    ],
)
def test_native_batch_matches_single_envs_on_the_same_tapes_and_actions(
    env_id, kw, option, tape, mode
):
    n = 6
    rng = np.random.default_rng(1)
    tapes = tape(rng, n)
    batch = gym.make_vec(
        env_id, num_envs=n, vectorization_mode="vector_entry_point", autoreset_mode=mode, **kw
    )
    assert batch.metadata["autoreset_mode"] == mode
    singles = [gym.make(env_id, **kw) for _ in range(n)]
    b_obs, _ = batch.reset(seed=0, options={option: tapes})
    s_obs = [env.reset(seed=0, options={option: tapes[i]})[0] for i, env in enumerate(singles)]
    assert b_obs.tolist() == s_obs
    steps = 2 * kw["length"] + kw.get("delay", 0) + 1 if "symbols" in kw else kw["length"]
    actions = rng.integers(0, batch.single_action_space.n, size=(steps, n))
    for t in range(steps):
        b_obs, b_rew, b_term, b_trunc, b_info = batch.step(actions[t])
        for i, env in enumerate(singles):
            obs, rew, term, trunc, _ = env.step(int(actions[t, i]))
            assert (b_rew[i], b_term[i], b_trunc[i]) == (rew, term, trunc)
            if not term:
                assert b_obs[i] == obs
    assert b_term.all()
    if mode == AutoresetMode.SAME_STEP:
        assert b_info["_final_obs"].all()
        assert batch.observation_space.contains(b_obs)  # already the next episodes' first obs
    else:
        b_obs, b_rew, b_term, *_ = batch.step(actions[0])  # this step only resets
        assert (b_rew == 0).all() and not b_term.any()
    batch.close()


@pytest.mark.parametrize("env_id", ["LectureRL/Parity-v0", "LectureRL/Copy-v0"])
def test_batched_rewards_are_graded_against_the_right_answers_at_scale(env_id):
    """An oracle that reads the batched env's own info must score 1 per answer on every copy."""
    envs = gym.make_vec(env_id, num_envs=256, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=0)
    u = envs.unwrapped
    answers = u.answers_per_episode
    total = np.zeros(256)
    if env_id.endswith("Parity-v0"):
        running = np.zeros(256, dtype=np.int64)
        for _ in range(u.length):
            running ^= obs
            obs, reward, *_ = envs.step(running)
            total += reward
    else:
        sequence = []
        for _ in range(u.length):
            sequence.append(obs.copy())
            obs, reward, *_ = envs.step(np.zeros(256, dtype=np.int64))
        for _ in range(u.delay + 1):
            obs, reward, *_ = envs.step(np.zeros(256, dtype=np.int64))
        for i in range(u.length):
            obs, reward, *_ = envs.step(sequence[i])
            total += reward
    assert (total == answers).all()


@settings(max_examples=25, deadline=None)
@given(
    env_id=st.sampled_from(["LectureRL/Parity-v0", "LectureRL/Copy-v0"]),
    length=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    actions=st.lists(st.integers(0, 1), min_size=1, max_size=80),
)
def test_random_episodes_keep_the_invariants(env_id, length, seed, actions):
    env = gym.make(env_id, length=length)
    obs, _ = env.reset(seed=seed)
    answers = env.unwrapped.answers_per_episode
    max_len = length if env_id.endswith("Parity-v0") else 2 * length + 1
    ep_len, ep_return = 0, 0.0
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(a)
        ep_len += 1
        ep_return += reward
        assert env.observation_space.contains(obs) and reward in (0.0, 1.0)
        assert not truncated and ep_len <= max_len
        if terminated:
            assert ep_len == max_len and 0 <= ep_return <= answers
            obs, _ = env.reset()
            ep_len, ep_return = 0, 0.0


# --------------------------------------------------------------------------- pictures


def _colour_count(frame: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int(np.all(frame == np.array(colour, dtype=np.uint8), axis=-1).sum())


def test_parity_frame_colours_answers_right_and_wrong():
    env = parity(length=4, render_mode="rgb_array")
    env.reset(seed=0, options={"bits": [1, 1, 0, 1]})
    blank = env.render()
    env.step(1)  # right: parity after bit 1 is 1
    right_only = env.render()
    env.step(1)  # wrong: parity after 1,1 is 0
    both = env.render()
    assert _colour_count(right_only, rendering.RIGHT) > _colour_count(blank, rendering.RIGHT)
    assert _colour_count(both, rendering.WRONG) > _colour_count(right_only, rendering.WRONG)
    text = gym.make("LectureRL/Parity-v0", length=4, render_mode="ansi")
    text.reset(seed=0, options={"bits": [1, 1, 0, 1]})
    text.step(1)
    assert "1" in text.render()


def test_copy_frame_shows_the_tape_and_grades_recall():
    env = copy_task(length=2, symbols=3, render_mode="rgb_array")
    env.reset(seed=0, options={"sequence": [2, 0]})
    first = env.render()
    for action in (0, 0, 0, 2, 1):  # input, input, go, right, wrong
        env.step(action)
    last = env.render()
    assert first.shape == last.shape and not np.array_equal(first, last)
    assert _colour_count(last, rendering.RIGHT) > 0 and _colour_count(last, rendering.WRONG) > 0


# ---------------------------------------------------------------------------- hidden variable


def test_parity_hidden_is_the_running_parity_with_the_bit_just_shown():
    env = parity(length=5)
    bits = [1, 1, 0, 1, 0]
    obs, info = env.reset(options={"bits": bits})
    shown, hidden = [obs], [info["hidden"]]
    for _ in bits:
        obs, _, _, _, info = env.step(0)
        shown.append(obs)
        hidden.append(info["hidden"])
    running = np.bitwise_xor.accumulate(bits)  # x_1 ⊕ ... ⊕ x_t
    assert hidden == [*running.tolist(), int(running[-1])]
    assert shown[:-1] == bits


@pytest.mark.parametrize("reverse", [False, True])
def test_copy_hidden_is_the_symbol_to_recall_next(reverse):
    env = copy_task(length=3, symbols=4, delay=2, reverse=reverse)
    sequence = [2, 0, 3]
    _, info = env.reset(options={"sequence": sequence})
    hidden, targets = [info["hidden"]], []
    done = False
    while not done:
        _, _, done, _, info = env.step(0)
        hidden.append(info["hidden"])
        targets.append(info.get("target"))
    order = sequence[::-1] if reverse else sequence
    first_seen = 2 if reverse else 0  # the step that shows the first symbol to recall
    assert hidden[:first_seen] == [-1] * first_seen
    assert hidden[first_seen:6] == [order[0]] * (6 - first_seen)  # 3 inputs, 2 blanks, go
    # in recall step i the hidden symbol is the one graded there, then -1 at the end
    assert hidden[6:9] == order == targets[6:9]
    assert hidden[9] == -1
