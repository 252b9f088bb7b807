"""Learning live in the window: one agent, or two side by side, drawn after every update.

Description:
    Each agent trains in its own `Lane` (`lane.py`): a worker thread that stops after each
    drawn env step until the viewer has drawn it. `LiveViewer` runs the loop: wait for every
    lane's step, draw the frame, wait until the next step is due (`pacing.Pacer`, which also
    applies the keys), let the lanes go on; then greedy episodes, then the last frame held.
    In turbo the lanes run free between frames (about 30 per second), so learning goes at
    close to headless speed. Two lanes step in lockstep on the same env with the same seeds.

    What a frame shows is the view's: `GridCanvas` (`grid_canvas.py`) on a grid (Q triangles,
    the update in the notes' notation), `EnvCanvas` (`env_canvas.py`) on any other env (its
    own picture beside what the agent thinks). Both draw onto the canvas handed to
    `Window.show`, and every input comes through `Window.events`, so another front end that
    stands in for the `Window` gets both views.

    `show_every=N` (`watch --record-every N`) draws only every N-th training episode (the
    first and the last too, `schedule.ShowSchedule`); `thin` draws a long episode's steps
    more and more sparsely (`schedule.drawn_step`), so a recording of a few hundred frames
    spans the whole training and ends with what was learned; every frame names its episode
    (`caption`, also kept per frame in `captions`).

    pygame is only touched by the main thread; the workers only read and write the agent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lecture_rl.runners.viewer.controls import TURBO_FPS, Controls
from lecture_rl.runners.viewer.env_canvas import EnvCanvas
from lecture_rl.runners.viewer.grid_canvas import GridCanvas
from lecture_rl.runners.viewer.lane import Lane, LaneState, blocked, index, make_lane_factory
from lecture_rl.runners.viewer.pacing import Pacer
from lecture_rl.runners.viewer.schedule import (
    STRETCH_STEPS,
    ShowSchedule,
    drawn_step,
    episode_schedule,
    ordinal,
)
from lecture_rl.runners.viewer.window import Window


class LiveViewer:
    """The live classroom viewer (`lecture-rl watch`): lanes, window, keys, view.

    Arguments:
        make_lanes: builds the lanes (called again by `r`, restart).
        env_label: the env and map for the HUD.
        window: where frames go (see `Window`).
        controls: the key state (speed, pause, toggles).
        greedy_episodes: greedy episodes played after training.
        hold: keep the last frame until a key or close (not when headless).
        eval_seed: first seed of the greedy episodes.
        show_every: draw only every `show_every`-th training episode, the first and the last
            (None: every episode); the others run unseen at full speed.
        steps_drawn: draw at most this many steps of a training episode (None: all).
        thin: a recording: draw a long episode's steps more and more sparsely, and from each
            mark on at least `STRETCH_STEPS` steps (several episodes when they are short).
        show_every_steps: with a step budget, draw the first episode to start after every
            `show_every_steps` env steps (and the last ones) instead.
    """

    def __init__(
        self,
        make_lanes: Callable[[], list[Lane]],
        *,
        env_label: str,
        window: Window,
        controls: Controls | None = None,
        greedy_episodes: int = 3,
        hold: bool = True,
        eval_seed: int = 10_000,
        step_cap: int = 200,
        show_every: int | None = None,
        steps_drawn: int | None = None,
        thin: bool = False,
        show_every_steps: int | None = None,
    ):
        self.make_lanes = make_lanes
        self.show_every = show_every
        self.show_every_steps = show_every_steps
        self.steps_drawn = steps_drawn
        self.thin = thin
        self.env_label = env_label
        self.window = window
        self.controls = controls or Controls()
        self.greedy_episodes = greedy_episodes
        self.hold = hold
        self.eval_seed = eval_seed
        self.step_cap = step_cap
        self.lanes: list[Lane] = self._new_lanes()
        self.scale = 1.0
        self.view: GridCanvas | EnvCanvas = (
            GridCanvas(env_label) if self.lanes[0].layout is not None else EnvCanvas(env_label)
        )
        if isinstance(self.view, EnvCanvas):
            self.view.strip_every_frame = window.headless and window.recorder is not None
        self.pacer = Pacer(window, self.controls, self.show, self._fit_to_window)
        self.greedy_runs = 0
        self.restarts = 0
        #: the caption of every frame shown (what names its episode), in order
        self.captions: list[str] = []
        self._retired: list[Lane] = []  # halted by a restart: their envs close with the window
        self.frame_seconds = 0.0  # what the last frame took to draw and show
        self.view.build(self.lanes, self.scale)

    def _new_lanes(self) -> list[Lane]:
        lanes = self.make_lanes()
        for lane in lanes:
            lane.schedule = self._schedule(lane)
            lane.steps_drawn = self.steps_drawn
            lane.thin = self.thin
        return lanes

    def _schedule(self, lane: Lane) -> ShowSchedule | None:
        width = _envs_of(lane.agent)
        stretch = STRETCH_STEPS if self.thin else 0
        if self.steps_drawn is not None:  # a frame budget (--max-frames): each mark its share
            stretch = min(stretch, self.steps_drawn)
        if self.show_every:
            return episode_schedule(self.show_every, lane.display_total, width, stretch)
        if self.show_every_steps:
            total = lane.budget.get("steps")
            return ShowSchedule(
                self.show_every_steps, total, by_steps=True, width=width, min_steps=stretch
            )
        return None

    # ----- what the view shows ----------------------------------------------------------
    @property
    def canvas(self) -> Any:
        """The surface the frames are drawn on."""
        return self.view.canvas

    @property
    def painters(self) -> list[Any]:
        """The grid view's painters, one per lane (empty for the env's own picture)."""
        return getattr(self.view, "painters", [])

    def hud_lines(self, lane: Lane) -> list[Any]:
        """The status lines of one pane (env, agent, episode, step, return, α γ ε, mode...)."""
        return self.view.hud_lines(lane, self.controls)

    def caption(self) -> str:
        """The line under the panes while only some episodes are drawn: which one this is."""
        if not (self.show_every or self.show_every_steps or self.thin):
            return ""
        lane = self.lanes[0]
        if lane.state.mode != "learning":
            return f"after {len(lane.returns)} training episodes: the greedy policy"
        total = lane.display_total
        of = f" of {total}" if total else ""
        if self.show_every:
            every = "every episode" if self.show_every == 1 else f"every {ordinal(self.show_every)}"
        elif self.show_every_steps:
            every = f"one every {self.show_every_steps:,} env steps"
        else:
            every = "every episode"
        shown = f"{every} shown"
        stretch = self.lanes[0].schedule.min_steps if self.lanes[0].schedule else 0
        if stretch > 1 and self.show_every != 1:  # (every episode drawn: nothing to stretch)
            shown += f", at least {stretch} steps from each"
        step = f"   step {lane.state.episode_steps}" if self.thin else ""
        # agents that count episodes differently side by side: the line is the top pane's
        who = f"{lane.name} (top): " if len({_envs_of(x.agent) for x in self.lanes}) > 1 else ""
        if _envs_of(lane.agent) > 1:  # the pane draws env 0, one of several envs at once
            return (
                f"{who}env 0's episode {lane.state.episode + 1}, begun after "
                f"{lane.state.number - 1}{of} training episodes{step}   ({shown})"
            )
        return f"{who}training episode {lane.state.number}{of}{step}   ({shown})"

    def render(self, prompt: str = "") -> Any:
        """Draw the frame (every pane, the legend or `prompt`); returns the canvas."""
        return self.view.render(self.lanes, self.controls, prompt)

    def show(self, prompt: str = "") -> None:
        text = prompt or self.caption()
        before = self.window.frames
        start = time.perf_counter()
        self.window.show(self.render(text))
        self.frame_seconds = time.perf_counter() - start
        if self.window.frames > before:
            self.captions.append(text)

    def _turbo_gap(self) -> float:
        """Seconds the lanes run free between turbo frames: 1 / `TURBO_FPS`, or twice what a
        frame takes where that is more (an env whose own picture is slow to draw), so
        learning keeps at least two thirds of the time."""
        return max(1.0 / TURBO_FPS, 2.0 * self.frame_seconds)

    def _fit_to_window(self) -> None:
        """After a resize: the view sized so the canvas fills the window."""
        if not self.window.resized or self.window.size is None:
            return
        self.window.resized = False
        cw, ch = self.canvas.get_size()
        ww, wh = self.window.size
        self.scale = max(0.3, self.scale * min(ww / cw, wh / ch))
        self.view.build(self.lanes, self.scale)
        if self.window.screen is not None:
            import pygame

            self.window.screen = pygame.display.set_mode(self.window.size, pygame.RESIZABLE)

    # ----- the loop ---------------------------------------------------------------------
    def run(self) -> int:
        """Train live, play greedy episodes, hold the last frame. Returns 0."""
        try:
            self._train_live()
            if not self.controls.quit:
                self._greedy_after()
            if (
                not self.controls.quit
                and self.hold
                and not self.window.headless
                and not self.window.keeps_last_frame
            ):
                prompt = "finished: press any key or close the window"
                self.pacer.hold(lambda: self.show(prompt))
        finally:
            for lane in self.lanes:
                lane.halt()
            self.window.close()
            for lane in self._retired + self.lanes:  # after the window: an env's close may
                for env in lane.envs():  # quit pygame (Gymnasium's classic control does)
                    try:
                        env.close()
                    except Exception:  # noqa: BLE001 - closing is best effort
                        pass
        for lane in self.lanes:
            if lane.error is not None:
                raise lane.error
        return 0

    def _train_live(self) -> None:
        for lane in self.lanes:
            lane.start()
        last_step = time.perf_counter()
        while True:
            active = [lane for lane in self.lanes if not lane.finished]
            for lane in active:
                lane.wait()
            active = [lane for lane in active if not lane.finished]
            if not active:
                return
            self.show()
            self.pacer.pace(last_step)
            last_step = time.perf_counter()
            c = self.controls
            if c.quit:
                return
            if c.restart_request:
                c.restart_request = False
                self._restart()
                last_step = time.perf_counter()
                continue
            if c.greedy_request:
                c.greedy_request = False
                self._greedy_episode(mid_training=True)
                if c.quit:
                    return
            free = time.perf_counter() + self._turbo_gap() if c.turbo and not c.manual else 0.0
            for lane in active:
                lane.resume(free)

    def _restart(self) -> None:
        for lane in self.lanes:
            lane.halt()
        self._retired += self.lanes
        self.lanes = self._new_lanes()
        self.restarts += 1
        self.view.build(self.lanes, self.scale)
        for lane in self.lanes:
            lane.start()

    # ----- greedy runs ------------------------------------------------------------------
    def _greedy_after(self) -> None:
        for _ in range(self.greedy_episodes):
            self._greedy_episode()
            if self.controls.quit:
                return

    def _greedy_episode(self, mid_training: bool = False) -> None:
        """Play one greedy episode per lane in lockstep, drawn step by step."""
        saved = [lane.state for lane in self.lanes]
        seed = self.eval_seed + self.greedy_runs
        self.greedy_runs += 1
        runs = []
        for lane in self.lanes:
            obs, info = lane.eval_env.reset(seed=seed)
            if hasattr(lane.agent, "reset"):
                lane.agent.reset()
            lane.state = LaneState(mode="greedy", episode=len(lane.returns), obs=obs)
            lane.state.number = len(lane.returns)
            lane.greedy.start(obs)
            if lane.layout is not None:
                s = index(obs)
                lane.state.pos, lane.state.trail = s, [s]
            runs.append([obs, info, False])
        self.show()
        last_step = time.perf_counter()
        last_frame = 0.0
        steps = 0
        while not all(run[2] for run in runs) and steps < self.step_cap:
            self.pacer.pace(last_step)
            last_step = time.perf_counter()
            if self.controls.quit or self.controls.restart_request:
                break
            self.controls.greedy_request = False
            for lane, run in zip(self.lanes, runs):
                if not run[2]:
                    self._greedy_step(lane, run)
            steps += 1
            if self.thin and not drawn_step(steps, all(run[2] for run in runs)):
                continue  # a long greedy episode in a recording: thinned like the others
            now = time.perf_counter()
            if not self.controls.turbo or now - last_frame >= self._turbo_gap():
                self.show()
                last_frame = now
        self.show()
        if mid_training:
            for lane, state in zip(self.lanes, saved):
                lane.state = state

    def _greedy_step(self, lane: Lane, run: list[Any]) -> None:
        obs, info = run[0], run[1]
        a = lane.agent.act(obs, info, greedy=True)
        obs2, r, terminated, truncated, info2 = lane.eval_env.step(a)
        st = lane.state
        if lane.layout is not None:
            s, s2 = index(obs), index(obs2)
            st.blocked = blocked(lane.layout, s, index(a), s2, terminated)
            st.pos = s2
            st.trail.append(s2)
        st.last_action, st.last_reward = _plain(a), float(r)
        st.obs, st.ended, st.terminal = obs2, bool(terminated or truncated), bool(terminated)
        st.episode_return += float(r)
        st.episode_steps += 1
        st.drawn += 1
        lane.greedy.add(st.last_action, float(r), obs2)
        run[0], run[1], run[2] = obs2, info2, bool(terminated or truncated)

    def hold_last(self, prompt: str) -> None:
        """Keep the last frame (with `prompt`) until a key press or the window closes."""
        self.pacer.hold(lambda: self.show(prompt))


def _envs_of(agent: Any) -> int:
    """The envs a deep agent steps at once (its `num_envs`); 1 for a table."""
    hp = getattr(agent, "hp", None)
    if not hasattr(agent, "backbone") or not isinstance(hp, dict):
        return 1
    return max(1, int(hp.get("num_envs", 1) or 1))


def _plain(a: Any) -> Any:
    """An action as the HUD names it: an int, or a vector."""
    import numpy as np

    arr = np.asarray(a)
    if arr.ndim == 0 and np.issubdtype(arr.dtype, np.integer):
        return int(arr)
    return arr.astype(float).reshape(-1) if arr.ndim else float(arr)


def shown_episodes(every: int, total: int | None) -> Callable[[int], bool]:
    """Training episodes (0-based) drawn with `show_every` for an agent that finishes one at a
    time (a table): 0, N, 2N, ... and the last of `total`, as `episode_schedule` picks them."""
    last = None if total is None else total - 1
    return lambda episode: episode % every == 0 or episode == last


__all__ = ["Lane", "LaneState", "LiveViewer", "make_lane_factory", "shown_episodes"]
