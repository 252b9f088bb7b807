"""``lecture-rl train``: train one agent on one env and write a checkpoint folder.

Description:
    Builds the env (``--env``, ``--env-set``) and the agent (``--agent``, ``--set``,
    ``--seed``, ``--device``), trains for ``--episodes`` or ``--steps`` (the agent's own default
    budget when neither is given) with a progress bar, then writes to ``--out``:

    ``agent.json`` + state   the checkpoint (``lecture-rl evaluate --checkpoint DIR`` loads it)
    ``train_log.csv``        one row per training episode
    ``tb/``                  TensorBoard scalars (deep agents)

    and prints a summary with a greedy evaluation on fresh seeds. Ctrl-C saves what was learned
    so far (``"interrupted": true`` in ``agent.json``) and exits with code 130.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lecture_rl.agents.checkpoint_io import atomic_write_text
from lecture_rl.runners.common import (
    EVAL_SEED_BASE,
    TorchThreads,
    agent_class,
    annotate_checkpoint,
    build_agent,
    check_device,
    default_out_dir,
    greedy_evaluation,
    last_fraction_mean,
    records_to_csv,
    resolve_budget,
)
from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.progress import TrainProgress
from lecture_rl.runners.settings import parse_assignments, split_agent_overrides

# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def run_train(args: argparse.Namespace, out=None) -> int:
    """Carry out ``lecture-rl train``; returns the exit code."""
    from rich.console import Console

    console = Console(file=out) if out is not None else Console()
    common, per_agent = split_agent_overrides(parse_assignments(args.set, "--set"), [args.agent])
    hp = {**common, **per_agent[args.agent]}
    env_kwargs = parse_assignments(args.env_set, "--env-set")
    check_device(args.device)
    cls = agent_class(args.agent)
    budget = resolve_budget(cls, args.episodes, args.steps)
    env = make_env(args.env, env_kwargs)
    agent = build_agent(args.agent, env, seed=args.seed, hyperparameters=hp, device=args.device)
    out_dir = Path(args.out) if args.out else default_out_dir(args.env, args.agent, args.seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    agent.log_dir = out_dir / "tb"

    interrupted = False
    start = time.perf_counter()
    progress = TrainProgress(f"{args.agent} on {args.env}", budget)
    try:
        with progress, TorchThreads(getattr(args, "threads", None)) as threads:
            threads.apply(agent)
            agent.train(env, callback=progress, **budget)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        env.close()
    wall = time.perf_counter() - start
    records = progress.records
    agent.save(out_dir)
    annotate_checkpoint(
        out_dir,
        interrupted=interrupted,
        training={
            "budget": budget,
            "episodes": len(records),
            "env_steps": int(records[-1].get("env_steps", 0)) if records else 0,
            "wall_time_s": wall,
        },
    )
    atomic_write_text(
        out_dir / "train_log.csv",
        records_to_csv(records, ["episode", "return", "length", "env_steps", "wall_time"]),
    )
    if interrupted:
        console.print(
            f"interrupted after {len(records)} episodes; saved what was learned to {out_dir} "
            "(marked interrupted)"
        )
        return 130

    evaluation = greedy_evaluation(
        agent, args.env, env_kwargs, args.eval_episodes, EVAL_SEED_BASE + args.seed
    )
    _print_summary(console, args, agent, records, wall, evaluation, out_dir)
    return 0


def _print_summary(console, args, agent, records, wall, evaluation, out_dir) -> None:
    from rich.table import Table

    steps = int(records[-1].get("env_steps", 0)) if records else 0
    table = Table(title=f"{args.agent} on {args.env} (seed {args.seed})", show_header=False)
    table.add_row("episodes trained", str(len(records)))
    table.add_row("env steps", f"{steps}  ({steps / max(wall, 1e-9):,.0f}/s)")
    table.add_row("wall time", f"{wall:.1f} s")
    table.add_row("training return, last 10%", f"{last_fraction_mean(records):.3f}")
    table.add_row(
        f"greedy return ({evaluation['episodes']} episodes)",
        f"{evaluation['return_mean']:.3f} ± {evaluation['return_std']:.3f}",
    )
    if "accuracy" in evaluation:
        table.add_row("greedy accuracy", f"{evaluation['accuracy']:.4f}")
    table.add_row("checkpoint", str(out_dir))
    console.print(table)
    console.print(f"next: lecture-rl evaluate --checkpoint {out_dir}")
