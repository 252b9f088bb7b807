"""What a viewer draws on top of a grid: values, Q-values, a policy, and which layers are shown.

Description:
    `Overlay` holds a per-state value heat map, per-action numbers at the cell edges and the
    arrows of a policy (greedy from Q when none is given); `ViewOptions` the viewer's toggles.
    `grid_draw.GridPainter` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def greedy_actions(q_s: np.ndarray, mask_s: np.ndarray, atol: float = 1e-9) -> list[int]:
    """Every action tied (within `atol`) for the maximum of `q_s` among available ones."""
    available = np.flatnonzero(mask_s)
    if available.size == 0:
        return []
    best = q_s[available].max()
    return [int(a) for a in available if q_s[a] >= best - atol]


@dataclass
class Overlay:
    """What a viewer asked to draw on top of the grid (all optional).

    `values` `(nS,)`: heat map; `q` `(nS, nA)`: numbers at the cell edges;
    `policy` `(nS, nA)` bool: arrows to draw (`None` = greedy from `q` if given).
    """

    values: np.ndarray | None = None
    q: np.ndarray | None = None
    policy: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        return self.values is None and self.q is None and self.policy is None

    @classmethod
    def build(
        cls,
        nS: int,
        nA: int,
        values: Any = None,
        q: Any = None,
        policy: Any = None,
    ) -> Overlay:
        """Check shapes and finiteness; turn `policy` into an `(nS, nA)` bool table."""

        def table(name: str, x: Any, shape: tuple[int, ...]) -> np.ndarray:
            arr = np.asarray(x, dtype=float)
            if arr.shape != shape:
                raise ValueError(
                    f"overlay {name} must have shape {shape} (one entry per "
                    f"{'state' if len(shape) == 1 else 'state and action'}), got {arr.shape}"
                )
            if np.isnan(arr).any():
                raise ValueError(f"overlay {name} contains NaN")
            return arr.copy()

        v = None if values is None else table("values", values, (nS,))
        qt = None if q is None else table("q", q, (nS, nA))
        pol = None
        if policy is not None:
            p = np.asarray(policy)
            if p.shape == (nS,):
                if not np.issubdtype(p.dtype, np.integer) or p.min() < 0 or p.max() >= nA:
                    raise ValueError(
                        f"overlay policy of shape ({nS},) must hold actions in 0..{nA - 1}"
                    )
                pol = np.zeros((nS, nA), dtype=bool)
                pol[np.arange(nS), p] = True
            elif p.shape == (nS, nA):
                pol = np.asarray(p, dtype=float) > 0
            else:
                raise ValueError(
                    f"overlay policy must have shape ({nS},) (an action per state) or "
                    f"({nS}, {nA}) (positive entries get arrows), got {p.shape}"
                )
        return cls(values=v, q=qt, policy=pol)

    def arrows(self, s: int, mask_s: np.ndarray) -> list[int]:
        """Directions to draw an arrow for at state `s`."""
        if self.policy is not None:
            return [int(a) for a in np.flatnonzero(self.policy[s])]
        if self.q is not None:
            return greedy_actions(self.q[s], mask_s)
        return []


@dataclass
class ViewOptions:
    """Which overlay layers to draw (the viewer's toggles)."""

    values: bool = True
    q: bool = True
    policy: bool = True
    trail: bool = True
    colorbar: bool = True


def format_number(x: float) -> str:
    """Short text for a value in a cell: `-5`, `0.35`, `12.3`."""
    if abs(x) >= 100:
        return f"{x:.0f}"
    text = f"{x:.3g}"  # three significant digits, no trailing zeros: 8.1, -5, 0.35, 12.3
    return "0" if text == "-0" else text
