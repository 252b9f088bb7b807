"""`lecture-rl inspect`: a static figure of a deep agent's insides, from a checkpoint.

Description:
    Loads the checkpoint folder (`agent.json` + `weights.safetensors`: JSON and tensors,
    nothing unpickled or executed), plays `--episodes` greedy episodes on the recorded env (or
    a compatible `--env` / `--env-set`), and writes `draw_insides`'s figure to
    `--out` (PNG, atomically): the tape, policy and memory of a memory network, or a CNN's
    saliency over the grid and first-layer feature maps for a few steps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lecture_rl.runners.agent_factory import check_device
from lecture_rl.runners.evaluate import load_checkpoint
from lecture_rl.runners.out_paths import check_out_file
from lecture_rl.runners.settings import UsageError, parse_assignments


def run_inspect(args: argparse.Namespace, out=None) -> int:
    """Carry out `lecture-rl inspect`; returns the exit code."""
    from lecture_rl.runners.insides import draw_insides, record_insides, save_figure

    if args.episodes < 1:
        raise UsageError(f"--episodes must be at least 1, got {args.episodes}")
    if args.units < 1:
        raise UsageError(f"--units must be at least 1, got {args.units}")
    if not str(args.out).lower().endswith(".png"):
        raise UsageError(f"--out {args.out} must name a .png file, e.g. --out insides.png")
    check_out_file(Path(args.out), flag="--out")
    env_set = parse_assignments(args.env_set, "--env-set")
    check_device(args.device)
    agent, env, env_id, kwargs = load_checkpoint(
        args.checkpoint, args.env, env_set, device=args.device
    )
    try:
        if not hasattr(agent, "backbone"):
            raise UsageError(
                f"inspect draws a deep agent's network; {args.checkpoint} holds a "
                f"'{agent.name}' agent (tables): use 'lecture-rl watch' for it"
            )
        if getattr(getattr(agent, "policy", None), "continuous", False):
            raise UsageError(
                f"inspect draws π(a|s) over Discrete actions; {args.checkpoint} holds a "
                f"{agent.name} agent acting in {agent.action_space}: use 'lecture-rl evaluate' "
                "for its return, or 'lecture-rl watch --checkpoint' to see it act"
            )
        insides = record_insides(agent, env, args.episodes, seed=args.seed, k=args.units)
    finally:
        env.close()
    title = f"{agent.name} + {insides.net} on {env_id} {kwargs or ''}".strip()
    save_figure(draw_insides(insides, title), args.out)
    text = f"wrote {args.out}: {insides.steps} steps of {args.episodes} episode(s)"
    picked = zip(insides.units, insides.unit_scores)
    if "conv1" in insides.trace:  # a CNN: its first layer's channels
        maps = ", ".join(f"conv1 ch {k} ({s:.3g})" for k, s in picked)
        text += f"; feature maps by {insides.picked_by}: {maps}"
    elif insides.picked_by:
        units = ", ".join(f"{u} ({s:.2f})" for u, s in picked)
        text += f"; units by {insides.picked_by}: {units}"
    print(text, file=out)
    return 0
