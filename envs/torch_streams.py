"""The counter-based random numbers of [`lecture_rl.envs.streams`][lecture_rl.envs.streams], as
torch operations.

Description:
    The same `key(seed, e)` and `bits(key, t)` as the numpy module (splitmix64, all modulo
    2**64), computed elementwise on `int64` tensors on any torch device, so a batch of envs on
    a GPU draws exactly the numbers the numpy envs draw, without leaving the device.

    torch has no full unsigned 64-bit arithmetic, so a word is kept in an `int64` tensor with
    the same 64 bits: `+`, `*` and `^` wrap modulo 2**64 in two's complement exactly as on
    `uint64`; only the right shift differs (arithmetic on `int64`), so `shift_right`
    masks off the copied sign bits to make it logical.
"""

from __future__ import annotations

import torch

_WORD = 1 << 64


def _signed(value: int) -> int:
    """The `int64` with the same 64 bits as the unsigned `value`."""
    return value - _WORD if value >= 1 << 63 else value


GOLDEN = _signed(0x9E3779B97F4A7C15)
_M1 = _signed(0xBF58476D1CE4E5B9)
_M2 = _signed(0x94D049BB133111EB)


def shift_right(x: torch.Tensor, bits: int) -> torch.Tensor:
    """`x >> bits` as on `uint64` (a logical shift) for words held in `int64`."""
    return (x >> bits) & ((1 << (64 - bits)) - 1)


def mix(x: torch.Tensor) -> torch.Tensor:
    """splitmix64's finaliser, elementwise
    ([`lecture_rl.envs.streams.mix`][lecture_rl.envs.streams.mix])."""
    x = x ^ shift_right(x, 30)
    x = x * _M1
    x = x ^ shift_right(x, 27)
    x = x * _M2
    return x ^ shift_right(x, 31)


def episode_keys(seeds: torch.Tensor, episodes: torch.Tensor) -> torch.Tensor:
    """`key(seed, e) = mix(mix(seed + C) ^ e)`, elementwise (`int64` words)."""
    return keys_of_seed_words(seed_words(seeds), episodes)


def seed_words(seeds: torch.Tensor) -> torch.Tensor:
    """`mix(seed + C)`: the part of `episode_keys()` a copy keeps while its seed does."""
    return mix(seeds + GOLDEN)


def keys_of_seed_words(words: torch.Tensor, episodes: torch.Tensor) -> torch.Tensor:
    """`key(seed, e) = mix(words ^ e)` from `words = seed_words(seed)`."""
    return mix(words ^ episodes)


def step_words(keys: torch.Tensor, steps: torch.Tensor | int) -> torch.Tensor:
    """`bits(key, t) = mix(key + (t + 1) · C)`; broadcasts `keys` against `steps`."""
    return mix(keys + (steps + 1) * GOLDEN)


def uniforms(keys: torch.Tensor, steps: torch.Tensor | int) -> torch.Tensor:
    """Uniform `float64` numbers in `[0, 1)` from the top 53 bits of `step_words`."""
    return shift_right(step_words(keys, steps), 11).to(torch.float64) * 2.0**-53


def integers(keys: torch.Tensor, steps: torch.Tensor | int, n: int) -> torch.Tensor:
    """Integers in `[0, n)` (`n < 2**32`): `(hi32 · n) >> 32` of `step_words`.

    `hi32 · n < 2**64` is exact modulo 2**64, so the logical shift recovers the numpy result.
    """
    return shift_right(shift_right(step_words(keys, steps), 32) * n, 32)


__all__ = [
    "episode_keys",
    "integers",
    "keys_of_seed_words",
    "mix",
    "seed_words",
    "shift_right",
    "step_words",
    "uniforms",
]
