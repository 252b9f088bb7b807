"""One agent learning in a worker thread, stopped after every drawn env step: the live lanes.

Description:
    A `Lane` is a subscriber of the agent's event stream. Its worker thread runs
    `agent.train(env, callbacks=[lane, lane.tap])`; on each `Transition` of env 0 the lane
    notes what the pane shows (the observation, the action and reward, the return so far; on a
    grid the cell and trail) and, for a step that is drawn, stops the worker until the viewer
    has drawn it. For tabular agents the `TableUpdate` of a step arrives before its
    `Transition`, so the frame shows the table after the agent learned from that step; a deep
    agent's last `NetworkUpdate` (losses, gradient norm) is kept the same way.

    Which steps are drawn: every one, or with a `ShowSchedule` only those of the chosen
    episodes (the others run unseen, with no frame, no update event and no waiting); at most
    `steps_drawn` of an episode; and with `thin` (a recording) the steps `drawn_step` keeps of
    a long episode. In turbo (`free_until`) the worker runs free until the next frame is due.

    The worker only reads and writes the agent and its env; pygame is the main thread's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lecture_rl.agents.events import (
    EpisodeEnd,
    NetworkUpdate,
    TableUpdate,
    TrainingCallback,
    Transition,
)
from lecture_rl.envs.grid_layout import GridLayout
from lecture_rl.envs.grid_maps import MOVES
from lecture_rl.envs.grid_overlay import Overlay
from lecture_rl.runners.viewer.picture import DrawnEnv
from lecture_rl.runners.viewer.schedule import ShowSchedule, drawn_step

_now = time.perf_counter
#: observations of env 0's current episode kept for a deep agent's insides (the latest)
HISTORY = 256


@dataclass
class EpisodeSteps:
    """Env 0's episode so far: its observations, and the action and reward after each (the
    latest `HISTORY`; `first_step` is the episode step of `obs[0]`)."""

    obs: list[Any] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    first_step: int = 0

    def start(self, obs: Any) -> None:
        self.obs, self.actions, self.rewards, self.first_step = [obs], [], [], 0

    def add(self, action: Any, reward: float, next_obs: Any) -> None:
        self.actions.append(action)
        self.rewards.append(float(reward))
        self.obs.append(next_obs)
        if len(self.obs) > HISTORY:
            del self.obs[0], self.actions[0], self.rewards[0]
            self.first_step += 1


@dataclass
class LaneState:
    """What a pane shows about its agent right now (written by the worker, read by the
    main thread only while the worker waits)."""

    pos: int | None = None  # the grid cell (grid view)
    trail: list[int] | None = None
    episode: int = 0  # env 0's episode, as the agent counts them
    number: int = 1  # the training episode the HUD names: 1 + episodes finished before it
    episode_return: float = 0.0
    episode_steps: int = 0
    last_action: Any = None
    last_reward: float | None = None
    explored: bool | None = None
    blocked: bool = False
    mode: str = "learning"
    update: Any = None  # the last TableUpdate heard
    network_update: Any = None  # the last NetworkUpdate heard
    obs: Any = None  # the observation now (s')
    ended: bool = False  # the step shown ended its episode
    terminal: bool = False  # ... in a terminal state (not cut by a time limit)
    drawn: int = 0  # counts the steps shown (the views' caches key on it)


class Lane(TrainingCallback):
    """One agent learning in a worker thread, one env step per frame.

    Arguments:
        name: the pane's title (the agent's name).
        agent: a tabular or deep agent (anything with `train(env, ..., callbacks=)`).
        env: the env it trains on; `eval_env`: a second one for greedy runs.
        budget: `{"episodes": N}` and/or `{"steps": N}` for `train`.
        layout: the grid's `GridLayout` (grid view; `None`: the env's own picture).
    """

    events = (Transition, EpisodeEnd, NetworkUpdate)

    def __init__(
        self,
        name: str,
        agent: Any,
        env: Any,
        budget: dict[str, int | None],
        layout: GridLayout | None = None,
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
        self.env_steps = 0  # env 0's steps
        self._global_steps = 0  # the run's env steps (all envs), as the last event said
        self.finished = False
        self.stop = False
        self.error: BaseException | None = None
        self.free_until = 0.0
        self._posted = threading.Semaphore(0)
        self._go = threading.Semaphore(0)
        self._thread: threading.Thread | None = None
        self._episode_of_trail = -1
        self._new_episode = True
        self._shown = True
        self._last: Transition | None = None
        self.tap = _UpdateTap(self)
        #: which of env 0's training episodes are drawn; None: every one
        self.schedule: ShowSchedule | None = None
        #: at most this many steps of a drawn episode are drawn (the rest runs unseen)
        self.steps_drawn: int | None = None
        #: draw only the steps `drawn_step` keeps of a long episode (a recording)
        self.thin = False
        #: env 0's current training episode, and the greedy episode being played
        self.episode = EpisodeSteps()
        self.greedy = EpisodeSteps()
        self._stream: Any = None
        self._tap_on = True
        if isinstance(env, DrawnEnv) and _steps_vector_envs(agent):
            env.keep_final = self._wants_final  # its vector env resets before we draw

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

    def _next_episode_shown(self) -> bool:
        schedule = self.schedule
        return schedule is None or schedule.peek(
            len(self.returns) + 1, self._global_steps, self.env_steps
        )

    def _wants_final(self) -> bool:
        """Asked by `DrawnEnv` when env 0's step ends an episode: keep its frame?"""
        if self.stop:
            return False
        if self._new_episode:  # an episode of one step, not yet decided
            shown = self.schedule is None or self.schedule.peek(
                len(self.returns), self._global_steps, self.env_steps
            )
        else:
            shown = self._shown and (
                self.steps_drawn is None or self.state.episode_steps < self.steps_drawn
            )
        return shown and (not self.free_until or _now() >= self.free_until)

    def on_event(self, event: Any) -> bool | None:
        kind = type(event)
        if kind is EpisodeEnd:
            self.returns.append(float(event.record["return"]))
            return False if self.stop else None  # agents that emit no Transition stop here
        if kind is NetworkUpdate:
            self.state.network_update = event
            return False if self.stop else None
        if kind is not Transition:
            return None
        st = self.state
        self.env_steps += 1
        self._global_steps = int(event.env_steps)
        ended = bool(event.terminated or event.truncated)
        if self._new_episode or event.episode != self._episode_of_trail:
            self._episode_of_trail = event.episode
            self._shown = self.schedule is None or self.schedule.starts(
                len(self.returns), int(event.env_steps), self.env_steps - 1
            )
            st.number = len(self.returns) + 1
            st.episode_return, st.episode_steps = 0.0, 0
            self.episode.start(event.obs)
            if self.layout is not None:
                st.trail = [_cells(event)[0]]
        st.episode_return += event.reward
        st.episode_steps += 1
        self._new_episode = ended
        self._last = event
        self._remember(event)
        unseen = not self._shown or (
            self.steps_drawn is not None and st.episode_steps > self.steps_drawn
        )
        if unseen and not self.stop:
            # an episode nobody sees: run free; hear the updates again just before a shown one
            self._set_tap(ended and self._next_episode_shown())
            return None
        if self.thin and not drawn_step(st.episode_steps, ended) and not self.stop:
            return None  # a long episode in a recording: this step is left out
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
        self._note(event)
        if self.stop:
            return False
        self._posted.release()  # the viewer may draw now
        self._go.acquire()  # ... and lets us go on
        return False if self.stop else None

    def _remember(self, event: Transition) -> None:
        """Env 0's episode so far, for a deep agent's insides (the latest `HISTORY` steps)."""
        if self.layout is not None:
            self.state.trail.append(_cells(event)[1])
        self.episode.add(event.action, event.reward, event.next_obs)

    def _note(self, event: Transition) -> None:
        """What the pane shows of a step that is drawn."""
        st = self.state
        st.episode, st.last_action = event.episode, _action(event.action)
        st.last_reward, st.explored = float(event.reward), event.explored
        st.obs, st.ended = event.next_obs, bool(event.terminated or event.truncated)
        st.terminal = bool(event.terminated)
        st.drawn += 1
        if self.layout is not None:
            s, s2 = _cells(event)
            st.pos = s2
            st.blocked = blocked(self.layout, s, st.last_action, s2, event.terminated)

    def _run(self) -> None:
        try:
            self.agent.train(self.env, callbacks=[self, self.tap], **self.budget)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
        finally:
            last = self._last
            if last is not None:  # the state after the last step (turbo may not have drawn it)
                self._note(last)
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
        """Let the worker go on: one step, or free running until `free_until`."""
        if not self.finished:
            self.free_until = free_until
            self._go.release()

    def halt(self) -> None:
        """Stop training and join the worker (the viewer closes the envs: `envs()`)."""
        self.stop = True
        if self._thread is not None and self._thread.is_alive():
            self._go.release()
            self._thread.join(timeout=10)

    def steps(self) -> EpisodeSteps:
        """The episode the pane shows: the training one, or the greedy one being played."""
        return self.episode if self.state.mode == "learning" else self.greedy

    def envs(self) -> list[Any]:
        """The lane's envs, each once (for the viewer to close after its window)."""
        return list({id(self.env): self.env, id(self.eval_env): self.eval_env}.values())

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
    """The lane's ear for `TableUpdate` events (subscribed apart, so turbo can mute it)."""

    events = (TableUpdate,)

    def __init__(self, lane: Lane):
        self.lane = lane

    def on_event(self, event: Any) -> bool | None:
        self.lane.state.update = event
        return None


