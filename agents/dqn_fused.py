"""DQN's update without autograd: the same loss and gradient, computed by hand for speed.

Description:
    `FusedQSteps` is the part of `DQNAgent` that updates an MLP Q-network through
    `lecture_rl.nets.fused_mlp.FusedMLP` (a forward that keeps what the backward needs, a
    hand-written backward): `fused_step` computes `DQNAgent.loss_on`'s loss and its gradient
    ∂L/∂Q(s, a) directly, then steps. For a small `Discrete` observation space without action
    masks the network runs once per state and the targets are read by index
    (`_fused_table_step`), in numpy on the CPU (`_numpy_table_step`: each operation ~1 µs
    instead of torch's few). `tests/test_agents_dqn.py` checks each against autograd.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lecture_rl.agents.q_target import td_target


class FusedQSteps:
    """The fused updates of `DQNAgent` (uses its `_fused`, `_fused_target`, `hp`, `device`,
    `n_actions`, `epsilon`, `_state_inputs()`, `_encode()` and `apply_gradients`)."""

    def fused_step(self, batch: dict[str, np.ndarray]) -> torch.Tensor:
        """`loss_on` and its gradient by `FusedMLP` (no autograd), then the
        step; returns the loss. `tests/test_agents_dqn.py` checks the gradient."""
        assert self._fused is not None and self._fused_target is not None
        n = len(batch["actions"])
        actions = torch.as_tensor(batch["actions"], device=self.device) - self.action_start
        rewards = torch.as_tensor(batch["rewards"], device=self.device)
        terminated = torch.as_tensor(batch["terminated"], device=self.device)
        next_mask = None  # an env without masks: every action is available, skip the masking
        if self._env_has_masks:
            next_mask = torch.as_tensor(batch["next_mask"], device=self.device)
        states = self._state_inputs()
        if states is not None and next_mask is None:
            return self._fused_table_step(batch, states)
        if states is not None:  # Discrete s: f_θ once per state, then indexed (see the class)
            ids = torch.as_tensor(batch["obs"], device=self.device) - self._obs_start
            next_ids = torch.as_tensor(batch["next_obs"], device=self.device) - self._obs_start
            q_states, trace = self._fused.forward(states)
            q_s = q_states[ids]
            q_next_online = q_states[next_ids] if self.hp["double"] else None
            q_next_target = self._fused_target.forward(states)[0][next_ids]  # f_θ̃(s', ·)
        else:
            x_next = self._encode(batch["next_obs"])
            if self.hp["double"]:  # one forward pass of θ over s and s' together
                q_both, trace = self._fused.forward(torch.cat([self._encode(batch["obs"]), x_next]))
                q_s, q_next_online = q_both[:n], q_both[n:]
            else:
                (q_s, trace), q_next_online = self._fused.forward(self._encode(batch["obs"])), None
            q_next_target = self._fused_target.forward(x_next)[0]  # f_θ̃(s', ·)
        y = td_target(
            rewards, terminated, q_next_target, self.hp["gamma"],
            next_mask=next_mask, q_next_online=q_next_online,
        )  # fmt: skip
        index = actions[:, None]
        q_sa = q_s.gather(1, index).squeeze(1)  # Q(s, a; θ)
        error = q_sa - y
        if self.hp["loss"] == "huber":
            loss = nn.functional.smooth_l1_loss(q_sa, y)  # Huber, δ = 1
            grad = error.clamp(-1.0, 1.0) / n  # ∂L/∂Q(s, a): the error clipped to [−1, 1]
        else:
            loss = nn.functional.mse_loss(q_sa, y)  # (y − Q(s, a; θ))², notes 004
            grad = error * (2.0 / n)  # ∂L/∂Q(s, a) = 2 (Q − y) / B
        if states is not None:  # ∂L/∂f_θ(s) summed over the batch rows showing state s
            grad_q = torch.zeros(states.shape[0], self.n_actions, device=self.device)
            grad_q.index_put_((ids, actions), grad, accumulate=True)
        else:
            grad_q = torch.zeros_like(q_s).scatter_(1, index, grad[:, None])
        self._fused.backward(trace, grad_q)
        return self.apply_gradients(loss, {}, {"epsilon": self.epsilon})

    def _fused_table_step(self, batch: dict[str, np.ndarray], states: torch.Tensor) -> torch.Tensor:
        """`fused_step` for a small `Discrete` space without action masks: the targets
        are computed per state (16 rows on FrozenLake 4x4) and read by index."""
        assert self._fused is not None and self._fused_target is not None
        if self.device.type == "cpu" and self.numpy_on_cpu:
            return self._numpy_table_step(batch, states)
        n, width = len(batch["actions"]), self.n_actions
        # cell (s, a) of the [states, actions] Q table, and s', as one int64 transfer
        cells = (batch["obs"] - self._obs_start) * width + (batch["actions"] - self.action_start)
        index = torch.as_tensor(np.stack([cells, batch["next_obs"] - self._obs_start]))
        discount = self.hp["gamma"] * (1.0 - batch["terminated"])  # γ (1 − done)
        numbers = torch.as_tensor(np.stack([batch["rewards"], discount]).astype(np.float32))
        index, numbers = index.to(self.device), numbers.to(self.device)
        q_states, trace = self._fused.forward(states)  # f_θ(s, ·) for every s
        q_target = self._fused_target.forward(states)[0]  # f_θ̃(s, ·)
        if self.hp["double"]:  # Q(s', argmax_a' Q(s', a'; θ); θ̃)
            v_next = q_target.gather(1, q_states.argmax(1, keepdim=True)).squeeze(1)
        else:  # max_a' Q(s', a'; θ̃)
            v_next = q_target.max(1).values
        y = torch.addcmul(numbers[0], numbers[1], v_next[index[1]])  # y = r + γ (1 − done) v(s')
        q_sa = q_states.view(-1)[index[0]]  # Q(s, a; θ)
        error = q_sa - y
        if self.hp["loss"] == "huber":
            loss = nn.functional.smooth_l1_loss(q_sa, y)  # Huber, δ = 1
            grad = error.clamp_(-1.0, 1.0).mul_(1.0 / n)  # ∂L/∂Q(s, a): clipped error / B
        else:
            loss = nn.functional.mse_loss(q_sa, y)  # (y − Q(s, a; θ))², notes 004
            grad = error.mul_(2.0 / n)  # ∂L/∂Q(s, a) = 2 (Q − y) / B
        # ∂L/∂f_θ(s, a): the sum over the samples in cell (s, a)
        grad_q = torch.bincount(index[0], weights=grad, minlength=states.shape[0] * width)
        self._fused.backward(trace, grad_q.view(-1, width))
        return self.apply_gradients(loss, {}, {"epsilon": self.epsilon})

    def _numpy_table_step(self, batch: dict[str, np.ndarray], states: torch.Tensor) -> torch.Tensor:
        """`_fused_table_step` in numpy (CPU): the same numbers, each operation ~1 µs
        instead of torch's few µs; the gradients land in `.grad` for the usual step."""
        assert self._fused is not None and self._fused_target is not None
        n, width = len(batch["actions"]), self.n_actions
        inputs = states.numpy()
        cells = (batch["obs"] - self._obs_start) * width + (batch["actions"] - self.action_start)
        next_ids = batch["next_obs"] - self._obs_start
        q_states, trace = self._fused.forward_numpy(inputs)  # f_θ(s, ·) for every s
        q_target = self._fused_target.forward_numpy(inputs)[0]  # f_θ̃(s, ·)
        if self.hp["double"]:  # Q(s', argmax_a' Q(s', a'; θ); θ̃)
            v_next = np.take_along_axis(q_target, q_states.argmax(1)[:, None], 1)[:, 0]
        else:  # max_a' Q(s', a'; θ̃)
            v_next = q_target.max(1)
        discount = np.float32(self.hp["gamma"]) * (1.0 - batch["terminated"])  # γ (1 − done)
        y = batch["rewards"] + discount * v_next[next_ids]  # y = r + γ (1 − done) v(s')
        error = q_states.reshape(-1)[cells] - y  # Q(s, a; θ) − y
        if self.hp["loss"] == "huber":
            size = np.abs(error)
            # Huber, δ = 1: ½e² where |e| < 1, else |e| − ½
            loss = np.where(size < 1.0, 0.5 * error * error, size - 0.5).mean(dtype=np.float32)
            grad = np.clip(error, -1.0, 1.0) / np.float32(n)  # ∂L/∂Q(s, a): clipped error / B
        else:
            loss = (error * error).mean(dtype=np.float32)  # (y − Q(s, a; θ))², notes 004
            grad = error * np.float32(2.0 / n)  # ∂L/∂Q(s, a) = 2 (Q − y) / B
        # ∂L/∂f_θ(s, a): the sum over the samples in cell (s, a)
        grad_q = np.bincount(cells, weights=grad, minlength=states.shape[0] * width)
        grads = self._fused.backward_numpy(trace, grad_q.astype(np.float32).reshape(-1, width))
        return torch.tensor(
            self.apply_gradients(float(loss), {}, {"epsilon": self.epsilon}, numpy_grads=grads)
        )
