"""Sequence replay for recurrent DQN: stored windows of steps with the memory they started from.

Description:
    A recurrent Q-network reads a whole history, so a replayed transition alone is not enough:
    R2D2 (Kapturowski et al., ICLR 2019) stores *sequences* of consecutive steps together with
    the recurrent state the acting network had before the first of them ("stored state"), and
    replays a sequence by first running the network over a *burn-in* prefix without gradient (to
    refresh that stale state under the current weights), then computing the loss on the rest.

    `SequenceReplay` does this for `N` envs stepped together. Every vector step adds one
    record per env (the observation acted on, whether it starts an episode, its action mask, the
    state before the step, then action, reward and the end flags). Every `seq_len` vector
    steps, once `burn_in + seq_len + 1` records exist, the last `burn_in + seq_len` steps of
    every env become one stored sequence (plus the observation after them, which the last
    step's target reads), so consecutive sequences overlap by `burn_in` steps. Sequences may
    cross episode ends: the `starts` flags make the network restart its memory there
    (`backbone.forward_sequence`), and a step that ended its episode does not bootstrap.

Stored per sequence (`L = burn_in + seq_len` steps):
    `obs[L + 1]`, `starts[L + 1]`, `masks[L + 1, nA]` (available actions of each obs),
    `actions[L]`, `rewards[L]`, `ends[L]` (1 when the step ended the episode: terminated,
    or truncated, which is treated as an end here), and `state`: the backbone state before
    step 0, one tensor per state part, batch on dim 0.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

State = tuple[torch.Tensor, ...]


class SequenceReplay:
    """A ring buffer of fixed-length step sequences with their initial recurrent states.

    Arguments:
        capacity: the most sequences kept; older ones are overwritten.
        num_envs: envs stepped together (each contributes one sequence per window).
        seq_len: steps per sequence that carry the loss.
        burn_in: steps before them that only refresh the recurrent state.
        obs_shape, obs_dtype: one observation's shape and numpy dtype.
        n_actions: width of the stored action masks.
        rng: the seeded generator minibatch indices are drawn from.
    """

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        seq_len: int,
        burn_in: int,
        obs_shape: tuple[int, ...],
        obs_dtype: np.dtype | type,
        n_actions: int,
        *,
        rng: np.random.Generator,
    ):
        if capacity < num_envs:
            raise ValueError(f"capacity={capacity} sequences must be >= num_envs={num_envs}")
        self.capacity, self.num_envs = int(capacity), int(num_envs)
        self.seq_len, self.burn_in = int(seq_len), int(burn_in)
        length = self.burn_in + self.seq_len
        self.length = length
        c = self.capacity
        self.obs = np.zeros((c, length + 1, *obs_shape), dtype=obs_dtype)
        self.starts = np.zeros((c, length + 1), dtype=bool)
        self.masks = np.ones((c, length + 1, n_actions), dtype=bool)
        self.actions = np.zeros((c, length), dtype=np.int64)
        self.rewards = np.zeros((c, length), dtype=np.float32)
        self.ends = np.zeros((c, length), dtype=np.float32)
        self.state: State = ()
        self.rng = rng
        self.pos = 0
        self.size = 0
        self._records: deque = deque(maxlen=length + 1)
        self._steps = 0

    # Intentional twin (duplicate scan): the interface of ReplayBuffer (agents/replay.py): DQN uses
    # either.
    def __len__(self) -> int:
        return self.size

    def add_step(
        self,
        obs: np.ndarray,
        starts: np.ndarray,
        masks: np.ndarray,
        state: State,
        actions: np.ndarray,
        rewards: np.ndarray,
        ends: np.ndarray,
    ) -> None:
        """One vector step: what each env saw (`obs`, `starts`, `masks`), the state before
        the step, and what followed (`actions`, `rewards`, `ends`)."""
        self._records.append(
            (np.array(obs, copy=True), np.array(starts, dtype=bool), np.array(masks, dtype=bool),
             tuple(t.detach().clone() for t in state), np.asarray(actions),
             np.asarray(rewards, dtype=np.float32), np.asarray(ends, dtype=np.float32))
        )  # fmt: skip
        self._steps += 1
        full = len(self._records) == self.length + 1
        if full and (self._steps - self.length - 1) % self.seq_len == 0:
            self._store_window()

    def new_stream(self) -> None:
        """The envs restart (a new `train` call): forget the steps not yet stored."""
        self._records.clear()
        self._steps = 0

    def _store_window(self) -> None:
        """The last `L` complete steps of every env (and the obs after them) as sequences."""
        records = list(self._records)
        steps = records[: self.length]
        rows = (self.pos + np.arange(self.num_envs)) % self.capacity
        self.obs[rows] = np.stack([r[0] for r in records], axis=1)
        self.starts[rows] = np.stack([r[1] for r in records], axis=1)
        self.masks[rows] = np.stack([r[2] for r in records], axis=1)
        self.actions[rows] = np.stack([r[4] for r in steps], axis=1)
        self.rewards[rows] = np.stack([r[5] for r in steps], axis=1)
        self.ends[rows] = np.stack([r[6] for r in steps], axis=1)
        first_state = records[0][3]
        if not self.state and first_state:
            self.state = tuple(t.new_zeros((self.capacity, *t.shape[1:])) for t in first_state)
        index = torch.as_tensor(rows, device=first_state[0].device) if first_state else None
        for stored, part in zip(self.state, first_state):
            stored[index] = part
        self.pos = int((self.pos + self.num_envs) % self.capacity)
        self.size = min(self.size + self.num_envs, self.capacity)

    ARRAYS = ("obs", "starts", "masks", "actions", "rewards", "ends")

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The stored sequences, their initial states and the write position, for a resumable
        checkpoint (steps not yet part of a stored window are not kept: a resumed run's envs
        restart anyway)."""
        rows = slice(0, self.size)
        arrays = {name: getattr(self, name)[rows] for name in self.ARRAYS}
        for i, part in enumerate(self.state):
            arrays[f"state.{i}"] = part[rows].detach().cpu().numpy()
        arrays["pos"] = np.array([self.pos], dtype=np.int64)
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray], device: torch.device) -> None:
        """Put back what `state_arrays` returned (shapes are checked)."""
        size = int(arrays["actions"].shape[0])
        if size > self.capacity:
            raise ValueError(f"{size} stored sequences do not fit a replay of {self.capacity}")
        for name in self.ARRAYS:
            value, target = np.asarray(arrays[name]), getattr(self, name)
            if value.shape[1:] != target.shape[1:]:
                raise ValueError(
                    f"replay {name} has shape {value.shape[1:]}, needs {target.shape[1:]}"
                )
            target[:size] = value
        parts = [np.asarray(arrays[f"state.{i}"]) for i in range(len(arrays))
                 if f"state.{i}" in arrays]  # fmt: skip
        self.state = tuple(
            torch.zeros((self.capacity, *p.shape[1:]), dtype=torch.float32, device=device)
            for p in parts
        )
        for stored, part in zip(self.state, parts):
            if part.shape[0] != size:
                raise ValueError(f"replay state has {part.shape[0]} rows, needs {size}")
            stored[:size] = torch.as_tensor(part, device=device)
        self.size, self.pos = size, int(arrays["pos"][0]) % self.capacity
        self.new_stream()

    def sample(self, batch_size: int) -> dict[str, object]:
        """`batch_size` sequences drawn uniformly (with replacement), time on dim 1."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty sequence replay")
        idx = self.rng.integers(0, self.size, size=batch_size)
        state = ()
        if self.state:
            index = torch.as_tensor(idx, device=self.state[0].device)
            state = tuple(t[index] for t in self.state)
        return {
            "obs": self.obs[idx],
            "starts": self.starts[idx],
            "masks": self.masks[idx],
            "actions": self.actions[idx],
            "rewards": self.rewards[idx],
            "ends": self.ends[idx],
            "state": state,
        }
