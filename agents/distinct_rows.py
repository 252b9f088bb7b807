"""A network once per *distinct* observation of a minibatch, not once per row.

Description:
    A replayed minibatch of a small world repeats itself: 256 transitions of the pixel maze
    (`LectureRL/GridWorld-v0`, `map_name="maze"`, `obs_mode="image"`) show about 22 of
    its 28 possible pictures. A network whose rows do not interact (an MLP, the notes' CNN: no
    batch statistics) gives a repeated picture the same output every time, so

        f_θ(s_i) = f_θ(u_{k(i)})   for the distinct pictures u_1 … u_K and k(i) the one of row i,

    and the loss needs the network on the K distinct pictures only. Autograd's backward of the
    indexing adds up the gradients of the rows that share a picture, the same sum as one
    network pass per row, added in another order. The arithmetic of a convolution update falls
    by about n / K (11x on the maze); the finding costs ~0.4 ms per 256 pictures.

    Whether pictures repeat is measured, not assumed: `DistinctRows` stops looking after
    a few minibatches in which fewer than a third of the rows repeat (an env whose observations
    rarely repeat pays nothing after that) and looks again now and then.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DistinctRows", "distinct_rows"]


def distinct_rows(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `obs` `[n, ...]` and, per row, which one it is.

    Returns:
        `(unique, inverse)` with `unique[inverse]` equal to `obs` (byte for byte) and
        `unique` in the order the rows first appear.
    """
    rows = np.ascontiguousarray(obs).reshape(len(obs), -1)
    ids: dict[bytes, int] = {}
    firsts: list[int] = []  # the first row showing each distinct one
    inverse = np.empty(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        k = ids.setdefault(row.tobytes(), len(firsts))
        if k == len(firsts):
            firsts.append(i)
        inverse[i] = k
    return obs[firsts], inverse


class DistinctRows:
    """Decides, minibatch by minibatch, whether looking for repeated rows pays.

    Arguments:
        min_repeat: the share of repeated rows below which a minibatch counts as a miss.
        patience: misses in a row before it stops looking.
        retry_every: while stopped, look again every this many minibatches.
    """

    def __init__(self, min_repeat: float = 1 / 3, patience: int = 8, retry_every: int = 256):
        self.min_repeat, self.patience, self.retry_every = min_repeat, patience, retry_every
        self.misses = 0
        self.calls = 0

    def __call__(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """`(unique, inverse)` as `distinct_rows` when enough rows repeat, else `None`
        (then run the network on every row)."""
        self.calls += 1
        if self.misses >= self.patience and self.calls % self.retry_every:
            return None
        obs = np.asarray(obs)
        unique, inverse = distinct_rows(obs)
        if len(unique) > (1.0 - self.min_repeat) * len(obs):
            self.misses += 1
            return None
        self.misses = 0
        return unique, inverse