def _steps_vector_envs(agent: Any) -> bool:
    """Whether `agent` trains on vector envs built from the env (a deep agent), whose copy 0
    is reset in the step that ends its episode."""
    from lecture_rl.agents.deep import DeepAgent

    return isinstance(agent, DeepAgent)


def _cells(event: Transition) -> tuple[int, int]:
    """The grid cells of a transition's s and s': the env's `info["state"]` (and
    `info["state_before"]`, which deep agents add) where it reports them, so agents that see
    pixels or coordinates are placed right; else the observation as an index or one-hot."""
    next_obs, info = event.next_obs, event.info or {}
    s2 = info.get("state")
    if s2 is None:
        s2 = next_obs if type(next_obs) is int else index(next_obs)  # noqa: E721
    s = info.get("state_before")
    if s is None:
        s = index(event.obs)
    return int(s), int(s2)


def index(x: Any) -> int:
    """A discrete observation or action as a plain int (a one-hot vector: its hot index)."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    arr = np.asarray(x).reshape(-1)
    if arr.size > 1:
        return int(arr.argmax())
    return int(arr[0])


def _action(a: Any) -> Any:
    """A discrete action as an int; an action vector (a `Box` action) as a float array."""
    arr = np.asarray(a)
    if arr.ndim == 0 and np.issubdtype(arr.dtype, np.integer):
        return int(arr)
    if arr.ndim == 0:
        return float(arr)
    return arr.astype(float).reshape(-1)


def blocked(layout: GridLayout, s: int, a: Any, s2: int, terminated: bool) -> bool:
    """Whether the move from `s` with `a` ran into the edge or a wall (and stayed put)."""
    if not isinstance(a, int) or terminated or s2 != s or not 0 <= a < layout.nA:
        return False
    d_row, d_col = MOVES[layout.directions[a]]
    row, col = layout.coords_of(s)
    r2, c2 = row + d_row, col + d_col
    return (
        not (1 <= r2 <= layout.nrow and 1 <= c2 <= layout.ncol)
        or layout.kinds[r2 - 1, c2 - 1] == "#"
    )


def make_lane_factory(
    names: list[str],
    build: Callable[[str], tuple[Any, Any, Any]],
    budget: dict[str, int | None],
    *,
    grid: bool = True,
) -> Callable[[], list[Lane]]:
    """A `make_lanes` for `LiveViewer`: `build(name) -> (agent, env, eval_env)`; `grid`: the
    lanes are drawn on the grid (`GridLayout.from_env`), else as the env's own picture."""

    def make() -> list[Lane]:
        lanes = []
        for name in names:
            agent, env, eval_env = build(name)
            layout = GridLayout.from_env(env) if grid else None
            lanes.append(Lane(name, agent, env, budget, layout, eval_env))
        return lanes

    return make
