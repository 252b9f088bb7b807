"""The notes' worked example (000 §7.f), replayed with the real Q-learning agent and grid world.

Description:
    On the `lecture` map (3×3, start (2,1), goal (1,3) +10, pit (3,3) −10, wall (3,1)) an
    all-zero Q table meets one episode, (2,1) → (2,2) → (3,2) → (3,3), with α = 0.5 and γ = 0.7.
    Each transition comes from `LectureRL/GridWorld-v0` and each update from the
    `q_learning` agent (`agent.learn`), reported through its update hook:

    ```text
    δ_t = r_{t+1} + γ max_a Q(s_{t+1}, a) − Q(s_t, a_t);   Q(s_t, a_t) ← Q(s_t, a_t) + α δ_t
    ```

    Only the three visited pairs are updated and only Q((3,2), →) changes, to −5, because
    entering the pit gives −10 and a terminal state bootstraps with 0. The greedy policy at
    (3,2) goes from "↑ or →" to "↑"; nothing else changes.

    `lecture-rl lecture-example` prints it; `--window` also steps through it in the viewer
    (Q triangles, the changed value outlined, target and δ beside the grid, → / ← to step).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

import gymnasium as gym
import numpy as np

import lecture_rl.envs  # noqa: F401  (registers LectureRL/GridWorld-v0)
from lecture_rl import agents
from lecture_rl.agents.events import TableUpdate as Update
from lecture_rl.envs.grid_maps import ACTION_ARROWS, MOVES

ENV_ID = "LectureRL/GridWorld-v0"
MAP_NAME = "lecture"
ALPHA = 0.5
GAMMA = 0.7
#: the episode of the notes, 1-indexed (row, col)
PATH: tuple[tuple[int, int], ...] = ((2, 1), (2, 2), (3, 2), (3, 3))
ARROWS = ACTION_ARROWS
ACTION_WORDS = ("up", "right", "down", "left")


@dataclass
class LectureExample:
    """Everything the worked example computes (tests and viewers read it).

    `greedy_before[s]` / `greedy_after[s]` list the greedy actions of state `s` (the
    arrows); `changed_pairs` are the (s, a) whose value changed; `changed_states` the states
    whose greedy set changed.
    """

    nrow: int
    ncol: int
    desc: np.ndarray
    terminal_states: set[int]
    masks: np.ndarray
    q_before: np.ndarray
    q_after: np.ndarray
    updates: list[Update] = field(default_factory=list)
    visited: list[tuple[int, int, float, int]] = field(default_factory=list)
    greedy_before: dict[int, list[int]] = field(default_factory=dict)
    greedy_after: dict[int, list[int]] = field(default_factory=dict)
    path: tuple[tuple[int, int], ...] = PATH

    @property
    def start(self) -> tuple[int, int]:
        """The episode's first cell, 1-based (row, col)."""
        return self.path[0]

    def state_of(self, row: int, col: int) -> int:
        return (row - 1) * self.ncol + (col - 1)

    def coords_of(self, s: int) -> tuple[int, int]:
        return s // self.ncol + 1, s % self.ncol + 1

    @property
    def changed_pairs(self) -> list[tuple[int, int]]:
        rows, cols = np.nonzero(self.q_after != self.q_before)
        return [(int(s), int(a)) for s, a in zip(rows, cols)]

    @property
    def changed_states(self) -> list[int]:
        return [s for s in self.greedy_before if self.greedy_before[s] != self.greedy_after[s]]

    def arrows(self, s: int, after: bool = True) -> str:
        """The greedy arrows of `s` (e.g. `"↑→"`)."""
        greedy = (self.greedy_after if after else self.greedy_before).get(s, [])
        return "".join(ARROWS[a] for a in greedy)


def _greedy_sets(env: gym.Env, q: np.ndarray) -> dict[int, list[int]]:
    u = env.unwrapped
    return {
        s: list(u.greedy_actions(q, s))
        for s in range(u.nS)
        if s not in u.terminal_states and u.desc.flat[s] != "#"
    }


