"""Experience replay: the memory of transitions that DQN samples its minibatches from.

Description:
    DQN (notes 004, "deep Q-learning") learns from tuples `(s, a, r, s')` "sampled ... from
    experience". `ReplayBuffer` keeps the last `capacity` transitions in preallocated
    numpy arrays (a ring buffer: when full, the oldest row is overwritten) and draws uniform
    minibatches with a seeded `numpy.random.Generator`, so the same seed gives the same
    minibatches.

Stored per transition:
    `obs`, `action`, `reward`, `next_obs`, `terminated` (1 when s' is terminal, so the
    target does not bootstrap; a time-limit truncation is *not* terminal) and `next_mask` (the
    actions available in s', used to take the target's max over available actions only).
"""

from __future__ import annotations

import numpy as np

#: the arrays of a stored transition (s, a, r, s', terminated, the actions available in s'):
#: what `sample` returns and a checkpoint holds
FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "next_mask")


class ReplayBuffer:
    """A ring buffer of transitions with seeded uniform sampling.

    Arguments:
        capacity: the most transitions kept; older ones are overwritten.
        obs_shape: shape of one observation (`()` for `Discrete` ids).
        obs_dtype: numpy dtype of observations (`uint8` images stay `uint8`).
        n_actions: number of actions (width of the stored action masks).
        seed: seeds the sampling generator (or pass `rng`).
        rng: a `numpy.random.Generator` to draw minibatch indices from.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        obs_dtype: np.dtype | type,
        n_actions: int,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ):
        if not isinstance(capacity, (int, np.integer)) or capacity < 1:
            raise ValueError(f"capacity={capacity!r} must be a positive integer")
        self.capacity = int(capacity)
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.next_mask = np.ones((self.capacity, n_actions), dtype=bool)
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.pos = 0  # the row the next transition goes to
        self.size = 0  # rows filled so far (<= capacity)

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        next_mask: np.ndarray | None = None,
    ) -> None:
        """Append a batch of `B` transitions (one per env of a vector step)."""
        actions = np.asarray(actions).reshape(-1)
        count = actions.shape[0]
        if count > self.capacity:
            raise ValueError(f"cannot add {count} transitions to a buffer of {self.capacity}")
        rows = (self.pos + np.arange(count)) % self.capacity
        self.obs[rows] = obs
        self.next_obs[rows] = next_obs
        self.actions[rows] = actions
        self.rewards[rows] = np.asarray(rewards, dtype=np.float32).reshape(-1)
        self.terminated[rows] = np.asarray(terminated, dtype=np.float32).reshape(-1)
        self.next_mask[rows] = True if next_mask is None else np.asarray(next_mask, dtype=bool)
        self.pos = int((self.pos + count) % self.capacity)
        self.size = min(self.size + count, self.capacity)

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """A uniform minibatch (with replacement) of `batch_size` stored transitions."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = self.rng.integers(0, self.size, size=batch_size)
        return {name: getattr(self, name)[idx] for name in FIELDS}

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The filled rows and the write position, for a resumable checkpoint."""
        rows = {name: getattr(self, name)[: self.size] for name in FIELDS}
        return {**rows, "pos": np.array([self.pos], dtype=np.int64)}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Put back what `state_arrays` returned (shapes are checked)."""
        size = int(arrays["actions"].shape[0])
        if size > self.capacity:
            raise ValueError(f"{size} stored transitions do not fit a buffer of {self.capacity}")
        for name in FIELDS:
            value = np.asarray(arrays[name])
            target = getattr(self, name)
            if value.shape[1:] != target.shape[1:]:
                raise ValueError(
                    f"replay {name} has shape {value.shape[1:]}, needs {target.shape[1:]}"
                )
            target[:size] = value
        self.size = size
        self.pos = int(arrays["pos"][0]) % self.capacity
