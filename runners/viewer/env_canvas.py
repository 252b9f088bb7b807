"""The live view of any env: its own picture beside what the agent thinks, per lane.

Description:
    `EnvCanvas` draws each lane's pane in three columns:

    1. the env's own picture (`picture.picture_of`: its `rgb_array` frame, else its text), in a
       box of at most `PICTURE` pixels;
    2. the status lines (`hud`), the last update (a table's in the notes' notation, a network's
       losses and gradient norm) and the return per episode;
    3. what the agent thinks in the state shown (`thoughts`): Q(s, ·) of a table as labelled
       bars (the env's action names: `envs.action_names`), π(a|s) with V(s) and H(π), or
       Q(s, ·) of a Q-network.

    A single deep agent with a memory (LSTM, GRU, RNN, Transformer) gets a strip under its pane:
    the insides figure (`runners.insides.draw_insides`: π, V and the memory's most active unit,
    or the attention) over the last `STRIP_STEPS` steps of env 0's episode; the tape row only on
    a tape task (`envs.protocols.TapeTask`). The canvas is at most 1,500 pixels wide, so it
    is shown unscaled on a 1920-pixel screen.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

from lecture_rl.envs import rendering
from lecture_rl.envs.action_names import action_names
from lecture_rl.envs.protocols import tape_task
from lecture_rl.runners.viewer import hud, panel, thoughts
from lecture_rl.runners.viewer.controls import LEGEND, Controls
from lecture_rl.runners.viewer.grid_canvas import draw_legend
from lecture_rl.runners.viewer.lane import index
from lecture_rl.runners.viewer.picture import (
    OBSERVATION_NOTE,
    Picture,
    draw_picture,
    observation_log,
    picture_of,
)

#: the picture's box (w, h): one lane, and each of two stacked lanes
PICTURE = (640, 480)
PICTURE_TWO = (560, 400)
MIDDLE_WIDTH = 430
THOUGHT_WIDTH = 380
MARGIN = 12
LEGEND_HEIGHT = 66
STRIP_HEIGHT = 340
STRIP_STEPS = 24
LOG_STEPS = 20  # observations of a text env's log
#: the legend of the keys that mean something here (the grid's overlay toggles do not)
ENV_LEGEND = tuple(item for item in LEGEND if item[0] != "v n p t")
MEMORY_NETS = ("lstm", "gru", "rnn", "transformer")
TERMINAL = [
    "the episode is over: no action is chosen here",
    "(a terminal state's values are 0 by definition)",
]


class EnvCanvas:
    """Draws lanes as their env's own picture (see the module docstring)."""

    def __init__(self, env_label: str):
        self.env_label = env_label
        self.canvas: Any = None
        self.picture_box = PICTURE
        self.pane_height = 0
        self.strip = False
        self.names: list[str] | None = None
        self.state_name: Any = str
        self.tape = False
        #: per lane: (key, picture, thought, insides) of the step last drawn
        self._cache: dict[int, tuple[Any, Picture, Any, Any]] = {}
        self._strip: tuple[Any, Any, float] | None = None  # (key, surface, when)
        #: redraw the memory strip at every frame (a recording), else at most every 0.4 s
        self.strip_every_frame = False

    # ----- layout -----------------------------------------------------------------------
    def build(self, lanes: list[Any], scale: float) -> Any:
        """Size the panes for `scale` (a resized window); returns the new canvas."""
        env = lanes[0].env
        self.names = action_names(env)
        self.state_name = _state_namer(env)
        self.tape = tape_task(env) is not None
        box = PICTURE if len(lanes) == 1 else PICTURE_TWO
        self.picture_box = (max(160, int(box[0] * scale)), max(120, int(box[1] * scale)))
        space = getattr(lanes[0].agent, "action_space", None)
        bars = int(space.n) if isinstance(space, gym.spaces.Discrete) else 0
        thought = thoughts.thought_height(thoughts.Thought("", ["a"] * bars, lines=["", ""]))
        self.pane_height = max(self.picture_box[1] + 2 * MARGIN, 430, thought + 2 * MARGIN)
        self.strip = len(lanes) == 1 and _memory_net(lanes[0].agent)
        width = self.picture_box[0] + MIDDLE_WIDTH + THOUGHT_WIDTH + 4 * MARGIN
        height = self.pane_height * len(lanes) + LEGEND_HEIGHT + (STRIP_HEIGHT if self.strip else 0)
        self.canvas = rendering.new_surface(width, height)
        self._cache.clear()
        self._strip = None
        return self.canvas

    # ----- drawing ----------------------------------------------------------------------
    def render(self, lanes: list[Any], controls: Controls, prompt: str = "") -> Any:
        """Draw every pane, the memory strip and the legend on the canvas; returns it."""
        canvas = self.canvas
        canvas.fill(rendering.BACKGROUND)
        for i, lane in enumerate(lanes):
            top = i * self.pane_height
            picture, thought, ins = self.look(lane)
            pw, ph = self.picture_box
            draw_picture(canvas, picture, (MARGIN, top + MARGIN, pw, ph))
            x = MARGIN * 2 + pw
            self._draw_middle(lane, controls, (x, top + 6))
            x += MIDDLE_WIDTH + MARGIN
            if thought is not None:
                thoughts.draw_thought(canvas, thought, (x, top + 8, THOUGHT_WIDTH - MARGIN, 0))
            if self.strip and ins is not None:
                self._draw_strip(lane, ins, self.pane_height * len(lanes))
        draw_legend(canvas, controls, prompt, LEGEND_HEIGHT, ENV_LEGEND)
        return canvas

    def look(self, lane: Any) -> tuple[Picture, Any, Any]:
        """The lane's picture, thought and insides now (computed once per step shown)."""
        st = lane.state
        key = (st.drawn, st.mode, st.episode_steps, id(lane.agent))
        found = self._cache.get(id(lane))
        if found is not None and found[0] == key:
            return found[1], found[2], found[3]
        picture = self._picture(lane)
        thought, ins = self._thought(lane)
        self._cache[id(lane)] = (key, picture, thought, ins)
        return picture, thought, ins

    def _picture(self, lane: Any) -> Picture:
        st = lane.state
        if st.obs is None:
            return Picture(text=["(no step yet)"])
        if st.mode == "learning":
            env = lane.env
            final = getattr(env, "final", None)
            if st.ended and final is not None:
                return final  # a vector env reset it: the frame kept before that
            picture = picture_of(env, st.obs)
        else:
            picture = picture_of(lane.eval_env, st.obs)
        if picture.rgb is None and picture.note.startswith(OBSERVATION_NOTE):
            log = observation_log(lane.steps(), LOG_STEPS, self._action_word(lane))
            picture = Picture(text=log, note="the episode so far (the env draws no picture)")
        return picture

    def _thought(self, lane: Any) -> tuple[Any, Any]:
        agent, st = lane.agent, lane.state
        if st.obs is None:
            return None, None
        if st.terminal:  # nothing is chosen in a terminal state: its values are 0 by definition
            return thoughts.Thought("the state shown is terminal", lines=TERMINAL), None
        if not hasattr(agent, "backbone"):  # a table
            try:
                s = index(st.obs) - int(getattr(agent, "_obs_start", 0) or 0)
            except (TypeError, ValueError, IndexError):
                return None, None
            return thoughts.tabular_thought(agent, s, self.names, self.state_name(s)), None
        space = getattr(agent, "action_space", None)
        if not isinstance(space, gym.spaces.Discrete):  # action vectors: what it did
            return thoughts.vector_action_thought(st.last_action), None
        ins = deep_insides(lane, memory=_memory_net(agent), names=self.names)
        if ins is None:
            return None, None
        ins.tape_task = self.tape
        return thoughts.deep_thought(ins, self.names), ins

    def _draw_middle(self, lane: Any, controls: Controls, origin: tuple[int, int]) -> None:
        x, y = origin
        lines = self.hud_lines(lane, controls)
        y = panel.draw_lines(self.canvas, lines, (x, y), size=15, spacing=1.3) + 4
        st = lane.state
        if st.mode != "learning":
            lines = [("greedy run: no learning", rendering.LABEL)]
        elif st.update is not None:
            lines = panel.update_lines(
                st.update,
                self.state_name,
                rule=getattr(lane.agent, "name", ""),
                action_arrows=self.names or [str(a) for a in range(_n_actions(lane.agent))],
            )
        elif st.network_update is not None:
            lines = network_update_lines(st.network_update)
        else:
            lines = [("no update yet", rendering.LABEL)]
        panel.draw_lines(self.canvas, lines, (x, y), size=15, spacing=1.3)
        plot_top = origin[1] + self.pane_height - 128
        panel.draw_returns(self.canvas, (x, plot_top, MIDDLE_WIDTH - 16, 110), lane.returns)

    def hud_lines(self, lane: Any, controls: Controls) -> list[hud.Line]:
        """The status lines of one pane, actions by the env's names."""
        return hud.hud_lines(lane, self.env_label, controls, self._action_word(lane))

    def _action_word(self, lane: Any) -> Any:
        """Names an env action of the lane's agent: the env's name for it, or the vector."""
        start = action_start(lane.agent)

        def word(a: Any) -> str:
            if isinstance(a, (int, np.integer)):
                return thoughts.action_label(self.names, int(a) - start)
            vector = np.asarray(a, dtype=float).reshape(-1)
            more = "…" if vector.size > 4 else ""
            return "[" + ", ".join(panel.num(v) for v in vector[:4]) + more + "]"

        return word

    def _draw_strip(self, lane: Any, ins: Any, top: int) -> None:
        """The memory net's insides over the last steps, under the pane."""
        from lecture_rl.runners.insides.figure import draw_insides
        from lecture_rl.runners.insides.record import steps_window
        from lecture_rl.runners.viewer.insides_panel import figure_surface

        key = (lane.state.drawn, lane.state.mode, ins.steps)
        now = time.perf_counter()
        cached = self._strip
        stale = cached is None or (
            cached[0] != key and (self.strip_every_frame or now - cached[2] >= 0.4)
        )
        if stale:
            shown = steps_window(ins, max(0, ins.steps - STRIP_STEPS), ins.steps)
            net = lane.agent.hp.get("net")
            title = (
                f"{lane.agent.name} + {net}, inside: the last {shown.steps} steps of env 0's "
                "episode (π, V and the memory unit that varies most)"
            )
            fig = draw_insides(shown, title, latest=True)
            width = self.canvas.get_width() - 2 * MARGIN
            fig.set_dpi(100)
            fig.set_size_inches(width / 100, (STRIP_HEIGHT - 8) / 100)
            self._strip = (key, figure_surface(fig), now)
        self.canvas.blit(self._strip[1], (MARGIN, top))


