"""The insides view: a deep agent's policy, value and memory in the window, live while it learns.

Description:
    `InsidesTap` subscribes to the agent's `PolicyStep` events (π(a|s), V(s), the recurrent
    state, episode starts and `info["hidden"]`) and env 0's `Transition`s (the reward, whether
    the answer was graded), and keeps the steps of env 0's current episode. `InsidesTap.insides`
    turns them into `runners.insides.Insides` (the gates, cell state or attention recomputed
    by `trace_backbone` from the agent's current weights; for a CNN on a grid's pixels the
    saliency per cell and the first layer's feature maps), which `runners.insides.draw_insides`
    draws: a strip that grows, and so scrolls, with the episode (a CNN's: its last four steps),
    the tape on top for a tape task. `run_insides` shows it in the viewer's window, either while
    the agent trains (`watch --agent ppo --set net=lstm` on a tape task such as Parity, or any
    deep agent on a grid seen as pixels, `--env-set obs_mode=image`), or step by step over
    greedy episodes of a loaded checkpoint (`watch --checkpoint DIR`).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from lecture_rl.agents.events import PolicyStep, TrainingCallback, Transition
from lecture_rl.envs import rendering
from lecture_rl.envs.protocols import tape_task
from lecture_rl.runners.insides.figure import draw_insides
from lecture_rl.runners.insides.record import (
    Insides,
    grid_context,
    insides_from_steps,
    record_insides,
    steps_window,
    tape_text,
)

WINDOW_STEPS = 48  # the strip shows at most this many of the latest steps


class InsidesTap(TrainingCallback):
    """Keeps env 0's current episode from the `PolicyStep` events, with each step's reward
    and whether it was graded from env 0's `Transition` (thread-safe)."""

    events = (PolicyStep, Transition)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: per step: obs, episode start, hidden, action, π(·|s), reward, graded
        self.steps: list[list[Any]] = []
        self.stop = False
        self.count = 0
        self.episodes = 0  # env 0's finished episodes
        self.episode_steps = 0  # env 0's steps in its current episode

    def on_event(self, event: Any) -> bool | None:
        if isinstance(event, Transition):
            with self.lock:
                if self.steps:
                    info = event.info or {}
                    self.steps[-1][5] = float(event.reward)
                    self.steps[-1][6] = "correct" in info or "phase" not in info
                self.episodes += bool(event.terminated or event.truncated)
            return False if self.stop else None
        obs = np.asarray(event.obs)[0]
        start = True if event.episode_starts is None else bool(np.asarray(event.episode_starts)[0])
        hidden = -1 if event.hidden is None else int(np.asarray(event.hidden)[0])
        action = int(np.asarray(event.actions)[0])
        probs = event.probs
        probs = np.asarray(probs.detach().cpu() if hasattr(probs, "cpu") else probs)
        with self.lock:
            if start:
                self.steps = []
                self.episode_steps = 0
            self.episode_steps += 1
            self.steps.append([obs, start or not self.steps, hidden, action, probs[0], 0.0, True])
            self.steps = self.steps[-WINDOW_STEPS:]
            self.count += 1
        return False if self.stop else None

    def insides(
        self,
        agent: Any,
        grid: tuple[int, int] | None = None,
        action_labels: list[str] | None = None,
        env: Any = None,
    ) -> Insides | None:
        """The insides of the episode so far under the agent's current weights (`grid`: the
        cells a CNN's maps are pooled to, see `grid_context`;
        `env`: where the observations' tape text and the tape-task flag come from).
        """
        with self.lock:
            steps = [list(step) for step in self.steps]
        if not steps:
            return None
        obs = np.stack([s[0] for s in steps])
        starts = np.array([s[1] for s in steps])
        starts[0] = True
        hidden = np.array([s[2] for s in steps])
        # the events carry action indices; the env's actions start at action_start
        actions = np.array([s[3] for s in steps]) + int(getattr(agent, "action_start", 0))
        ins = insides_from_steps(
            agent, obs, starts, hidden if (hidden >= 0).any() else None, actions,
            np.array([s[5] for s in steps]), grid=grid, action_labels=action_labels,
        )  # fmt: skip
        ins.graded = np.array([s[6] for s in steps])
        if env is not None:
            ins.tape = tape_text(env, ins.obs)
            ins.tape_task = tape_task(env) is not None
        return ins


