"""Which training episodes the live viewer draws, and which steps of a long one.

Description:
    `ShowSchedule` (`watch --record-every N`, or with `--record` a spread of about
    `RECORDED_EPISODES` episodes over the training) decides when one of env 0's episodes starts
    whether it is drawn: the first, then the first to start after each mark (every N finished
    episodes, or every N env steps for a step budget), and the last ones; with `min_steps`
    the episodes right after a drawn one are drawn too until `min_steps` of env 0's steps
    have been drawn since the mark (Blackjack's episodes last one or two steps). A tabular agent
    finishes one episode at a time, so its drawn episodes are exactly 0, N, 2N, ... and the last;
    a deep agent finishes `num_envs` at once and the pane draws env 0's, so its drawn episodes
    are the first of env 0's to start after each mark, and those that start within `num_envs`
    episodes of the end.

    `drawn_step` thins out the steps of a long episode in a recording (a CartPole episode of
    500 steps would be 500 frames): every step up to `RECORDED_STEPS`, then every 2nd up to
    twice that, every 4th up to four times, and so on, so an episode of any length costs about
    `RECORDED_STEPS` frames per doubling; the HUD's step number shows the jumps.
"""

from __future__ import annotations

from dataclasses import dataclass

#: steps of a recorded episode drawn one by one before the recording thins them out
RECORDED_STEPS = 40
#: steps a recording draws at least from each mark on (several episodes when they are short)
STRETCH_STEPS = 24


@dataclass
class ShowSchedule:
    """Which of env 0's training episodes are drawn (see the module docstring).

    Arguments:
        every: a mark every `every` finished episodes (or env steps, with `by_steps`).
        total: the training's budget in the same unit (None: unknown, no "last" episodes).
        by_steps: count env steps instead of finished episodes.
        width: episodes that can finish at once (a deep agent's `num_envs`; 1 for a table).
        min_steps: after a mark, keep drawing whole episodes until this many of env 0's steps
            were drawn (0: one episode per mark).
    """

    every: int
    total: int | None = None
    by_steps: bool = False
    width: int = 1
    min_steps: int = 0
    next_mark: int = 0
    stretch_from: int | None = None  # env 0's steps when the last mark was reached

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"every must be at least 1, got {self.every}")

    def _position(self, episodes_done: int, env_steps: int) -> int:
        return env_steps if self.by_steps else episodes_done

    def _last(self, x: int) -> bool:
        if self.total is None:
            return False
        band = max(1, self.every // 4) if self.by_steps else self.width
        return x >= self.total - band

    def _stretch(self, own_steps: int) -> bool:
        start = self.stretch_from
        return start is not None and own_steps - start < self.min_steps

    def peek(self, episodes_done: int, env_steps: int, own_steps: int = 0) -> bool:
        """Whether an episode starting now would be drawn (nothing changes); `own_steps`:
        env 0's steps so far."""
        x = self._position(episodes_done, env_steps)
        return x >= self.next_mark or self._last(x) or self._stretch(own_steps)

    def starts(self, episodes_done: int, env_steps: int, own_steps: int = 0) -> bool:
        """An episode of env 0 starts now: whether it is drawn (a mark it reaches is used up)."""
        x = self._position(episodes_done, env_steps)
        if x >= self.next_mark:
            self.next_mark = (x // self.every + 1) * self.every
            self.stretch_from = own_steps
            return True
        return self._last(x) or self._stretch(own_steps)


def episode_schedule(
    every: int, total: int | None, width: int = 1, min_steps: int = 0
) -> ShowSchedule:
    """Every `every`-th of `total` training episodes (and the last), for an agent that finishes
    up to `width` episodes at once (`min_steps`: see `ShowSchedule`)."""
    return ShowSchedule(every, total, by_steps=False, width=max(1, int(width)), min_steps=min_steps)


def drawn_step(step: int, ended: bool, first: int = RECORDED_STEPS) -> bool:
    """Whether step `step` (1-based) of a drawn episode is drawn in a recording: all of the
    first `first`, then every 2nd, every 4th, ... (the stride doubles with the length), and
    always the step that ends the episode."""
    if ended or step <= first:
        return True
    stride = 1 << max(0, (step - 1) // first).bit_length()
    return step % stride == 0


def ordinal(n: int) -> str:
    """`1st`, `2nd`, `3rd`, `4th`, ..., `11th`, `21st`."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
