"""`lecture-rl watch` live: build the agents, the lanes and the window from the CLI flags.

Description:
    A grid (our GridWorld, FrozenLake, CliffWalking) is drawn by the grid view; any other env
    by the env's own picture (`env_canvas.py`): its lanes train on envs made with
    `render_mode="rgb_array"` (else `ansi`, else none: the observation as text), wrapped in
    `picture.DrawnEnv`.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from lecture_rl.envs.grid_layout import GridLayout
from lecture_rl.runners import presets
from lecture_rl.runners.agent_factory import build_agent, check_device
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.scoring import EVAL_SEED_BASE, eval_step_cap
from lecture_rl.runners.settings import UsageError, parse_assignments, split_agent_overrides
from lecture_rl.runners.threads import TorchThreads, check_threads
from lecture_rl.runners.viewer.controls import Controls, speed_level_for
from lecture_rl.runners.viewer.live import LiveViewer, make_lane_factory
from lecture_rl.runners.viewer.picture import DrawnEnv, no_picture_line, picture_mode, picture_of
from lecture_rl.runners.viewer.recorder import RECORDED_EPISODES, open_recorder
from lecture_rl.runners.viewer.window import Window, check_frames_and_display


def agent_names(args: argparse.Namespace) -> list[str]:
    """`--agent NAME` or `--agents A,B` as a list (at most two panes)."""
    names = [n.strip() for n in (getattr(args, "agents", None) or "").split(",") if n.strip()]
    if names and args.agent:
        raise UsageError("give either --agent NAME or --agents A,B, not both")
    names = names or ([args.agent] if args.agent else [])
    if len(names) > 2:
        raise UsageError(f"--agents shows at most two agents side by side, got {len(names)}")
    return names


def live_supported(env_id: str, env_set: dict[str, Any]) -> str | None:
    """`None` when the grid view can draw `env_id`; otherwise the reason it cannot (the env
    is then drawn as its own picture)."""
    env = make_env(env_id, env_set)
    try:
        GridLayout.from_env(env)
    except ValueError as exc:
        return str(exc)
    finally:
        env.close()
    return None


def sees_pixels(env_id: str, env_set: dict[str, Any]) -> bool:
    """Whether `env_id`'s observations are images (a grid with `obs_mode=image`): a deep
    agent there is shown by its insides (saliency over the grid), not the grid viewer."""
    from lecture_rl.nets.backbone import is_image_space

    env = make_env(env_id, env_set)
    try:
        return is_image_space(env.observation_space)
    finally:
        env.close()


def is_tape_task(env_id: str, env_set: dict[str, Any]) -> bool:
    """Whether `env_id` declares itself a tape task (`envs.protocols.TapeTask`: Parity, Copy),
    which a deep agent's insides view draws as a tape."""
    from lecture_rl.envs.protocols import tape_task

    env = make_env(env_id, env_set)
    try:
        return tape_task(env) is not None
    finally:
        env.close()


def record_every(args: argparse.Namespace, episodes: int | None) -> int | None:
    """`--record-every N`; with `--record` and no N, one that spreads the recording over
    the whole training (about `RECORDED_EPISODES` episodes); else None (every one)."""
    every = getattr(args, "record_every", None)
    if every is not None:
        if every < 1:
            raise UsageError(f"--record-every must be at least 1, got {every}")
        return every
    if args.record and episodes:
        return max(1, math.ceil(episodes / RECORDED_EPISODES))
    return None


