"""Recurrent rollout forward+backward: lecture_rl.nets vs sb3-contrib's per-step loop.

Times `forward_sequence` (segments at episode starts packed into one core call) against
sb3-contrib's `RecurrentActorCriticPolicy._process_sequence` (a Python loop over time
whenever an episode starts inside the rollout) on the same `torch.nn.LSTM` weights, and
checks both give the same outputs. Prints one row per (T, B) and the speed-up.

    python benchmarks/nets_sequence.py [--hidden 128] [--reset-prob 0.0625] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from gymnasium import spaces

from lecture_rl.nets import make_backbone


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(bb, peer, t_len: int, batch: int, args, rng) -> tuple[float, float, float]:
    """Best forward+backward time of ours and of the peer, and their largest output gap."""
    obs = torch.as_tensor(rng.integers(0, args.obs, (t_len, batch)))
    starts = torch.as_tensor(rng.random((t_len, batch)) < args.reset_prob)
    state0 = tuple(torch.randn_like(s) for s in bb.initial_state(batch))

    def ours():
        out, _ = bb.forward_sequence(obs, state0, starts)
        out.sum().backward()
        return out

    def sb3c():
        x = bb.preprocess(obs.reshape(-1)).view(t_len, batch, -1)
        feats = x.transpose(0, 1).reshape(batch * t_len, -1)  # sb3c: env-major batch
        starts_env = starts.t().reshape(-1).float()
        lstm_state = tuple(s.transpose(0, 1).contiguous() for s in state0)
        out, _ = peer(feats, lstm_state, starts_env, bb.core)
        out.sum().backward()
        return out.view(batch, t_len, -1).transpose(0, 1)

    diff = float((ours() - sb3c()).detach().abs().max())
    return best_time(ours, args.repeats), best_time(sb3c, args.repeats), diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--obs", type=int, default=8, help="Discrete observation size")
    parser.add_argument("--reset-prob", type=float, default=1 / 16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 64, 256])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny budget (seconds): checks the script runs (CI)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.hidden, args.repeats, args.lengths, args.batches = 16, 1, [8], [4]

    from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy

    peer = RecurrentActorCriticPolicy._process_sequence
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    bb = make_backbone("lstm", spaces.Discrete(args.obs), hidden_size=args.hidden)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"lstm hidden={args.hidden}, reset prob {args.reset_prob:.3f}, fwd+bwd on {device}")
    print(f"{'T':>4} {'B':>4} {'ours ms':>9} {'sb3c ms':>9} {'speed-up':>9} {'max |diff|':>10}")
    for t_len in args.lengths:
        for batch in args.batches:
            t_ours, t_peer, diff = measure(bb, peer, t_len, batch, args, rng)
            print(
                f"{t_len:>4} {batch:>4} {t_ours * 1e3:>9.2f} {t_peer * 1e3:>9.2f} "
                f"{t_peer / t_ours:>8.1f}x {diff:>10.1e}"
            )


if __name__ == "__main__":
    main()
