"""`popgym-memory`: recurrent memory against a feed-forward policy on POPGym's tasks, on
tasks that need memory and on one that does not."""

from __future__ import annotations

from typing import Any

import numpy as np

from lecture_rl.runners.experiments.engine import Context, compare, per_label
from lecture_rl.runners.experiments.report import Report, Verdict, figure

NAME = "popgym-memory"
CLAIM = (
    "recurrent memory beats a feed-forward policy on tasks that need memory, and does not "
    "on tasks that don't"
)
CITES = (
    "notes 003 (RNN, LSTM, GRU: the hidden state carries the past); Morad et al. 2023, "
    "POPGym (ICLR), the tasks"
)
#: env id -> whether its best policy needs memory. RepeatPrevious: answer the card seen four
#: steps ago (an MLP sees only the current card: chance). Position-only CartPole ("stateless"):
#: balance from the cart and pole positions alone (the velocities are differences over time).
#: HigherLower: guess whether the next card is higher than the one shown (the shown card is
#: nearly all there is to know). `benchmarks/popgym_table.py` at 100k steps, 2 seeds: MLP
#: +0.21, GRU +0.91 (seeds 0.99, 0.83) on position-only CartPole; MLP +0.49, GRU +0.48 on
#: HigherLower.
TASKS = {
    "popgym-RepeatPreviousEasy-v0": True,
    "popgym-PositionOnlyCartPoleEasy-v0": True,
    "popgym-HigherLowerEasy-v0": False,
}
QUICK_TASKS = ("popgym-RepeatPreviousEasy-v0", "popgym-HigherLowerEasy-v0")
NETS = ("mlp", "gru", "lstm")
QUICK_NETS = ("mlp", "gru")
#: --quick: env steps; PPO's GRU reaches about +0.3 on RepeatPreviousEasy at 60k (MLP -0.5)
QUICK_STEPS = 40_000
STEPS = 200_000
#: a recurrent net "beats" the MLP by this much greedy return (POPGym's returns lie in [-1, 1])
MARGIN = 0.2
#: and "does not" when it is at most this much better
TIE = 0.1


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when on every memory task the best recurrent net's greedy return is at least
    `MARGIN` above the MLP's, and on every memoryless task at most `TIE` above it."""
    checks = []
    for env, by_net in numbers["return"].items():
        mlp = by_net["mlp"]
        net, best = max(((n, v) for n, v in by_net.items() if n != "mlp"), key=lambda x: x[1])
        short = env.removeprefix("popgym-").removesuffix("-v0")
        if numbers["needs_memory"][env]:
            ok = best - mlp >= MARGIN
            checks.append((f"{short}: {net} {best:+.3f} >= MLP {mlp:+.3f} + {MARGIN}", ok))
        else:
            ok = best - mlp <= TIE
            checks.append((f"{short}: {net} {best:+.3f} <= MLP {mlp:+.3f} + {TIE}", ok))
    return Verdict(
        all(ok for _, ok in checks),
        f"greedy return after {numbers['steps']:,} env steps, {numbers['seeds']} seed(s): "
        + "; ".join(f"{text} {'yes' if ok else 'NO'}" for text, ok in checks),
    )


def run(ctx: Context) -> Verdict:
    seeds = ctx.seed_count(1, 3)
    steps = QUICK_STEPS if ctx.quick else STEPS
    nets = QUICK_NETS if ctx.quick else NETS
    tasks = QUICK_TASKS if ctx.quick else tuple(TASKS)
    numbers: dict[str, Any] = {"steps": steps, "seeds": seeds, "return": {}, "per_seed": {}}
    numbers["needs_memory"] = {env: TASKS[env] for env in tasks}
    for env in tasks:
        result = compare(
            ctx,
            "runs-" + env.removeprefix("popgym-").removesuffix("-v0"),
            env=env,
            agents=",".join(f"{net}=ppo(net={net})" for net in nets),
            seeds=seeds,
            steps=steps,
            eval_episodes=100,
        )
        per_seed = {n: [t["eval"]["return_mean"] for t in per_label(result, n)] for n in nets}
        numbers["per_seed"][env] = per_seed
        numbers["return"][env] = {n: float(np.mean(v)) for n, v in per_seed.items()}
    fig, ax = figure(8, 4.2)
    width = 0.8 / len(nets)
    for i, net in enumerate(nets):
        x = np.arange(len(tasks)) + (i - (len(nets) - 1) / 2) * width
        means = [numbers["return"][env][net] for env in tasks]
        ax.bar(x, means, width, label=net)
        for env_x, env in zip(x, tasks):
            ax.plot([env_x] * seeds, numbers["per_seed"][env][net], "k.", ms=4)
    ax.set_xticks(
        np.arange(len(tasks)),
        [
            env.removeprefix("popgym-").removesuffix("-v0")
            + ("\n(needs memory)" if TASKS[env] else "\n(memoryless)")
            for env in tasks
        ],
    )
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylim(-1, 1)
    ax.set_ylabel("greedy return (POPGym scale, -1 to 1)")
    ax.set_title(f"PPO on POPGym, {steps:,} env steps (bars: mean; dots: seeds)")
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    report = Report(
        NAME,
        CLAIM,
        CITES,
        ctx.flags(NAME),
        {"envs": tasks, "agent": "ppo", "nets": nets, "steps": steps, "seeds": seeds},
    )
    report.text(
        "PPO with each backbone and otherwise its defaults, on POPGym's tasks through the "
        "adapters of `lecture-rl train`. RepeatPrevious (answer the card of four steps ago) "
        "and position-only CartPole (the velocities are differences over time) can only be "
        "solved by remembering earlier observations; HigherLower shows the card that decides "
        "the answer, so memory has little to add."
        + (
            f" Quick mode: {', '.join(nets)} on {len(tasks)} tasks, {steps:,} env steps, "
            f"{seeds} seed(s)."
            if ctx.quick
            else ""
        )
    )
    report.figure(fig, "popgym.png", "Greedy return of the final policy on 100 fresh episodes")
    report.table(
        ["env", *nets],
        [[env, *numbers["return"][env].values()] for env in tasks],
        "greedy return, mean over seeds",
    )
    outcome = verdict(numbers)
    report.write(ctx.out, outcome, numbers)
    return outcome
