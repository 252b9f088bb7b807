"""How a deep agent's loss becomes a parameter change: clip, guard, report, step.

Description:
    `GradientSteps` is the part of `DeepAgent` that applies one update: backward, the gradients
    clipped to a global norm (`clip_gradients`, or `clip_numpy_gradients` on numpy views of CPU
    gradients), a `NetworkUpdate` for the subscribers that want one, the divergence guard, and
    the optimizer step (`fused_adam_step`: fused Adam's kernel without `step()`'s overhead).
    Without a subscriber nothing is converted to a Python number: a non-finite loss or gradient
    is handed to fused Adam as `found_inf` (the step is skipped on the device) and the first
    such update is remembered; `check_divergence` raises `TrainingDiverged` naming it every
    `GUARD_EVERY` updates, before a checkpoint is saved and when training ends.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from lecture_rl.agents.base import TrainingDiverged
from lecture_rl.agents.events import NetworkUpdate
from lecture_rl.agents.monitors import DivergenceGuard, divergence_message

#: updates between the sync-free divergence guard's host checks (`GradientSteps.check_divergence`)
GUARD_EVERY = 64
_NEVER = 2.0**40  # first bad update k is stored as _NEVER − k (0: none)


class GradientSteps:
    """The update half of `DeepAgent`: `gradient_step`, `apply_gradients`, the guard.

    Uses the agent's `optimizer`, `hp["max_grad_norm"]`, `hp["checkpoint_every"]`, `_run`
    (the `TrainingRun` while training), `updates`, `env_steps`, `log_dir` and `_trainable()`.
    """

    def gradient_step(
        self,
        loss: torch.Tensor,
        losses: dict[str, torch.Tensor],
        scalars: dict[str, float] | None = None,
    ) -> torch.Tensor:
        """∇ of `loss`, clipped to `max_grad_norm`, guarded, then one optimizer step.

        Returns the loss (a detached tensor: `float()` it only where the number is needed,
        each conversion is a host sync on a GPU). See `apply_gradients`.
        """
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return self.apply_gradients(loss, losses, scalars)

    # Intentional twin (duplicate scan): the same arguments as gradient_step, which runs
    # backward first; this one takes gradients already in .grad (dqn's hand-written MLP backward).
    def apply_gradients(
        self,
        loss: torch.Tensor | float,
        losses: dict[str, torch.Tensor | float],
        scalars: dict[str, float] | None = None,
        *,
        numpy_grads: list[np.ndarray] | None = None,
    ) -> torch.Tensor | float:
        """Clip the gradients in `.grad` to `max_grad_norm`, guard, report, step.

        `numpy_grads` (CPU only): numpy views of those same `.grad` tensors, in the order of
        `_trainable`; the norm, the clipping and the guard are then done on host numbers
        (`_apply_numpy_gradients`: ~1 µs per operation instead of torch's few), and `loss`
        and `losses` may be floats.

        With a subscriber of [`NetworkUpdate`][lecture_rl.agents.events.NetworkUpdate], the event
        (`loss` and the named `losses` as floats, the gradient norm before clipping) goes out
        *before* the optimizer step, so the divergence guard stops a NaN before it reaches the
        weights. Without one nothing is converted to a float: a fused optimizer is handed a
        `found_inf` flag (as mixed-precision training does), so a non-finite loss or
        gradient leaves the weights as they were without a host sync, and the first such
        update is remembered for `check_divergence`, which raises
        [`TrainingDiverged`][lecture_rl.agents.base.TrainingDiverged] naming it.
        """
        if numpy_grads is not None:
            return self._apply_numpy_gradients(loss, losses, scalars, numpy_grads)
        grads = [p.grad for p in self._trainable() if p.grad is not None]
        grad_norm = clip_gradients(grads, self.hp["max_grad_norm"])
        loss = loss.detach()
        optimizer = self.optimizer
        run = self._run
        if run is not None and run.wants(NetworkUpdate):
            values = {"loss": float(loss)}
            values.update({key: float(value.detach()) for key, value in losses.items()})
            event = NetworkUpdate(
                self.updates + 1, self.env_steps, values, float(grad_norm), scalars or {}
            )
            run.emit(event)
            DivergenceGuard(self).on_event(event)  # already floats: checking costs nothing
            optimizer.found_inf = None
        elif run is None or not optimizer.defaults.get("fused"):
            # an update outside train(), or an optimizer without found_inf: check now
            event = NetworkUpdate(self.updates + 1, self.env_steps, {"loss": float(loss)})
            DivergenceGuard(self).on_event(event)
            optimizer.found_inf = None
        else:
            total = loss + grad_norm  # finite iff both are
            found_inf = (total - total).ne_(0.0)  # 1.0 where nan or ±inf, else 0.0
            optimizer.found_inf = found_inf  # fused Adam skips the step: no sync
            # remember the first bad update: the largest BIG − k over bad updates k
            mark = found_inf.double().mul_(_NEVER - (self.updates + 1))  # float64: exact
            if self._first_bad is None:
                self._first_bad = mark
            else:
                torch.maximum(self._first_bad, mark, out=self._first_bad)
        if not fused_adam_step(optimizer):
            optimizer.step()
        return loss

    def _apply_numpy_gradients(
        self,
        loss: torch.Tensor | float,
        losses: dict[str, torch.Tensor | float],
        scalars: dict[str, float] | None,
        grads: list[np.ndarray],
    ) -> float:
        """`apply_gradients` for numpy views of CPU gradients; returns the loss as a float.

        The loss and the norm are already host numbers, so the guard needs no device flag: a
        non-finite update is skipped here (the weights keep their values) and remembered for
        `check_divergence`, as the sync-free path does."""
        loss = float(loss)
        grad_norm = clip_numpy_gradients(grads, self.hp["max_grad_norm"])
        run = self._run
        if run is not None and run.wants(NetworkUpdate):
            values = {"loss": loss, **{key: float(value) for key, value in losses.items()}}
            event = NetworkUpdate(
                self.updates + 1, self.env_steps, values, grad_norm, scalars or {}
            )
            run.emit(event)
            DivergenceGuard(self).on_event(event)
        elif not (math.isfinite(loss) and math.isfinite(grad_norm)):
            if run is None:  # an update outside train(): raise now
                event = NetworkUpdate(self.updates + 1, self.env_steps, {"loss": loss})
                DivergenceGuard(self).on_event(event)
                raise TrainingDiverged(
                    divergence_message(self, self.updates + 1, "gradient norm", grad_norm)
                )
            if self._first_bad is None:  # the first bad update k, stored as _NEVER − k
                self._first_bad = torch.tensor(_NEVER - (self.updates + 1), dtype=torch.float64)
            return loss
        optimizer = self.optimizer
        optimizer.found_inf = None
        if not fused_adam_step(optimizer):
            optimizer.step()
        return loss

    def check_divergence(self) -> None:
        """Raise [`TrainingDiverged`][lecture_rl.agents.base.TrainingDiverged] if a sync-free
        update met a non-finite loss.

        One host sync; agents call it every `GUARD_EVERY` updates, before saving a
        checkpoint and when training ends. The weights never took the bad step.
        """
        if self._first_bad is None:
            return
        mark = float(self._first_bad)
        if mark > 0:
            self._first_bad = None
            update = int(_NEVER - mark)
            raise TrainingDiverged(
                divergence_message(self, update, "loss or its gradient", math.nan)
            )

    def _after_update(self) -> None:
        """Count the update; every `checkpoint_every` updates save `log_dir/last_good`."""
        self.updates += 1
        saving = self.log_dir is not None and self.updates % self.hp["checkpoint_every"] == 0
        if saving or self.updates % GUARD_EVERY == 0:
            self.check_divergence()  # never save a checkpoint past a bad update
        if saving:
            self.last_good_checkpoint = self.save(Path(self.log_dir) / "last_good")


def clip_gradients(grads: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale `grads` in place to a global norm of at most `max_norm`; returns the norm
    before clipping (a tensor). What `nn.utils.clip_grad_norm_` computes, with its
    per-call grouping and checks left out (same device and dtype here)."""
    if not grads:
        return torch.zeros(())
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))  # ‖g‖
    scale = (max_norm / (norm + 1e-6)).clamp_(max=1.0)  # g ← g · min(1, c / ‖g‖)
    torch._foreach_mul_(grads, scale)
    return norm


