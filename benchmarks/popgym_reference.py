"""Benchmark: POPGym's own baseline code (RLlib PPO with their GRU / LSTM), run on this machine.

The "theirs" column of `benchmarks/popgym_table.py`. POPGym's authors published their
per-env scores only in their paper's appendix; instead of copying figures we run their code:
`popgym/baselines/ppo.py` of popgym 1.0.7 (github.com/proroklab/popgym), i.e. RLlib's PPO on
the old API stack (`TorchModelV2`) with their `GRU` / `LSTM` models
(`popgym/baselines/ray_models`), their wrappers (`Antialias(PreviousAction(env))`) and
their hyperparameters, copied from their `config` dict:

- model: a 128-wide linear + LayerNorm feature map, a 128-wide LeakyReLU preprocessor, a
  256-wide memory, actor and critic heads of two 128-wide LeakyReLU layers each;
- `gamma` 0.99, `vf_loss_coeff` 1.0, `batch_mode="complete_episodes"`,
  `rollout_fragment_length` = `max_seq_len` = BPTT cut-off 1,024, minibatches of
  8 x 1,024 = 8,192 steps; every other PPO setting is RLlib's default, which their script
  leaves alone (`lr` 5e-5, GAE `lambda` 1.0, 30 epochs, clip 0.3, value clip 10,
  KL coefficient 0.2, no entropy bonus).

Changed, because they only scale the machine: their 4 rollout workers x 16 envs x 1,024 steps
= 65,536-step train batches become **1 local worker x 16 envs x 1,024 = 16,384-step batches**
(`--envs-per-worker`, `--bptt` to change), so the gradient steps per env step stay theirs
(30 epochs x 2 minibatches per 16,384 steps, against 30 x 8 per 65,536); no GPU (theirs:
0.25 GPU per trial); RLlib 2.60 instead of the 2.x of their time (`horizon` is gone from
RLlib; every POPGym episode here ends well before 1,024 steps, so it never cut one).
Their budget: `POPGYM_STEPS`, 15M env steps per trial by default.

Measured per (env, model, seed): POPGym's **MMER** as their runs logged it: RLlib's
`episode_reward_mean` of each training iteration (the mean return of the last 100 finished
episodes), the maximum over iterations; the env steps, iterations, wall time and env steps per
second, and from that the wall time their 15M-step budget would take here.

Needs RLlib (`pip install -e ".[popgym-baselines]"`). `--out` merges the rows into a JSON
file (atomically, after every run, so a stopped job keeps its finished runs), which
`popgym_table.py` reads for its "theirs" column.

Usage:

```text
python benchmarks/popgym_reference.py --smoke      # CI: seconds ("skipped" without RLlib)
python benchmarks/popgym_reference.py --models GRU --steps 98304 \\
    --out benchmarks/results/popgym_reference.json
```
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

#: the issue's names -> POPGym 1.0.7 ids (the same six as `popgym_table.ENVS`)
ENVS: dict[str, str] = {
    "RepeatPreviousEasy": "popgym-RepeatPreviousEasy-v0",
    "CountRecallEasy": "popgym-CountRecallEasy-v0",
    "AutoencodeEasy": "popgym-AutoencodeEasy-v0",
    "StatelessCartPoleEasy": "popgym-PositionOnlyCartPoleEasy-v0",
    "MineSweeperEasy": "popgym-MineSweeperEasy-v0",
    "HigherLowerEasy": "popgym-HigherLowerEasy-v0",
}
#: their model class names (`popgym.baselines.ray_models`) -> our agent label they face
MODELS: dict[str, str] = {"GRU": "ppo-gru", "LSTM": "ppo-lstm"}
#: `popgym/baselines/ppo.py`: `POPGYM_STEPS` default and their train batch
THEIR_STEPS = 15_000_000
THEIR_BATCH = "4 workers x 16 envs x 1,024 = 65,536 steps"
#: their sizes: linear layers, memory, BPTT cut-off, sequences per minibatch
HIDDEN, MEMORY, BPTT, MINIBATCH_SEQUENCES = 128, 256, 1024, 8
#: RLlib's learner statistics kept per iteration (evidence that the policy trains at all)
LEARNER_STATS = ("entropy", "kl", "vf_explained_var")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "popgym_reference.json"
INSTALL_HINT = "pip install 'lecture-rl[popgym-baselines]'"


def mmer_from_iterations(returns: list[float]) -> float:
    """POPGym's max-mean episodic reward from RLlib's per-iteration `episode_reward_mean`:
    the largest one; iterations that finished no episode (nan) are skipped, nan if none did."""
    finite = [r for r in returns if r is not None and math.isfinite(r)]
    return max(finite) if finite else float("nan")


def merge_runs(old: list[dict], new: list[dict]) -> list[dict]:
    """The runs of `old` with those of `new` replacing any of the same env, model, seed
    and budget, in a stable order (env, model, budget, seed)."""
    key = ("env", "model", "steps", "seed")
    merged = {tuple(run[k] for k in key): run for run in old}
    merged.update({tuple(run[k] for k in key): run for run in new})
    return [merged[k] for k in sorted(merged, key=lambda k: (k[0], k[1], k[2], k[3]))]


def load_results(path: Path) -> dict:
    """The JSON file written by `--out` (`{"runs": [], ...}` if it does not exist)."""
    if not Path(path).exists():
        return {"runs": []}
    return json.loads(Path(path).read_text(encoding="utf-8"))


def theirs_cell(results: dict, env: str, agent: str) -> str:
    """The table cell for our `agent` on `env`: the runs of the model that faces it
    (`MODELS`), MMER mean over seeds with its budget, seeds, iterations and wall time;
    `-` where none was run."""
    models = [model for model, label in MODELS.items() if label == agent]
    runs = [r for r in results.get("runs", []) if r["env"] == env and r["model"] in models]
    if not runs:
        return "-"
    steps = max(r["steps"] for r in runs)
    runs = [r for r in runs if r["steps"] == steps]
    scores = [r["mmer"] for r in runs]
    seconds = sum(r["seconds"] for r in runs) / len(runs)
    done = sum(r["env_steps"] for r in runs) / len(runs)
    iterations = sum(len(r["episode_reward_mean"]) for r in runs) / len(runs)
    score = sum(scores) / len(scores)
    return (
        f"{score:+.3f} ({runs[0]['model']}, {done:,.0f} steps in {iterations:.0f} iterations, "
        f"{len(runs)} seed{'s' if len(runs) > 1 else ''}, {seconds:.0f} s)"
    )


def their_config(env: str, model_cls: type, seed: int, bptt: int, envs_per_worker: int):
    """`popgym/baselines/ppo.py`'s `config` as an RLlib 2.60 `PPOConfig` (old API stack),
    with one local worker; only the sizes named in the module docstring differ."""
    import torch
    from ray.rllib.algorithms.ppo import PPOConfig

    h, h_memory = HIDDEN, MEMORY

    def head() -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Linear(h_memory, h),
            torch.nn.LeakyReLU(inplace=True),
            torch.nn.Linear(h, h),
            torch.nn.LeakyReLU(inplace=True),
        )

    model = {
        "max_seq_len": bptt,
        "custom_model": model_cls.__name__,
        "custom_model_config": {
            "preprocessor_input_size": h,
            "preprocessor": torch.nn.Sequential(
                torch.nn.Linear(h, h), torch.nn.LeakyReLU(inplace=True)
            ),
            "preprocessor_output_size": h,
            "hidden_size": h_memory,
            "postprocessor": torch.nn.Identity(),
            "actor": head(),
            "critic": head(),
            "postprocessor_output_size": h,
        },
    }
    train_batch = bptt * envs_per_worker  # theirs: bptt * max(workers, 1) * envs_per_worker
    return (
        PPOConfig()
        .api_stack(enable_rl_module_and_learner=False, enable_env_runner_and_connector_v2=False)
        .environment(env)
        .framework("torch")
        .env_runners(
            num_env_runners=0,
            num_envs_per_env_runner=envs_per_worker,
            rollout_fragment_length=bptt,
            batch_mode="complete_episodes",
        )
        .training(
            train_batch_size=train_batch,
            minibatch_size=min(MINIBATCH_SEQUENCES * bptt, train_batch),
            gamma=0.99,
            vf_loss_coeff=1.0,
            model=model,
        )
        .reporting(min_sample_timesteps_per_iteration=train_batch)
        .resources(num_gpus=0)
        .debugging(seed=seed, log_level="ERROR")
    )


def register(envs: list[str]) -> dict[str, type]:
    """Register POPGym's wrapped envs and their two models with RLlib, as their script does."""
    import popgym
    from popgym import wrappers
    from popgym.baselines.ray_models.ray_gru import GRU
    from popgym.baselines.ray_models.ray_lstm import LSTM
    from ray.rllib.models import ModelCatalog
    from ray.tune.registry import register_env

    classes = {info["id"]: cls for cls, info in popgym.envs.ALL.items()}
    for name in envs:
        cls = classes[ENVS[name]]
        register_env(ENVS[name], lambda _config, cls=cls: wrappers.Antialias(
            wrappers.PreviousAction(cls())
        ))  # fmt: skip
    models = {"GRU": GRU, "LSTM": LSTM}
    for name, cls in models.items():
        ModelCatalog.register_custom_model(name, cls)
    return models