def replay_lecture_episode(agent_name: str = "q_learning") -> LectureExample:
    """Run the notes' episode through the real env and agent; return what happened.

    `agent_name` may be `q_learning` (the notes' example) or `sarsa` / `expected_sarsa`
    (with an all-zero table they make the same three updates).
    """
    env = gym.make(ENV_ID, map_name=MAP_NAME)
    try:
        u = env.unwrapped
        agent = agents.make(agent_name, env, alpha=ALPHA, gamma=GAMMA, epsilon=0.0, seed=0)
        updates: list[Update] = []
        agent.add_update_hook(updates.append)
        q_before = agent.q.copy()
        result = LectureExample(
            nrow=u.nrow,
            ncol=u.ncol,
            desc=np.array(u.desc),
            terminal_states=set(u.terminal_states),
            masks=np.stack([u.action_mask(s) for s in range(u.nS)]),
            q_before=q_before,
            q_after=q_before,
            updates=updates,
            greedy_before=_greedy_sets(env, q_before),
        )
        start = result.state_of(*PATH[0])
        obs, info = env.reset(seed=0, options={"start": PATH[0]})
        if obs != start:
            raise RuntimeError(f"the lecture map did not start at {PATH[0]}")
        for here, there in zip(PATH, PATH[1:]):
            action = MOVES.index((there[0] - here[0], there[1] - here[1]))
            obs_next, reward, terminated, truncated, info = env.step(action)
            if obs_next != result.state_of(*there):
                raise RuntimeError(
                    f"moving {ACTION_WORDS[action]} from {here} reached "
                    f"{u.coords_of(obs_next)}, not {there}: the lecture map has changed"
                )
            a_next = None
            if not terminated and agent.on_policy:
                nxt = PATH[PATH.index(there) + 1]
                a_next = MOVES.index((nxt[0] - there[0], nxt[1] - there[1]))
            agent.learn(
                obs,
                action,
                reward,
                obs_next,
                terminated,
                next_mask=info.get("action_mask"),
                a_next=a_next,
            )
            result.visited.append((int(obs), action, float(reward), int(obs_next)))
            obs = obs_next
            if terminated or truncated:
                break
        result.q_after = agent.q.copy()
        result.greedy_after = _greedy_sets(env, result.q_after)
        return result
    finally:
        env.close()


# ------------------------------------------------------------------------------------------
# Printing
# ------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    text = f"{x:.4g}"
    return "0" if text == "-0" else text


def _factor(x: float) -> str:
    """A number as a factor of a product: negatives in parentheses, `0.5·(−10)`."""
    return f"({_num(x)})" if x < 0 else _num(x)


def _pair(example: LectureExample, s: int, a: int | None = None) -> str:
    row, col = example.coords_of(s)
    return f"({row},{col})" if a is None else f"Q(({row},{col}),{ARROWS[a]})"


def _update_lines(example: LectureExample) -> list[str]:
    lines = []
    for i, u in enumerate(example.updates, 1):
        if u.terminated:
            boot = f"0 ({_pair(example, u.s_next)} is terminal)"
            boot_value = 0.0
        else:
            boot_value = (u.target - u.r) / u.gamma if u.gamma else 0.0
            boot = f"max_a Q({_pair(example, u.s_next)},a) = {_num(boot_value)}"
        lines.append(
            f"{i}. {_pair(example, u.s)} --{ARROWS[u.a]}--> {_pair(example, u.s_next)}, "
            f"r = {_num(u.r)}\n"
            f"   bootstrap   {boot}\n"
            f"   target      r + γ·bootstrap = {_num(u.r)} + {_num(u.gamma)}·{_factor(boot_value)}"
            f" = {_num(u.target)}\n"
            f"   δ           target − Q = {_num(u.target)} − {_factor(u.old_value)}"
            f" = {_num(u.td_error)}\n"
            f"   new value   {_pair(example, u.s, u.a)} = {_num(u.old_value)} + "
            f"{_num(u.alpha)}·{_factor(u.td_error)} = {_num(u.new_value)}"
        )
    return lines


def _q_table(example: LectureExample, q: np.ndarray, title: str, highlight: set) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("state")
    for a in range(4):
        table.add_column(f"{ARROWS[a]} {ACTION_WORDS[a]}", justify="right")
    table.add_column("greedy")
    greedy = example.greedy_after if q is example.q_after else example.greedy_before
    for s in range(example.nrow * example.ncol):
        kind = str(example.desc.flat[s])
        if kind == "#":
            continue
        row, col = example.coords_of(s)
        label = f"({row},{col})"
        if s in example.terminal_states:
            table.add_row(f"{label} {kind}", *(["terminal"] + [""] * 3), "")
            continue
        cells = []
        for a in range(4):
            if not example.masks[s, a]:
                cells.append("·")
                continue
            text = _num(q[s, a])
            cells.append(f"[bold yellow]{text} *[/]" if (s, a) in highlight else text)
        arrows = "".join(ARROWS[a] for a in greedy.get(s, []))
        if s in example.changed_states and q is example.q_after:
            arrows = f"[bold yellow]{arrows} *[/]"
        table.add_row(label, *cells, arrows)
    return table


