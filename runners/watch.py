"""`lecture-rl watch`: see an agent learn, live, and play in the pygame window.

Description:
    By default the agent (`--agent NAME`, or two with `--agents A,B`) trains *in the window*
    (`lecture_rl.runners.viewer`): on a grid (our GridWorld, FrozenLake-v1, CliffWalking-v1)
    the grid view with its Q triangles; on any other env the env's own picture (its
    `rgb_array` frame, or its text) beside what the agent thinks. One deep agent on a tape
    task (an env that declares `envs.protocols.TapeTask`: Parity, Copy) or on a grid it sees
    as pixels (`--env-set obs_mode=image`), and a deep agent's checkpoint, show the network's
    insides instead (`runners.viewer.insides_panel`). `--no-live` trains off-screen with a progress
    bar first, `--checkpoint PATH` loads an agent; then `--episodes` greedy episodes play in
    the env's `human` render mode at `--fps` (on the grid world a table's values and greedy
    arrows drawn, `env.unwrapped.set_overlay`). `--max-frames` stops after that many frames;
    closing the window or Ctrl-C ends cleanly.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from lecture_rl.runners import presets
from lecture_rl.runners.agent_factory import (
    agent_class,
    build_agent,
    check_device,
    train_agent,
)
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.evaluate import load_checkpoint
from lecture_rl.runners.progress import TrainProgress
from lecture_rl.runners.scoring import EVAL_SEED_BASE, eval_step_cap
from lecture_rl.runners.settings import UsageError, parse_assignments, split_agent_overrides

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no pygame banner in our output


def overlay_for(agent: Any) -> dict[str, np.ndarray] | None:
    """`set_overlay` arguments for a tabular agent (`q` table and/or `v` values)."""
    q = getattr(agent, "q", None)
    values = getattr(agent, "v", None)
    if q is None and values is None:
        return None
    overlay: dict[str, np.ndarray] = {}
    if q is not None:
        q = np.asarray(q, dtype=float)
        if q.ndim != 2:
            return None
        overlay["q"] = q
    if values is not None:
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            overlay["values"] = values
    elif q is not None:
        overlay["values"] = q.max(axis=1)  # V(s) = max_a Q(s, a), the greedy policy's value
    return overlay


def set_fps(env, fps: float | None) -> None:
    """Show frames at `fps`: Gymnasium envs read `metadata["render_fps"]` when drawing."""
    if fps is None:
        return
    if fps <= 0:
        raise UsageError(f"--fps must be positive, got {fps}")
    unwrapped = env.unwrapped
    unwrapped.metadata = {**unwrapped.metadata, "render_fps": fps}


def _window_closed() -> bool:
    import pygame

    if not pygame.display.get_init():
        return False
    return bool(pygame.event.get(pygame.QUIT))


def continuous_actions(agent: Any) -> bool:
    """Whether a deep agent acts in a Box (a Gaussian policy), where π has no table to draw."""
    return bool(getattr(getattr(agent, "policy", None), "continuous", False))


def _is_deep(name: str) -> bool:
    from lecture_rl.agents.deep import DeepAgent

    try:
        return issubclass(agent_class(name), DeepAgent)
    except UsageError:
        return False


def live_view(args: argparse.Namespace) -> str | None:
    """What `watch` shows while the agent learns: `"insides"` (one deep agent on a tape task,
    or on a grid it sees as pixels: the network's insides), `"grid"` (the grid viewer),
    `"picture"` (the env's own picture beside the agent's view); `None` with `--checkpoint`,
    `--no-live` or no agent (nothing learns live)."""
    if args.checkpoint or getattr(args, "no_live", False) or not args.env:
        return None
    from lecture_rl.runners.viewer import session

    names = session.agent_names(args)
    if not names:
        return None
    live_set = parse_assignments(args.env_set, "--env-set")
    on_grid = session.live_supported(args.env, live_set) is None
    alone_deep = len(names) == 1 and _is_deep(names[0])
    if alone_deep and (
        session.is_tape_task(args.env, live_set)
        or (on_grid and session.sees_pixels(args.env, live_set))
    ):
        return "insides"
    return "grid" if on_grid else "picture"


def run_watch(args: argparse.Namespace, out=None, *, make_window: Any = None) -> int:
    """Carry out `lecture-rl watch`; returns the exit code.

    `make_window` builds the window the viewer draws in, with the arguments of
    `lecture_rl.runners.viewer.window.Window` (default: that class, a pygame window); a
    notebook passes one that hands the frames to a widget (`lecture_rl.notebook`).
    """
    from rich.console import Console

    # a file given is written to, in a Jupyter kernel too (where rich would display instead)
    console = Console(file=out, force_jupyter=False) if out is not None else Console()
    view = live_view(args)
    if view == "insides":  # a tape task, or a grid the network sees as pixels
        from lecture_rl.runners.viewer.insides_panel import watch_insides

        return watch_insides(args, console, make_window=make_window)
    if view is not None:
        from lecture_rl.runners.viewer import session

        return session.run_live(args, console, grid=view == "grid", make_window=make_window)
    if getattr(args, "record", None) and getattr(args, "no_live", False):
        raise UsageError(
            "--record records the live viewer, which --no-live turns off; drop one of them"
        )
    env_set = parse_assignments(args.env_set, "--env-set")
    if args.checkpoint:
        if args.agent:
            raise UsageError("give either --agent (train then watch) or --checkpoint, not both")
        check_device(args.device)
        agent, env, env_id, kwargs = load_checkpoint(
            args.checkpoint, args.env, env_set, render_mode="human", device=args.device
        )
        if hasattr(agent, "backbone") and not continuous_actions(agent):
            # a deep agent: its insides, step by step (continuous actions: the env's window)
            from lecture_rl.runners.viewer.insides_panel import watch_insides

            env.close()
            return watch_insides(
                args, console, agent, make_env(env_id, kwargs), make_window=make_window
            )
        if getattr(args, "record", None):
            env.close()
            # a table, or a deep agent with Box actions (shown in the env's own window)
            held = "agent with continuous actions" if hasattr(agent, "backbone") else "table"
            raise UsageError(
                f"--record records an agent learning (--agent NAME) or a deep agent's insides; "
                f"{args.checkpoint} holds a '{agent.name}' {held}: record it learning with "
                f"--agent {agent.name} instead"
            )
    else:
        if not args.agent or not args.env:
            raise UsageError("watch needs --env ID with --agent NAME, or --checkpoint PATH")
        env_id = args.env
        common, per_agent = split_agent_overrides(
            parse_assignments(args.set, "--set"), [args.agent]
        )
        check_device(args.device)
        setup = presets.set_up(
            args.agent,
            env_id,
            {**common, **per_agent[args.agent]},
            env_set,
            choice=getattr(args, "preset", None),
            episodes=args.train_episodes,
        )
        budget, env_set = setup.budget, setup.env_kwargs
        train_env = make_env(env_id, env_set)
        hp = setup.hyperparameters
        agent = build_agent(
            args.agent, train_env, seed=args.seed, hyperparameters=hp, device=args.device
        )
        setup.announce()
        try:
            with TrainProgress(f"training {args.agent}", budget) as progress:
                train_agent(agent, train_env, [progress], **budget)
        except KeyboardInterrupt:
            console.print("training interrupted; watching what was learned so far")
        finally:
            train_env.close()
        env = make_env(env_id, env_set, render_mode="human")
    try:
        return _play_episodes(args, agent, env, env_id, console)
    finally:
        env.close()


def _play_episodes(args, agent, env, env_id: str, console) -> int:
    if "human" not in (env.metadata.get("render_modes") or []):
        raise UsageError(
            f"env '{env_id}' cannot draw in a window (its render modes: "
            f"{env.metadata.get('render_modes')}); pick an env with render mode 'human'"
        )
    set_fps(env, args.fps)
    overlay = overlay_for(agent)
    if overlay and hasattr(env.unwrapped, "set_overlay"):
        env.unwrapped.set_overlay(**overlay)
    cap = eval_step_cap(env)
    frames = 0
    seed = EVAL_SEED_BASE + (args.seed or 0)  # fresh seeds, not the training ones
    try:
        for episode in range(args.episodes):
            obs, info = env.reset(seed=seed + episode)
            agent.reset()
            frames += 1
            total, length, done = 0.0, 0, False
            while not done and length < cap:
                if _window_closed() or (args.max_frames and frames >= args.max_frames):
                    console.print(f"episode {episode + 1}: stopped after {length} steps")
                    return 0
                action = agent.act(obs, info, greedy=True)
                obs, reward, terminated, truncated, info = env.step(action)
                frames += 1
                total += float(reward)
                length += 1
                done = terminated or truncated
            console.print(f"episode {episode + 1}: return {total:g} in {length} steps")
    except KeyboardInterrupt:
        console.print("stopped")
    return 0
