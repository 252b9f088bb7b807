"""Random numbers as a pure function of (seed, episode, step): same seed, same numbers everywhere.

Description:
    Every random number a lecture-rl environment uses (Parity's bits, Copy's symbols,
    GridWorld's slips) is drawn from a *counter-based* generator: the number for step `t` of
    episode `e` of an env seeded with `seed` is

    .. code-block:: text

        key(seed, e)  = mix(mix(seed + C) ^ e)          one 64-bit key per episode
        bits(key, t)  = mix(key + (t + 1) · C)          one 64-bit word per step

    where `mix` is the splitmix64 finaliser and `C` = 0x9E3779B97F4A7C15 (the golden-ratio
    increment), all modulo 2**64: `bits(key, 0), bits(key, 1), ...` is exactly the SplitMix64
    stream seeded with `key` (Steele, Lea & Flood 2014, the generator behind Java's
    `SplittableRandom`), here computed at any step directly instead of in sequence.
    The words depend only on `(seed, e, t)`, not on the order in which they are drawn, so a
    batch of copies computes its numbers in one numpy call and still gets exactly what each
    single env gets.

The rule (the one `gymnasium.make_vec` uses for every vectorization mode):
    copy `i` of a vector env reset with `seed=s` runs the episodes of a single env reset
    with `seed=s + i` (a list of seeds gives copy `i` the seed `seeds[i]`). Episode `e`
    counts the resets since that seeded one (`e = 0` for the seeded reset itself; an
    autoreset is a reset). So `vector_entry_point`, `sync` and `async` give the same
    trajectories for the same seed and actions. A reset without a seed and without any earlier
    seed picks a fresh seed from `env.np_random` (itself seeded from OS entropy).
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S11, _S32, _S63 = np.uint64(11), np.uint64(32), np.uint64(63)
SEED_BOUND = 2**63  # seeds are integers in [0, 2**63)


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on a `uint64` array (a bijection of 64-bit words)."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


def as_words(values: object) -> np.ndarray:
    """Integers as a `uint64` array of at least one dimension (arithmetic wraps, no warning)."""
    return np.atleast_1d(np.asarray(values, dtype=np.uint64))


def episode_keys(seeds: object, episodes: object) -> np.ndarray:
    """`key(seed, e) = mix(mix(seed + C) ^ e)`, elementwise (`uint64`)."""
    return mix(mix(as_words(seeds) + _GOLDEN) ^ as_words(episodes))


def step_words(keys: np.ndarray, steps: object) -> np.ndarray:
    """`bits(key, t) = mix(key + (t + 1) · C)`; broadcasts `keys` against `steps`."""
    return mix(keys + (as_words(steps) + np.uint64(1)) * _GOLDEN)


def uniforms(keys: np.ndarray, steps: object) -> np.ndarray:
    """Uniform floats in `[0, 1)` from the top 53 bits of
    [`step_words`][lecture_rl.envs.streams.step_words]."""
    return (step_words(keys, steps) >> _S11).astype(np.float64) * 2.0**-53


def integers(keys: np.ndarray, steps: object, n: int) -> np.ndarray:
    """Integers in `[0, n)` (`n < 2**32`): `(hi32 · n) >> 32` of
    [`step_words`][lecture_rl.envs.streams.step_words]."""
    return (((step_words(keys, steps) >> _S32) * np.uint64(n)) >> _S32).astype(np.int64)


_MASK = (1 << 64) - 1


def _mix_int(x: int) -> int:
    """[`mix`][lecture_rl.envs.streams.mix] on one Python int (the same arithmetic modulo 2**64)."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def uniform_at(key: int, step: int) -> float:
    """`uniforms([key], step)[0]` in plain Python: a single env's per-step draw, without the
    cost of numpy calls on one-element arrays."""
    word = _mix_int((key + (step + 1) * 0x9E3779B97F4A7C15) & _MASK)
    return (word >> 11) * 2.0**-53


def fresh_seeds(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` new seeds in `[0, 2**63)` from `rng` (for resets that were given none)."""
    return rng.integers(0, SEED_BOUND, size=count, dtype=np.int64).astype(np.uint64)


def vector_seeds(seed: object, num_envs: int) -> list[int | None]:
    """Per-copy seeds from what `VectorEnv.reset(seed=...)` may be given, as Gymnasium's
    `SyncVectorEnv` reads it: `None` (none), an int `s` (`s + i`) or a list."""
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seeds: list[int | None] = [int(seed) + i for i in range(num_envs)]
    else:
        seeds = [None if s is None else int(s) for s in seed]  # type: ignore[union-attr]
        if len(seeds) != num_envs:
            raise ValueError(
                f"reset(seed=[...]) needs one seed per copy: got {len(seeds)} seeds for "
                f"num_envs={num_envs}; or pass one int s (copy i gets s + i)"
            )
    for s in seeds:
        if s is not None and not 0 <= s < SEED_BOUND:
            raise ValueError(f"seed {s} is outside [0, 2**63); use a non-negative integer")
    return seeds


class EpisodeStreams:
    """The per-copy seeds and episode counters of `n` copies (`n = 1` for a single env).

    `start` begins new episodes in some copies (`seed` per copy, `None` = next
    episode of the same seed) and refreshes `keys`, the `key(seed, e)` of each copy.
    """

    def __init__(self, n: int) -> None:
        self.seeds = np.zeros(n, dtype=np.uint64)
        self.episodes = np.zeros(n, dtype=np.uint64)
        self.seeded = np.zeros(n, dtype=bool)
        self.keys = np.zeros(n, dtype=np.uint64)

    def start(
        self,
        rows: np.ndarray | slice,
        seeds: list[int | None] | None,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Begin a new episode in `rows`; returns the keys of those rows."""
        index = np.arange(len(self.seeds))[rows]
        if seeds is None:
            seeds = [None] * len(index)
        for i, s in zip(index, seeds):
            if s is not None:
                self.seeds[i], self.episodes[i], self.seeded[i] = s, 0, True
            elif self.seeded[i]:
                self.episodes[i] += np.uint64(1)
            else:
                self.seeds[i], self.episodes[i], self.seeded[i] = fresh_seeds(rng, 1)[0], 0, True
        self.keys[index] = episode_keys(self.seeds[index], self.episodes[index])
        return self.keys[index]

    def next_episode(self, mask: np.ndarray) -> np.ndarray:
        """Autoreset: the next episode (same seed) in the copies of `mask`; their keys."""
        self.episodes[mask] += np.uint64(1)
        self.keys[mask] = episode_keys(self.seeds[mask], self.episodes[mask])
        return self.keys[mask]