def _policy_grid(example: LectureExample, after: bool, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, show_header=True, title_justify="left", show_lines=True)
    table.add_column("")
    for col in range(1, example.ncol + 1):
        table.add_column(f"col {col}", justify="center")
    for row in range(1, example.nrow + 1):
        cells = []
        for col in range(1, example.ncol + 1):
            s = example.state_of(row, col)
            kind = str(example.desc.flat[s])
            if kind == "#":
                cells.append("####")
            elif kind == "G":
                cells.append("G +10")
            elif kind == "P":
                cells.append("P −10")
            else:
                arrows = example.arrows(s, after)
                changed = s in example.changed_states
                cells.append(f"[bold yellow]{arrows} *[/]" if changed and after else arrows)
        table.add_row(f"row {row}", *cells)
    return table


def print_lecture_example(example: LectureExample, out: TextIO | None = None) -> None:
    """Print the example: the setting, every update with its numbers, tables before and after."""
    from rich.console import Console

    out = sys.stdout if out is None else out
    console = Console(file=out, width=100, highlight=False, soft_wrap=True, force_jupyter=False)
    path = " → ".join(f"({r},{c})" for r, c in PATH)
    console.print(
        "[bold]Notes 000 §7.f: one episode of Q-learning on the lecture grid world[/]\n"
        f"α = {_num(ALPHA)}, γ = {_num(GAMMA)}, Q ≡ 0 at the start; episode {path}\n"
        "update: Q(s,a) ← Q(s,a) + α·δ,   δ = r + γ·max_a' Q(s',a') − Q(s,a)   (0 if s' is "
        "terminal)\n"
        "· = move not available (wall or edge); arrows = greedy actions (all tied maxima)\n"
    )
    console.print(_policy_grid(example, after=False, title="Greedy policy before the episode"))
    console.print()
    console.print("[bold]The updates, in order[/]")
    for line in _update_lines(example):
        console.print(line)
    console.print()
    changed = set(example.changed_pairs)
    console.print(_q_table(example, example.q_before, "Q before", set()))
    console.print(_q_table(example, example.q_after, "Q after (changes marked *)", changed))
    console.print(
        _policy_grid(
            example, after=True, title="Greedy policy after the episode (changes marked *)"
        )
    )
    visited = {(s, a) for s, a, _, _ in example.visited}
    summary = [
        f"updated pairs: {', '.join(_pair(example, s, a) for s, a in sorted(visited))}",
        "changed values: "
        + (
            ", ".join(
                f"{_pair(example, s, a)} {_num(example.q_before[s, a])} → "
                f"{_num(example.q_after[s, a])}"
                for s, a in example.changed_pairs
            )
            or "none"
        ),
    ]
    for s in example.changed_states:
        before = example.arrows(s, after=False)
        after = example.arrows(s, after=True)
        summary.append(
            f'policy at {_pair(example, s)}: "{" or ".join(before)}" → '
            f'"{" or ".join(after) or "none"}"'
        )
    console.print("\n".join(summary))


# ------------------------------------------------------------------------------------------
# The window
# ------------------------------------------------------------------------------------------


def show_window(
    example: LectureExample,
    seconds_per_step: float | None = None,
    hold: float | None = None,
    make_window: Any = None,
) -> int:
    """Show the example stepped in the viewer: → next update, ← back, Esc closes.

    Each frame shows the table after one more update, the changed value outlined, and the
    target and δ beside the grid; the last frame waits for a key and says so. With `hold=0`
    (headless) every frame is shown once and the window closes. `make_window`: the window's
    class or factory (default `Window`). Returns the frames shown.
    """
    from lecture_rl.envs.grid_layout import GridLayout
    from lecture_rl.runners.viewer.stepper import Stepper
    from lecture_rl.runners.viewer.window import Window

    env = gym.make(ENV_ID, map_name=MAP_NAME)
    try:
        layout = GridLayout.from_env(env)
    finally:
        env.close()
    window = (make_window or Window)("lecture-rl: notes 000 §7.f, one update at a time")
    stepper = Stepper(example, layout)
    try:
        # without a display nobody can press a key: show every frame once
        return stepper.run(window, hold=(hold is None or hold > 0) and not window.headless)
    finally:
        window.close()


def _values(example: LectureExample, q: np.ndarray) -> np.ndarray:
    masked = np.where(example.masks.astype(bool), q, -np.inf)
    v = masked.max(axis=1)
    return np.where(np.isfinite(v), v, 0.0)


def run_lecture_example(
    window: bool = False,
    out: TextIO | None = None,
    *,
    seconds_per_step: float = 1.0,
    hold: float | None = None,
    make_window: Any = None,
) -> int:
    """`lecture-rl lecture-example`: print the worked example (and show it with `window`,
    in a window `make_window` builds: default `Window`).

    Returns the exit code (0).
    """
    example = replay_lecture_episode()
    print_lecture_example(example, out)
    if window:
        show_window(example, seconds_per_step=seconds_per_step, hold=hold, make_window=make_window)
    return 0