def run_one(env: str, model: str, seed: int, args: argparse.Namespace, models: dict) -> dict:
    """Train their PPO until `args.steps` env steps are sampled; one result row."""
    config = their_config(ENVS[env], models[model], seed, args.bptt, args.envs_per_worker)
    start = time.perf_counter()
    algo = config.build_algo() if hasattr(config, "build_algo") else config.build()
    built = time.perf_counter()
    returns, steps, learner = [], 0, {key: [] for key in LEARNER_STATS}
    while steps < args.steps:
        result = algo.train()
        runners = result.get("env_runners", result)
        returns.append(float(runners.get("episode_reward_mean", float("nan"))))
        stats = result.get("info", {}).get("learner", {}).get("default_policy", {})
        for key in LEARNER_STATS:
            learner[key].append(round(float(stats.get("learner_stats", {}).get(key, "nan")), 4))
        steps = int(result.get("num_env_steps_sampled_lifetime", result.get("timesteps_total")))
    seconds = time.perf_counter() - built
    algo.stop()
    return {
        "env": env,
        "model": model,
        "seed": seed,
        "steps": args.steps,
        "env_steps": steps,
        "episode_reward_mean": returns,
        "mmer": mmer_from_iterations(returns),
        **{f"{key}_per_iteration": values for key, values in learner.items()},
        "seconds": round(seconds, 1),
        "build_seconds": round(built - start, 1),
        "steps_per_second": round(steps / seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps per run")
    parser.add_argument("--bptt", type=int, default=BPTT, help="theirs: 1024")
    parser.add_argument("--envs-per-worker", type=int, default=16, help="theirs: 16")
    parser.add_argument("--out", type=Path, help="merge the runs into this JSON file")
    parser.add_argument("--smoke", action="store_true", help="one env, tiny batches (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.envs, args.models, args.seeds = ["RepeatPreviousEasy"], ["GRU"], 1
        args.steps, args.bptt, args.envs_per_worker = 64, 32, 2
    try:
        import ray
        import ray.rllib  # noqa: F401
    except ImportError as error:
        print(f"skipped: POPGym's baselines need RLlib ({error}); {INSTALL_HINT}")
        return 0
    import torch

    torch.set_num_threads(1)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    models = register(args.envs)
    command = "python benchmarks/popgym_reference.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    batch = args.bptt * args.envs_per_worker
    setup = (
        f"POPGym 1.0.7 baselines (RLlib {ray.__version__} PPO, old API stack, their GRU/LSTM, "
        f"wrappers and hyperparameters); 1 local worker x {args.envs_per_worker} envs x "
        f"{args.bptt} = {batch:,}-step batches (theirs: {THEIR_BATCH}); CPU only, one torch "
        f"thread, {os.cpu_count()} CPU core(s) shared with other jobs"
    )
    print(setup, flush=True)
    runs = []
    try:
        for env in args.envs:
            for model in args.models:
                for seed in range(args.seeds):
                    run = run_one(env, model, seed, args, models)
                    run["command"] = command.strip()
                    run["date"] = datetime.date.today().isoformat()
                    runs.append(run)
                    hours = THEIR_STEPS / run["steps_per_second"] / 3600
                    print(
                        f"{env:22s} {model:4s} seed {seed}: MMER {run['mmer']:+.3f} after "
                        f"{run['env_steps']:,} env steps ({len(run['episode_reward_mean'])} "
                        f"iterations), {run['seconds']:.0f} s, "
                        f"{run['steps_per_second']:.0f} env steps/s "
                        f"(their {THEIR_STEPS / 1e6:.0f}M steps: {hours:.0f} h here)",
                        flush=True,
                    )
                    if args.out:
                        save(args.out, runs, setup)
    finally:
        ray.shutdown()
    return 0


def save(path: Path, runs: list[dict], setup: str) -> None:
    """Merge `runs` into the JSON file at `path` (atomically)."""
    from lecture_rl.agents.checkpoint_io import atomic_write_text

    results = load_results(path)
    results["setup"] = setup
    results["their_budget"] = f"{THEIR_STEPS:,} env steps per trial, batches of {THEIR_BATCH}"
    results["runs"] = merge_runs(results.get("runs", []), runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