def figure_surface(fig: Any) -> Any:
    """A matplotlib figure as a pygame surface (drawn with the Agg canvas)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    pygame = rendering.import_pygame()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    height, width = rgba.shape[:2]
    return pygame.image.frombuffer(rgba.tobytes(), (width, height), "RGBA").copy()


def run_insides(
    agent: Any,
    env: Any,
    window: Any,
    *,
    train_budget: dict[str, int | None] | None = None,
    episodes: int = 1,
    seed: int = 0,
    fps: float = 2.0,
) -> int:
    """Show the insides in `window`: live while training (`train_budget` given), else
    step by step over `episodes` greedy episodes. Returns 0."""
    title = f"{agent.name} + {agent.hp.get('net')}"
    grid, labels = grid_context(env)
    if train_budget is not None:
        tap = InsidesTap()
        worker = threading.Thread(
            target=lambda: agent.train(env, callbacks=[tap], **train_budget), daemon=True
        )
        worker.start()
        while worker.is_alive() and not window.done:
            time.sleep(1.0 / fps)
            _show_live(window, tap, agent, env, grid, labels, f"{title} learning")
            window.events()
        tap.stop = True
        worker.join()
        if not window.done:  # the last steps, however short the training was
            _show_live(window, tap, agent, env, grid, labels, f"{title} after training")
        return 0
    for episode in range(episodes):
        full = record_insides(agent, env, 1, seed=seed + episode)
        for t in range(1, full.steps + 1):
            if window.done:
                return 0
            ins = steps_window(full, 0, t)
            fig = draw_insides(ins, f"{title}: episode {episode}, step {t}", latest=True)
            window.show(figure_surface(fig))
            window.events()
            time.sleep(1.0 / fps)
    return 0


def _show_live(window: Any, tap: InsidesTap, agent: Any, env: Any, grid: Any, labels: Any,
               title: str) -> None:  # fmt: skip
    ins = tap.insides(agent, grid, labels, env)
    if ins is not None:
        where = f"env 0's episode {tap.episodes + 1}, step {tap.episode_steps}"
        window.show(figure_surface(draw_insides(ins, f"{title}: {where}", latest=True)))


def watch_insides(
    args: Any, console: Any, agent: Any = None, env: Any = None, make_window: Any = None
) -> int:
    """`watch` for a deep agent: live while it learns (`agent` None: built from `--agent`
    and `--set`) or over greedy episodes of a loaded checkpoint. `make_window`: the
    window's class or factory (default `Window`)."""
    from lecture_rl.runners import presets
    from lecture_rl.runners.agent_factory import build_agent, check_device
    from lecture_rl.runners.env_factory import make_env
    from lecture_rl.runners.settings import UsageError, parse_assignments, split_agent_overrides
    from lecture_rl.runners.viewer.recorder import open_recorder
    from lecture_rl.runners.viewer.window import Window, check_frames_and_display

    check_frames_and_display(args)
    if getattr(args, "record_every", None) is not None:
        raise UsageError(
            "--record-every chooses episodes of the grid viewer; the insides view of "
            f"{args.agent or args.checkpoint} shows every step: drop --record-every"
        )
    budget = None
    if agent is None:
        env_set = parse_assignments(args.env_set, "--env-set")
        common, per_agent = split_agent_overrides(
            parse_assignments(args.set, "--set"), [args.agent]
        )
        check_device(args.device)
        setup = presets.set_up(
            args.agent, args.env, {**common, **per_agent[args.agent]}, env_set,
            choice=getattr(args, "preset", None), episodes=args.train_episodes,
        )  # fmt: skip
        budget = setup.budget
        env = make_env(args.env, setup.env_kwargs)
        agent = build_agent(
            args.agent, env, seed=args.seed, hyperparameters=setup.hyperparameters,
            device=args.device,
        )  # fmt: skip
        setup.announce()
    if getattr(getattr(agent, "policy", None), "continuous", False):
        raise UsageError(
            f"watch draws a deep agent's insides for Discrete actions; {agent.name} on "
            f"{args.env or args.checkpoint} acts in {agent.action_space}: add --no-live to "
            "train it, then watch it act in the env's own window"
        )
    recorder = open_recorder(args.record, fps=args.fps or 2.0)
    window = (make_window or Window)(
        f"lecture-rl watch: the insides of {agent.name} + {agent.hp.get('net')}",
        zoom=args.zoom or 1.0, recorder=recorder, max_frames=args.max_frames,
    )  # fmt: skip
    console.print(f"watching the insides of {agent.name} + {agent.hp.get('net')}; Esc quits")
    try:
        run_insides(
            agent, env, window, train_budget=budget, episodes=args.episodes,
            seed=args.seed or 0, fps=args.fps or 2.0,
        )  # fmt: skip
    finally:
        window.close()
        env.close()
    if args.record:
        console.print(f"recorded {window.frames} frames to {args.record}")
    return 0
