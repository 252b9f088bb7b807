"""Learning live in the window: one agent, or two side by side, drawn after every update.

Description:
    Each agent trains in its own :class:`Lane`: a worker thread runs
    ``agent.train(env, callbacks=[lane])`` and the lane, a subscriber of the event stream,
    stops the worker after each env step until the viewer has drawn it. For tabular agents
    the ``TableUpdate`` of a step arrives before its ``Transition``, so the frame drawn on a
    ``Transition`` shows the table after the agent learned from that step; the updated
    (s, a) flashes and the side panel prints the update with its numbers. In turbo the lanes
    run free between frames (about 30 per second), so learning goes at close to headless
    speed. Two lanes step in lockstep on the same env with the same seeds.

    ``show_every=N`` (``watch --record-every N``) draws only every N-th training episode (the
    first and the last too): the others run unseen, with no frame, no update event and no
    waiting, so a recording of a few hundred frames spans the whole training and ends with
    what was learned; every frame names its episode.

    pygame is only touched by the main thread; the workers only read and write the agent.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lecture_rl.agents.events import EpisodeEnd, TableUpdate, TrainingCallback, Transition
from lecture_rl.envs import rendering
from lecture_rl.envs.grid_draw import GridPainter
from lecture_rl.envs.grid_layout import GridLayout, frame_cell_size
from lecture_rl.envs.grid_maps import MOVES
from lecture_rl.envs.grid_overlay import Overlay
from lecture_rl.runners.viewer import panel
from lecture_rl.runners.viewer.controls import LEGEND, TURBO_FPS, Controls, speed_text
from lecture_rl.runners.viewer.window import Window

_now = time.perf_counter
PANEL_WIDTH = 420
PANEL_HEIGHT = 392
LEGEND_HEIGHT = 66
WORDS = ("up", "right", "down", "left")
EXPLORE: rendering.Color = (201, 42, 42)
EXPLOIT: rendering.Color = (43, 138, 62)


@dataclass
class LaneState:
    """What a pane shows about its agent right now (written by the worker, read by the
    main thread only while the worker waits)."""

    pos: int | None = None
    trail: list[int] | None = None
    episode: int = 0
    episode_return: float = 0.0
    episode_steps: int = 0
    last_action: int | None = None
    last_reward: float | None = None
    explored: bool | None = None
    blocked: bool = False
    mode: str = "learning"
    update: Any = None


class Lane(TrainingCallback):
    """One agent learning in a worker thread, one env step per frame.

    Arguments:
        name: the pane's title (the agent's name).
        agent: a tabular agent (anything with ``train(env, ..., callbacks=)``).
        env: the env it trains on; ``eval_env``: a second one for greedy runs.
        budget: ``{"episodes": N}`` and/or ``{"steps": N}`` for ``train``.
        layout: the grid's :class:`GridLayout` (for positions and "blocked").
    """

    events = (Transition, EpisodeEnd)

    def __init__(
        self,
        name: str,
        agent: Any,
        env: Any,
        budget: dict[str, int | None],
        layout: GridLayout,
        eval_env: Any = None,
    ):
        self.name = name
        self.agent = agent
        self.env = env
        self.eval_env = eval_env if eval_env is not None else env
        self.budget = {k: v for k, v in budget.items() if v is not None}
        #: the episode count the HUD shows as N in "episode k/N" (default: the budget's)
        self.display_total: int | None = self.budget.get("episodes")
        self.layout = layout
        self.state = LaneState()
        self.returns: list[float] = []
        self.updates: list[Any] = []  # the updates of the last step shown (double Q: one)
        self.env_steps = 0
        self.finished = False
        self.stop = False
        self.error: BaseException | None = None
        self.free_until = 0.0
        self._posted = threading.Semaphore(0)
        self._go = threading.Semaphore(0)
        self._thread: threading.Thread | None = None
        self._episode_of_trail = -1
        self._new_episode = True
        self.tap = _UpdateTap(self)
        #: which training episodes (0-based) are drawn; None: every one
        self.shows: Callable[[int], bool] | None = None
        #: at most this many steps of a drawn episode are drawn (the rest runs unseen)
        self.steps_drawn: int | None = None
        self._stream: Any = None
        self._tap_on = True
        self._post_next = False

    # ----- worker side ------------------------------------------------------------------
    def on_training_start(self, agent: Any, budget: Any) -> None:
        # The run's event stream (set on every subscriber): in turbo the update tap is
        # switched off between frames, so the agent does not build TableUpdates nobody draws.
        self._stream = self.stream
        self._tap_on = True

    def _set_tap(self, on: bool) -> None:
        if on == self._tap_on:
            return
        stream = self._stream
        if stream is None or (on is False and self.tap not in stream.callbacks):
            return
        if on:
            stream.subscribe(self.tap)
        else:
            stream.unsubscribe(self.tap)
        self._tap_on = on

    def on_event(self, event: Any) -> bool | None:
        kind = type(event)
        if kind is EpisodeEnd:
            self.returns.append(float(event.record["return"]))
            return False if self.stop else None  # agents that emit no Transition stop here
        if kind is not Transition:
            return None
        st = self.state
        self.env_steps += 1
        s, s2 = _cells(event)
        if self._new_episode or event.episode != self._episode_of_trail:
            st.trail = [s]
            st.episode_return, st.episode_steps = 0.0, 0
            self._episode_of_trail = event.episode
        st.trail.append(s2)
        st.episode_return += event.reward
        st.episode_steps += 1
        self._new_episode = event.terminated or event.truncated
        self._last = event
        unseen = self.shows is not None and not self.shows(event.episode)
        if self.steps_drawn is not None and st.episode_steps > self.steps_drawn:
            unseen = True
        if unseen and not self.stop:
            # an episode nobody sees: run free; hear the updates again just before a shown one
            next_shown = self.shows is None or self.shows(event.episode + 1)
            self._set_tap(self._new_episode and next_shown)
            return None
        free_until = self.free_until
        if free_until and not self.stop:
            if _now() < free_until:
                if self._tap_on:
                    self._set_tap(False)
                return None  # turbo: run free until the next frame is due
            if not self._tap_on:  # due: hear the next step's update, then draw that step
                self._set_tap(True)
                return None
        # the rest only for a step that is drawn
        st.episode, st.pos, st.last_action = event.episode, s2, _index(event.action)
        st.last_reward, st.explored = float(event.reward), event.explored
        st.blocked = _blocked(self.layout, s, st.last_action, s2, event.terminated)
        if self.stop:
            return False
        self._posted.release()  # the viewer may draw now
        self._go.acquire()  # ... and lets us go on
        return False if self.stop else None

    def _run(self) -> None:
        try:
            self.agent.train(self.env, callbacks=[self, self.tap], **self.budget)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
        finally:
            last = getattr(self, "_last", None)
            if last is not None:  # the state after the last step (turbo may not have drawn it)
                st = self.state
                st.pos, st.last_action = _index(last.next_obs), _index(last.action)
                st.last_reward, st.explored = float(last.reward), last.explored
            self.finished = True
            self._posted.release()

    # ----- main-thread side -------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"lane-{self.name}", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Block until the worker has made a step (or finished)."""
        self._posted.acquire()

    def resume(self, free_until: float = 0.0) -> None:
        """Let the worker go on: one step, or free running until ``free_until``."""
        if not self.finished:
            self.free_until = free_until
            self._go.release()

    def halt(self) -> None:
        """Stop training, join the worker and close the lane's envs."""
        self.stop = True
        if self._thread is not None and self._thread.is_alive():
            self._go.release()
            self._thread.join(timeout=10)
        for env in {id(self.env): self.env, id(self.eval_env): self.eval_env}.values():
            try:
                env.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def overlay(self) -> Overlay:
        q = getattr(self.agent, "q", None)
        values = getattr(self.agent, "v", None)
        q = np.asarray(q, dtype=float) if q is not None else None
        if q is not None and q.ndim != 2:
            q = None
        values = np.asarray(values, dtype=float) if values is not None else None
        if values is not None and values.ndim != 1:
            values = None
        return Overlay(values=values, q=q)