def steps_drawn(args: argparse.Namespace, every: int | None, episodes: int | None) -> int | None:
    """With `--max-frames` and only some episodes drawn, the steps drawn of each, so that
    every drawn training episode and the greedy episodes after them fit in the frames."""
    if not every or not episodes or not args.max_frames:
        return None
    shown = len({*range(0, episodes, every), episodes - 1}) + max(0, args.episodes)
    return max(1, args.max_frames // shown - 1)


def record_every_steps(args: argparse.Namespace, steps: int | None) -> int | None:
    """With `--record` and a step budget (no episodes to count): draw the first episode to
    start after every `steps / RECORDED_EPISODES` env steps, so the recording spans it."""
    if args.record and steps and getattr(args, "record_every", None) is None:
        return max(1, math.ceil(steps / RECORDED_EPISODES))
    return None


def render_modes(env_id: str, env_set: dict[str, Any]) -> list[str]:
    """The render modes `env_id` declares (its `metadata["render_modes"]`)."""
    env = make_env(env_id, env_set)
    try:
        return list(env.metadata.get("render_modes") or [])
    finally:
        env.close()


def run_live(
    args: argparse.Namespace, console: Any, grid: bool = True, make_window: Any = None
) -> int:
    """Train `--agent` (or both of `--agents`) live in the window, on the grid (`grid`) or as
    the env's own picture; returns the exit code. `make_window`: the window's class or factory
    (default `Window`)."""
    names = agent_names(args)
    env_set = parse_assignments(args.env_set, "--env-set")
    common, per_agent = split_agent_overrides(parse_assignments(args.set, "--set"), names)
    check_device(args.device)
    check_threads(getattr(args, "threads", None))
    setups = {
        name: presets.set_up(
            name,
            args.env,
            {**common, **per_agent.get(name, {})},
            env_set,
            choice=getattr(args, "preset", None),
            episodes=args.train_episodes,
        )
        for name in names
    }
    budget = setups[names[0]].budget
    if args.zoom is not None and args.zoom <= 0:
        raise UsageError(f"--zoom must be positive, got {args.zoom}")
    if args.fps is not None and args.fps <= 0:
        raise UsageError(f"--fps must be positive, got {args.fps}")
    check_frames_and_display(args)
    show_every = record_every(args, budget.get("episodes"))
    every_steps = None if show_every else record_every_steps(args, budget.get("steps"))
    recorder = open_recorder(args.record, fps=args.fps or 10.0)
    mode = None
    if not grid:
        modes = render_modes(args.env, env_set)
        mode = picture_mode(args.env, modes)
        line = no_picture_line(args.env, modes)
        if line:
            console.print(line)

    def build(name: str) -> tuple[Any, Any, Any]:
        setup = setups[name]
        env = make_env(args.env, setup.env_kwargs, render_mode=mode)
        agent = build_agent(
            name, env, seed=args.seed, hyperparameters=setup.hyperparameters, device=args.device
        )
        setup.announce()
        eval_env = make_env(args.env, setup.env_kwargs, render_mode=mode)
        if grid:
            return agent, env, eval_env
        for drawn in (env, eval_env):  # the first frame from the main thread, where the
            obs, _ = drawn.reset()  # env's drawing (pygame) starts
            picture_of(drawn, obs)
        return agent, DrawnEnv(env), eval_env

    make_lanes = make_lane_factory(names, build, budget, grid=grid)
    label = args.env if not env_set.get("map_name") else f"{args.env} ({env_set['map_name']})"
    window = (make_window or Window)(
        f"lecture-rl watch: {' vs '.join(names)} on {label}",
        zoom=args.zoom or 1.0,
        recorder=recorder,
        max_frames=args.max_frames,
    )
    controls = Controls(speed=speed_level_for(args.fps))
    probe = make_env(args.env, env_set)
    cap = eval_step_cap(probe)
    probe.close()
    viewer = LiveViewer(
        make_lanes,
        env_label=label,
        window=window,
        controls=controls,
        greedy_episodes=args.episodes,
        hold=not args.record,
        eval_seed=EVAL_SEED_BASE + (args.seed or 0),
        step_cap=cap,
        show_every=show_every,
        steps_drawn=steps_drawn(args, show_every, budget.get("episodes")),
        thin=bool(args.record) and not grid,
        show_every_steps=every_steps,
    )
    console.print(
        f"watching {' and '.join(names)} learn {label} live: Space pauses, → steps, + / − "
        "change the speed, h shows all keys, Esc quits"
    )
    try:
        with TorchThreads(getattr(args, "threads", None)) as threads:
            threads.apply(viewer.lanes[0].agent)
            viewer.run()
    except KeyboardInterrupt:
        console.print("stopped")
    for lane in viewer.lanes:
        if lane.returns:
            last = lane.returns[-10:]
            console.print(
                f"{lane.name}: {len(lane.returns)} episodes, mean return of the last "
                f"{len(last)}: {sum(last) / len(last):.4g}"
            )
    if args.record:
        console.print(f"recorded {window.frames} frames to {args.record}")
    return 0