def network_update_lines(update: Any) -> list[str]:
    """A network update as the panel prints it: its number, the losses two to a line, the
    gradient norm."""
    parts = [f"{k} {panel.num(v)}" for k, v in update.losses.items() if k != "loss"]
    lines = [
        f"network update {update.update} (after {update.env_steps:,} env steps)",
        f"loss = {panel.num(update.losses.get('loss', float('nan')))}",
    ]
    lines += ["  " + "   ".join(parts[i : i + 2]) for i in range(0, len(parts), 2)]
    if update.grad_norm is not None:
        lines.append(f"|∇| = {panel.num(update.grad_norm)} (before clipping)")
    return lines


def deep_insides(lane: Any, memory: bool, names: list[str] | None) -> Any:
    """A deep agent's insides over env 0's episode so far (a memory net; else the latest
    observation alone), under its current weights; `None` before the first step."""
    from lecture_rl.runners.insides.record import insides_from_steps

    seen = lane.steps()
    obs = list(seen.obs)
    if not obs:
        return None
    if not memory:
        obs = obs[-1:]
    agent = lane.agent
    steps = len(obs)
    # the memory is recomputed from the first observation kept (the episode's first, unless
    # the episode outgrew the lane's history: then from a fresh memory at the oldest kept)
    starts = np.zeros(steps, dtype=bool)
    starts[0] = True
    actions = np.full(steps, int(getattr(agent, "action_start", 0)))
    ins = insides_from_steps(
        agent, np.stack([np.asarray(o) for o in obs]), starts, None, actions,
        np.zeros(steps), k=1, action_labels=names,
    )  # fmt: skip
    ins.first_step = seen.first_step + len(seen.obs) - steps  # the last row: the state now
    return ins


def action_start(agent: Any) -> int:
    """The env's first action (`Discrete(n, start)`): a table's `_act_start`, a net's
    `action_start`."""
    start = getattr(agent, "_act_start", None)
    if start is None:
        start = getattr(agent, "action_start", 0)
    return int(start or 0)


def _memory_net(agent: Any) -> bool:
    hp = getattr(agent, "hp", None)
    return isinstance(hp, dict) and hasattr(agent, "backbone") and hp.get("net") in MEMORY_NETS


def _n_actions(agent: Any) -> int:
    return int(getattr(agent, "nA", 0) or getattr(agent, "n_actions", 0) or 0)


def _state_namer(env: Any) -> Any:
    """`state_name(s)` of the env's wrappers (Blackjack's tuple: `index`), else the number."""
    try:
        namer = env.get_wrapper_attr("state_name")
    except AttributeError:
        return str
    return namer if callable(namer) else str