class _UpdateTap(TrainingCallback):
    """The lane's ear for :class:`TableUpdate` events (subscribed apart, so turbo can mute it)."""

    events = (TableUpdate,)

    def __init__(self, lane: Lane):
        self.lane = lane

    def on_event(self, event: Any) -> bool | None:
        self.lane.state.update = event
        return None


def _cells(event: Transition) -> tuple[int, int]:
    """The grid cells of a transition's s and s': the env's ``info["state"]`` (and
    ``info["state_before"]``, which deep agents add) where it reports them, so agents that see
    pixels or coordinates are placed right; else the observation as an index or one-hot."""
    next_obs, info = event.next_obs, event.info or {}
    s2 = info.get("state")
    if s2 is None:
        s2 = next_obs if type(next_obs) is int else _index(next_obs)  # noqa: E721
    s = info.get("state_before")
    if s is None:
        s = _index(event.obs)
    return int(s), int(s2)


def _index(x: Any) -> int:
    """A discrete observation or action as a plain int (a one-hot vector: its hot index)."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    arr = np.asarray(x).reshape(-1)
    if arr.size > 1:
        return int(arr.argmax())
    return int(arr[0])


def _blocked(layout: GridLayout, s: int, a: int | None, s2: int, terminated: bool) -> bool:
    """Whether the move from ``s`` with ``a`` ran into the edge or a wall (and stayed put)."""
    if a is None or terminated or s2 != s or not 0 <= a < layout.nA:
        return False
    d_row, d_col = MOVES[layout.directions[a]]
    row, col = layout.coords_of(s)
    r2, c2 = row + d_row, col + d_col
    return (
        not (1 <= r2 <= layout.nrow and 1 <= c2 <= layout.ncol)
        or layout.kinds[r2 - 1, c2 - 1] == "#"
    )


class LiveViewer:
    """The live classroom viewer (``lecture-rl watch``): lanes, window, keys, panel, HUD.

    Arguments:
        make_lanes: builds the lanes (called again by ``r``, restart).
        env_label: the env and map for the HUD.
        window: where frames go (see :class:`Window`).
        controls: the key state (speed, pause, toggles).
        greedy_episodes: greedy episodes played after training.
        hold: keep the last frame until a key or close (not when headless).
        eval_seed: first seed of the greedy episodes.
        show_every: draw only every ``show_every``-th training episode, the first and the last
            (None: every episode); the others run unseen at full speed.
        steps_drawn: draw at most this many steps of a training episode (None: all).
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
    ):
        self.make_lanes = make_lanes
        self.show_every = show_every
        self.steps_drawn = steps_drawn
        self.env_label = env_label
        self.window = window
        self.controls = controls or Controls()
        self.greedy_episodes = greedy_episodes
        self.hold = hold
        self.eval_seed = eval_seed
        self.step_cap = step_cap
        self.lanes: list[Lane] = self._new_lanes()
        self.scale = 1.0
        self.painters: list[GridPainter] = []
        self.canvas: Any = None
        self.flash: dict[int, tuple[int, int | None] | None] = {}
        self.greedy_runs = 0
        self.restarts = 0
        self._build_painters()

    def _new_lanes(self) -> list[Lane]:
        lanes = self.make_lanes()
        for lane in lanes:
            if self.show_every:
                lane.shows = shown_episodes(self.show_every, lane.display_total)
            lane.steps_drawn = self.steps_drawn
        return lanes

    def caption(self) -> str:
        """The line under the grid while only some episodes are drawn: which one this is."""
        if not self.show_every:
            return ""
        lane = self.lanes[0]
        total = lane.display_total
        if lane.state.mode != "learning":
            done = len(lane.returns)
            return f"after {done} training episodes: the greedy policy"
        of = f" of {total}" if total else ""
        every = "every episode" if self.show_every == 1 else f"every {_ordinal(self.show_every)}"
        return f"training episode {lane.state.episode + 1}{of}   ({every} shown)"

    # ----- layout -----------------------------------------------------------------------
    def _build_painters(self) -> None:
        layouts = [lane.layout for lane in self.lanes]
        base = frame_cell_size(layouts[0].nrow, layouts[0].ncol)
        if len(self.lanes) > 1:
            base = int(base * 0.85)
        px = max(24, int(base * self.scale))
        self.painters = [GridPainter(layout, px) for layout in layouts]
        p = self.painters[0]
        self.pane_height = max(p.height, PANEL_HEIGHT)
        width = p.width + PANEL_WIDTH
        height = self.pane_height * len(self.lanes) + LEGEND_HEIGHT
        self.canvas = rendering.new_surface(width, height)

    def _fit_to_window(self) -> None:
        """After a resize: cells (and their fonts) sized so the canvas fills the window."""
        if not self.window.resized or self.window.size is None:
            return
        self.window.resized = False
        cw, ch = self.canvas.get_size()
        ww, wh = self.window.size
        self.scale = max(0.3, self.scale * min(ww / cw, wh / ch))
        self._build_painters()
        if self.window.screen is not None:
            import pygame

            self.window.screen = pygame.display.set_mode(self.window.size, pygame.RESIZABLE)

    # ----- drawing ----------------------------------------------------------------------
    def render(self, prompt: str = "") -> Any:
        """Draw every pane, the HUD, the panel and the legend on the canvas; returns it."""
        canvas = self.canvas
        canvas.fill(rendering.BACKGROUND)
        for i, (lane, painter) in enumerate(zip(self.lanes, self.painters)):
            top = i * self.pane_height
            st = lane.state
            flash = None
            if st.update is not None and st.mode == "learning":
                flash = (int(st.update.s), None if st.update.a is None else int(st.update.a))
            painter.draw(
                lane.overlay(),
                st.pos,
                st.trail,
                flash=flash,
                options=self.controls.options,
                target=canvas,
                origin=(0, top),
            )
            self._draw_panel(lane, (painter.width, top + 6))
        self._draw_legend(prompt)
        return canvas

    @staticmethod
    def _episode_lines(lane: Lane, episode: str) -> list[str]:
        """["episode k/N   step t   return G"]; an agent learning in several envs at once counts
        the episodes of all of them while the pane draws env 0's, so its lines say so."""
        st = lane.state
        hp = getattr(lane.agent, "hp", None)
        envs = hp.get("num_envs") if isinstance(hp, dict) else None
        step_return = f"step {st.episode_steps}   return {panel.num(st.episode_return)}"
        if st.mode == "learning" and isinstance(envs, int) and envs > 1:
            return [f"episodes {episode}, all {envs} envs", f"env 0 (drawn): {step_return}"]
        return [f"episode {episode}   {step_return}"]

    def hud_lines(self, lane: Lane) -> list[str | tuple[str, rendering.Color]]:
        """The status lines of one pane (env, agent, episode, step, return, α γ ε, mode...)."""
        st, agent = lane.state, lane.agent
        total = lane.display_total
        shown = len(lane.returns) + (1 if st.mode == "learning" and not lane.finished else 0)
        if total:
            shown = min(max(shown, 1), total)
        episode = f"{shown}/{total}" if total else str(shown)
        mode = "paused" if self.controls.paused else st.mode
        params = []
        for name, symbol in (("alpha", "α"), ("gamma", "γ"), ("epsilon", "ε")):
            value = getattr(agent, name, None)
            if isinstance(value, (int, float)):
                params.append(f"{symbol}={panel.num(value)}")
        lines: list[str | tuple[str, rendering.Color]] = [
            f"{lane.name} on {self.env_label}",
            f"mode: {mode}   speed: {speed_text(self.controls.speed)}",
            *self._episode_lines(lane, episode),
            "   ".join(params) if params else "",
        ]
        if st.last_action is not None:
            word = WORDS[lane.layout.directions[st.last_action]] if st.last_action < 4 else "?"
            how = {True: "explore", False: "exploit", None: "sampled from π"}[st.explored]
            if st.mode != "learning":
                how = "greedy"
            text = f"last: {word} ({how})   r={panel.num(st.last_reward or 0.0)}"
            if st.blocked:
                text += "   BLOCKED"
            color = EXPLORE if st.explored and st.mode == "learning" else rendering.INK
            lines.append((text, EXPLORE if st.blocked else color))
        return lines

    def _cell(self, layout: GridLayout) -> Callable[[int], str]:
        return lambda s: "({},{})".format(*layout.coords_of(int(s)))

    def _draw_panel(self, lane: Lane, origin: tuple[int, int]) -> None:
        x, y = origin
        y = panel.draw_lines(self.canvas, self.hud_lines(lane), (x, y), size=15, spacing=1.3)
        y += 4
        update = lane.state.update
        if update is not None and lane.state.mode == "learning":
            lines = panel.update_lines(
                update,
                self._cell(lane.layout),
                rule=getattr(lane.agent, "name", ""),
                action_arrows=[("↑", "→", "↓", "←")[d] for d in lane.layout.directions],
            )
            y = panel.draw_lines(self.canvas, lines, (x, y), size=15, spacing=1.3)
        else:
            y = panel.draw_lines(
                self.canvas, [("greedy run: no learning", rendering.LABEL)], (x, y), size=15
            )
        plot_top = origin[1] + PANEL_HEIGHT - 122
        panel.draw_returns(self.canvas, (x, plot_top, PANEL_WIDTH - 16, 110), lane.returns)

    def _draw_legend(self, prompt: str) -> None:
        y0 = self.canvas.get_height() - LEGEND_HEIGHT + 6
        if prompt:
            panel.draw_text(self.canvas, prompt, (12, y0 + 20), size=20, color=rendering.INK)
            return
        if not self.controls.legend:
            panel.draw_text(self.canvas, "h: help", (12, y0), size=14, color=rendering.LABEL)
            return
        columns = 4
        width = (self.canvas.get_width() - 24) // columns
        for i, (key, what) in enumerate(LEGEND):
            x = 12 + (i % columns) * width
            y = y0 + (i // columns) * 22
            rect = panel.draw_text(self.canvas, key, (x, y), size=14, color=rendering.INK)
            panel.draw_text(self.canvas, what, (rect.right + 6, y), size=14, color=rendering.LABEL)

    def show(self, prompt: str = "") -> None:
        self.window.show(self.render(prompt or self.caption()))

    # ----- the loop ---------------------------------------------------------------------
    def _handle_events(self) -> bool:
        """Process window and key events; returns whether anything changed the view."""
        import pygame

        c = self.controls
        before = (c.paused, c.speed, c.legend, dataclasses.astuple(c.options))
        for event in self.window.events():
            if event.type == pygame.KEYDOWN:
                c.handle_key(event.key, getattr(event, "unicode", ""))
        # steps and requests need no redraw of their own; view changes do
        changed = before != (c.paused, c.speed, c.legend, dataclasses.astuple(c.options))
        if self.window.closed:
            self.controls.quit = True
        if self.window.resized:
            self._fit_to_window()
            changed = True
        if self.window.done:
            self.controls.quit = True
        return changed

    def _pace(self, last_step: float) -> None:
        """Wait until the next step is due, handling keys; returns early on quit."""
        c = self.controls
        while not c.quit:
            if self._handle_events():
                self.show()
            if c.quit or c.greedy_request or c.restart_request:
                return
            if c.manual:
                if c.take_step():
                    return
                time.sleep(0.01)
                continue
            if c.turbo or (self.window.headless and self.window.recorder is not None):
                return  # nobody watches a headless recording: its pace is the file's fps
            due = last_step + 1.0 / c.steps_per_second
            now = time.perf_counter()
            if now >= due:
                return
            time.sleep(min(0.01, due - now))

    def run(self) -> int:
        """Train live, play greedy episodes, hold the last frame. Returns 0."""
        try:
            self._train_live()
            if not self.controls.quit:
                self._greedy_after()
            if not self.controls.quit and self.hold and not self.window.headless:
                self.hold_last("finished: press any key or close the window")
        finally:
            for lane in self.lanes:
                lane.halt()
            self.window.close()
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
            self._pace(last_step)
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
            free = time.perf_counter() + 1.0 / TURBO_FPS if c.turbo and not c.manual else 0.0
            for lane in active:
                lane.resume(free)

    def _restart(self) -> None:
        for lane in self.lanes:
            lane.halt()
        self.lanes = self._new_lanes()
        self.restarts += 1
        self._build_painters()
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
            s = _index(obs)
            lane.state = LaneState(pos=s, trail=[s], mode="greedy", episode=len(lane.returns))
            runs.append([obs, info, False])
        self.show()
        last_step = time.perf_counter()
        last_frame = 0.0
        steps = 0
        while not all(run[2] for run in runs) and steps < self.step_cap:
            self._pace(last_step)
            last_step = time.perf_counter()
            if self.controls.quit or self.controls.restart_request:
                break
            self.controls.greedy_request = False
            for lane, run in zip(self.lanes, runs):
                if run[2]:
                    continue
                obs, info = run[0], run[1]
                a = lane.agent.act(obs, info, greedy=True)
                obs2, r, terminated, truncated, info2 = lane.eval_env.step(a)
                st = lane.state
                s, s2 = _index(obs), _index(obs2)
                st.blocked = _blocked(lane.layout, s, _index(a), s2, terminated)
                st.pos, st.last_action, st.last_reward = s2, _index(a), float(r)
                st.trail.append(s2)
                st.episode_return += float(r)
                st.episode_steps += 1
                run[0], run[1], run[2] = obs2, info2, bool(terminated or truncated)
            steps += 1
            now = time.perf_counter()
            if not self.controls.turbo or now - last_frame >= 1.0 / TURBO_FPS:
                self.show()
                last_frame = now
        self.show()
        if mid_training:
            for lane, state in zip(self.lanes, saved):
                lane.state = state

    def hold_last(self, prompt: str) -> None:
        """Keep the last frame (with ``prompt``) until a key press or the window closes."""
        import pygame

        self.show(prompt)
        while not self.window.closed:
            for event in self.window.events():
                if event.type == pygame.KEYDOWN:
                    return
            if self.window.resized:
                self._fit_to_window()
                self.show(prompt)
            time.sleep(0.02)


def shown_episodes(every: int, total: int | None) -> Callable[[int], bool]:
    """Training episodes drawn with ``show_every``: 0, N, 2N, ... and the last of ``total``."""
    last = None if total is None else total - 1
    return lambda episode: episode % every == 0 or episode == last


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def make_lane_factory(
    names: list[str],
    build: Callable[[str], tuple[Any, Any, Any]],
    budget: dict[str, int | None],
) -> Callable[[], list[Lane]]:
    """A ``make_lanes`` for :class:`LiveViewer`: ``build(name) -> (agent, env, eval_env)``."""

    def make() -> list[Lane]:
        lanes = []
        for name in names:
            agent, env, eval_env = build(name)
            lanes.append(Lane(name, agent, env, budget, GridLayout.from_env(env), eval_env))
        return lanes

    return make


__all__ = ["Lane", "LaneState", "LiveViewer", "make_lane_factory", "shown_episodes"]
