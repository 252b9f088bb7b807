"""``lecture-rl watch`` live: build the agents, the lanes and the window from the CLI flags."""

from __future__ import annotations

import argparse
import math
from typing import Any

from lecture_rl.envs.grid_layout import GridLayout
from lecture_rl.runners.agent_factory import agent_class, build_agent, check_device, resolve_budget
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.scoring import EVAL_SEED_BASE, eval_step_cap
from lecture_rl.runners.settings import UsageError, parse_assignments, split_agent_overrides
from lecture_rl.runners.threads import TorchThreads, check_threads
from lecture_rl.runners.viewer.controls import Controls, speed_level_for
from lecture_rl.runners.viewer.live import LiveViewer, make_lane_factory
from lecture_rl.runners.viewer.recorder import RECORDED_EPISODES, open_recorder
from lecture_rl.runners.viewer.window import Window, check_frames_and_display


def agent_names(args: argparse.Namespace) -> list[str]:
    """``--agent NAME`` or ``--agents A,B`` as a list (at most two panes)."""
    names = [n.strip() for n in (getattr(args, "agents", None) or "").split(",") if n.strip()]
    if names and args.agent:
        raise UsageError("give either --agent NAME or --agents A,B, not both")
    names = names or ([args.agent] if args.agent else [])
    if len(names) > 2:
        raise UsageError(f"--agents shows at most two agents side by side, got {len(names)}")
    return names


def live_supported(env_id: str, env_set: dict[str, Any]) -> str | None:
    """``None`` when the live viewer can draw ``env_id``; otherwise the reason it cannot."""
    env = make_env(env_id, env_set)
    try:
        GridLayout.from_env(env)
    except ValueError as exc:
        return str(exc)
    finally:
        env.close()
    return None


def sees_pixels(env_id: str, env_set: dict[str, Any]) -> bool:
    """Whether ``env_id``'s observations are images (a grid with ``obs_mode=image``): a deep
    agent there is shown by its insides (saliency over the grid), not the grid viewer."""
    from lecture_rl.nets.backbone import is_image_space

    env = make_env(env_id, env_set)
    try:
        return is_image_space(env.observation_space)
    finally:
        env.close()


def record_every(args: argparse.Namespace, episodes: int | None) -> int | None:
    """``--record-every N``; with ``--record`` and no N, one that spreads the recording over
    the whole training (about :data:`RECORDED_EPISODES` episodes); else None (every one)."""
    every = getattr(args, "record_every", None)
    if every is not None:
        if every < 1:
            raise UsageError(f"--record-every must be at least 1, got {every}")
        return every
    if args.record and episodes:
        return max(1, math.ceil(episodes / RECORDED_EPISODES))
    return None


def steps_drawn(args: argparse.Namespace, every: int | None, episodes: int | None) -> int | None:
    """With ``--max-frames`` and only some episodes drawn, the steps drawn of each, so that
    every drawn training episode and the greedy episodes after them fit in the frames."""
    if not every or not episodes or not args.max_frames:
        return None
    shown = len({*range(0, episodes, every), episodes - 1}) + max(0, args.episodes)
    return max(1, args.max_frames // shown - 1)


def run_live(args: argparse.Namespace, console: Any) -> int:
    """Train ``--agent`` (or both of ``--agents``) live in the window; returns the exit code."""
    names = agent_names(args)
    env_set = parse_assignments(args.env_set, "--env-set")
    common, per_agent = split_agent_overrides(parse_assignments(args.set, "--set"), names)
    check_device(args.device)
    check_threads(getattr(args, "threads", None))
    budget = resolve_budget(agent_class(names[0]), args.train_episodes, None)
    if args.zoom is not None and args.zoom <= 0:
        raise UsageError(f"--zoom must be positive, got {args.zoom}")
    if args.fps is not None and args.fps <= 0:
        raise UsageError(f"--fps must be positive, got {args.fps}")
    check_frames_and_display(args)
    show_every = record_every(args, budget.get("episodes"))
    recorder = open_recorder(args.record, fps=args.fps or 10.0)

    def build(name: str) -> tuple[Any, Any, Any]:
        env = make_env(args.env, env_set)
        agent = build_agent(
            name,
            env,
            seed=args.seed,
            hyperparameters={**common, **per_agent.get(name, {})},
            device=args.device,
        )
        return agent, env, make_env(args.env, env_set)

    make_lanes = make_lane_factory(names, build, budget)
    label = args.env if not env_set.get("map_name") else f"{args.env} ({env_set['map_name']})"
    window = Window(
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
