"""`xor`: notes 003's XOR networks with their numbers, checked against autograd."""

from __future__ import annotations

import math
from typing import Any

import torch

from lecture_rl.runners.experiments.engine import Context, runner
from lecture_rl.runners.experiments.report import Report, Verdict

NAME = "xor"
CLAIM = (
    "a 2-2-1 network solves XOR (the hand-set ReLU one exactly), and one step of "
    "backpropagation by the chain rule equals autograd's gradient"
)
CITES = (
    "notes 003, 'Add a hidden layer to solve XOR' and 'XOR: Design / Initialization / "
    "Forward Pass / Back Propagation and weight update'"
)
#: notes 003, "XOR: Initialization"
INIT = {
    "w11": 0.5,
    "w12": -0.4,
    "w21": -0.3,
    "w22": 0.2,
    "b1": 0.1,
    "b2": -0.1,
    "v1": 0.3,
    "v2": -0.2,
    "b3": 0.05,
}
LR = 0.1
X, Y = (1.0, 0.0), 1.0


def relu(z: float) -> float:
    return max(0.0, z)


def relu_xor(x1: float, x2: float) -> float:
    """y = ReLU(ReLU(x1 + x2) − 2 ReLU(x1 + x2 − 1)) (notes 003)."""
    h1 = relu(x1 + x2)  # w11 = w21 = 1, b1 = 0
    h2 = relu(x1 + x2 - 1)  # w12 = w22 = 1, b2 = −1
    return relu(h1 - 2 * h2)  # w3 = 1, w4 = −2, b3 = 0


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))  # σ(z) = 1 / (1 + e^{−z})


def by_hand(p: dict[str, float]) -> dict[str, Any]:
    """Forward pass, BCE loss, every gradient by the chain rule, one gradient-descent step."""
    x1, x2 = X
    z1 = p["w11"] * x1 + p["w21"] * x2 + p["b1"]  # z1 = w11 x1 + w21 x2 + b1
    h1 = sigmoid(z1)
    z2 = p["w12"] * x1 + p["w22"] * x2 + p["b2"]  # z2 = w12 x1 + w22 x2 + b2
    h2 = sigmoid(z2)
    z3 = p["v1"] * h1 + p["v2"] * h2 + p["b3"]  # z3 = v1 h1 + v2 h2 + b3
    y = sigmoid(z3)
    loss = -(Y * math.log(y) + (1 - Y) * math.log(1 - y))  # L = −[y log ŷ + (1−y) log(1−ŷ)]
    d3 = y - Y  # ∂L/∂z3 = ŷ − y (BCE after a sigmoid)
    d1 = d3 * p["v1"] * h1 * (1 - h1)  # ∂L/∂z1 = (ŷ − y) v1 h1 (1 − h1)
    d2 = d3 * p["v2"] * h2 * (1 - h2)
    grad = {
        "v1": d3 * h1,
        "v2": d3 * h2,
        "b3": d3,
        "w11": d1 * x1,
        "w21": d1 * x2,
        "b1": d1,  # ∂L/∂w11 = (ŷ − y) v1 h1 (1 − h1) x1
        "w12": d2 * x1,
        "w22": d2 * x2,
        "b2": d2,
    }
    new = {k: p[k] - LR * grad[k] for k in p}  # θ ← θ − η ∂L/∂θ
    forward = {"z1": z1, "h1": h1, "z2": z2, "h2": h2, "z3": z3, "y": y}
    return {"forward": forward, "loss": loss, "grad": grad, "new": new}


def by_autograd(p: dict[str, float]) -> dict[str, float]:
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    x1, x2 = (torch.tensor(v, dtype=torch.float64) for v in X)
    h1 = torch.sigmoid(t["w11"] * x1 + t["w21"] * x2 + t["b1"])
    h2 = torch.sigmoid(t["w12"] * x1 + t["w22"] * x2 + t["b2"])
    y = torch.sigmoid(t["v1"] * h1 + t["v2"] * h2 + t["b3"])
    torch.nn.functional.binary_cross_entropy(y, torch.tensor(Y, dtype=torch.float64)).backward()
    return {k: float(v.grad) for k, v in t.items()}


def verdict(numbers: dict[str, Any]) -> Verdict:
    """Held when the ReLU network gets all four rows right, the hand gradient matches autograd
    to 1e-9, and the update lowers the loss."""
    wrong = numbers["relu_wrong"]
    diff = numbers["max_grad_difference"]
    before, after = numbers["loss"], numbers["loss_after"]
    held = wrong == 0 and diff < 1e-9 and after < before
    return Verdict(
        held,
        f"ReLU network: {4 - wrong}/4 XOR rows right; hand gradient vs "
        f"autograd: max difference {diff:.1e}; loss {before:.6f} -> {after:.6f} "
        "after one step (claim: 4/4, < 1e-9, lower)",
    )


def measure(ctx: Context, report: Report) -> dict[str, Any]:
    rows = [(a, b, relu_xor(a, b), float(int(a) ^ int(b))) for a in (0.0, 1.0) for b in (0.0, 1.0)]
    hand = by_hand(INIT)
    auto = by_autograd(INIT)
    after = by_hand(hand["new"])["loss"]
    numbers = {
        "relu_rows": rows,
        "relu_wrong": sum(1 for *_, y, t in rows if y != t),
        "forward": hand["forward"],
        "loss": hand["loss"],
        "loss_after": after,
        "grad": hand["grad"],
        "autograd": auto,
        "new": hand["new"],
        "max_grad_difference": max(abs(hand["grad"][k] - auto[k]) for k in INIT),
    }
    report.settings = {"init": INIT, "lr": LR, "x": X, "y": Y}
    report.text(
        "1. The hand-set ReLU network: h1 = ReLU(x1 + x2), h2 = ReLU(x1 + x2 − 1), "
        "y = ReLU(h1 − 2 h2)."
    )
    report.table(["x1", "x2", "y", "XOR"], [list(r) for r in rows])
    report.text(
        "2. The sigmoid 2-2-1 network of the worked example, with the initial weights of "
        f"the notes, input (1, 0), target 1, binary cross-entropy, learning rate {LR}."
    )
    report.table(
        ["quantity", "value"],
        [[k, v] for k, v in hand["forward"].items()] + [["loss L", hand["loss"]]],
        "forward pass",
    )
    report.table(
        ["θ", "∂L/∂θ by the chain rule", "autograd", "θ − 0.1 ∂L/∂θ"],
        [[k, f"{hand['grad'][k]:.6f}", f"{auto[k]:.6f}", f"{hand['new'][k]:.6f}"] for k in INIT],
        "backward pass and one gradient-descent step",
    )
    report.text(f"The loss after the step: {after:.6f} (before: {hand['loss']:.6f}).")
    return numbers


#: measure, decide and write the report on the one engine
run = runner(__name__)