def clip_numpy_gradients(grads: list[np.ndarray], max_norm: float) -> float:
    """`clip_gradients` on numpy views of CPU gradients: the same global norm and
    scale, g ← g · min(1, c / (‖g‖ + 10⁻⁶)), in float32; returns the norm before clipping."""
    norm = np.float32(math.sqrt(sum(float(np.vdot(g, g)) for g in grads)))  # ‖g‖
    scale = min(np.float32(max_norm) / (norm + np.float32(1e-6)), np.float32(1.0))
    if scale < 1.0:
        for g in grads:
            g *= scale
    return float(norm)


def fused_adam_step(optimizer: torch.optim.Optimizer) -> bool:
    """One step of a fused `torch.optim.Adam` straight through its kernel.

    `optimizer.step()` spends ~50 µs per call grouping tensors, checking options and
    profiling before the kernel that does the work; on a small net that is most of the step.
    This calls the same kernel (`torch._fused_adam_`, with the optimizer's own state, so
    checkpoints and `state_dict` are unchanged) when the set-up is the plain one: one
    parameter group, fused, no amsgrad/maximize/weight decay/capturable/differentiable, no
    step hooks, state already made by a first `step()`. Returns `False` (nothing done)
    otherwise, and the caller steps as usual.
    """
    if type(optimizer) is not torch.optim.Adam or len(optimizer.param_groups) != 1:
        return False
    group = optimizer.param_groups[0]
    plain = (
        group["fused"]
        and not (group["amsgrad"] or group["maximize"] or group["capturable"])
        and not group["differentiable"]
        and group["weight_decay"] == 0
        and isinstance(group["lr"], float)
        and not optimizer._optimizer_step_pre_hooks
        and not optimizer._optimizer_step_post_hooks
        and hasattr(torch, "_fused_adam_")
    )
    if not plain:
        return False
    cache = getattr(optimizer, "_lecture_rl_state", None)
    params = group["params"]
    if cache is None or cache[0] is not optimizer.state or len(cache[1]) != len(params):
        states = [optimizer.state.get(p) for p in params]
        if any(not state or state["step"].device != p.device for state, p in zip(states, params)):
            return False  # the first step() makes the state
        steps = [s["step"] for s in states]
        cache = (
            optimizer.state,
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            steps,
            # the step counters as numpy views on the CPU: += 1 costs ~1 µs, _foreach_add_ ~30
            [s.numpy() for s in steps] if all(s.device.type == "cpu" for s in steps) else None,
        )
        optimizer._lecture_rl_state = cache
    _, exp_avgs, exp_avg_sqs, steps, step_views = cache
    grads = [p.grad for p in params]
    if any(g is None for g in grads):
        return False
    found_inf = getattr(optimizer, "found_inf", None)
    beta1, beta2 = group["betas"]
    if step_views is not None:
        for view in step_views:
            view += 1
    else:
        torch._foreach_add_(steps, 1)
    torch._fused_adam_(
        params, grads, exp_avgs, exp_avg_sqs, [], steps,
        amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=0.0,
        eps=group["eps"], maximize=False, grad_scale=None, found_inf=found_inf,
    )  # fmt: skip
    if found_inf is not None:  # a skipped step does not count
        torch._foreach_sub_(steps, [found_inf] * len(steps))
    return True
