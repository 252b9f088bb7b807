"""A deep agent on disk: its networks' weights, and the state that resumes its training.

Description:
    `DeepCheckpoint` is the part of `DeepAgent` that saves and loads: the modules of
    `modules_to_save()` as `weights.safetensors` (never a pickle), and for a resumable
    checkpoint `training_state.safetensors` (Adam's moments, the torch generators, what an
    algorithm adds such as DQN's replay memory) with the rest of the state as JSON. A
    checkpoint trained on a GPU loads on a machine without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from lecture_rl.agents.base import Agent, CheckpointError
from lecture_rl.agents.checkpoint_io import WEIGHTS_FILE, load_tensors, save_tensors

TRAINING_STATE_FILE = "training_state.safetensors"


class DeepCheckpoint:
    """The saving half of `DeepAgent` (uses its `modules_to_save()`, `optimizer`, generators,
    `hp`, `updates` and `env_steps`); algorithms add to the training state through the three
    `_extra_*` hooks."""

    def _save_state(self, folder: Path) -> dict[str, Any]:

        tensors = {
            f"{module_name}.{key}": value.detach().to("cpu").contiguous().clone()
            for module_name, module in self.modules_to_save().items()
            for key, value in module.state_dict().items()
        }
        save_tensors(folder / WEIGHTS_FILE, tensors, {"agent": self.name, "net": self.hp["net"]})
        return {
            "weights": WEIGHTS_FILE,
            "backbone": self.hp["net"],
            "modules": sorted(self.modules_to_save()),
            "updates": self.updates,
            "env_steps": self.env_steps,
        }

    def _save_training_state(self, folder: Path) -> dict[str, Any]:
        """Adam's moments and step counts, the torch generators, extra arrays (DQN's replay
        memory) as `training_state.safetensors`; the rest as JSON."""
        optimizer = self.optimizer.state_dict()
        tensors: dict[str, torch.Tensor] = {
            "generator": self.generator.get_state(),
            "cpu_generator": self.cpu_generator.get_state(),
        }
        scalars: dict[str, dict[str, float]] = {}
        for index, slots in optimizer["state"].items():
            for name, value in slots.items():
                if torch.is_tensor(value):
                    tensors[f"optimizer.{index}.{name}"] = value.detach().to("cpu").contiguous()
                else:
                    scalars.setdefault(str(index), {})[name] = value
        for name, array in self._extra_training_arrays().items():
            tensors[f"extra.{name}"] = torch.from_numpy(np.ascontiguousarray(array))
        save_tensors(folder / TRAINING_STATE_FILE, tensors, {"agent": self.name})
        return {
            **super()._save_training_state(folder),
            "file": TRAINING_STATE_FILE,
            "param_groups": optimizer["param_groups"],
            "optimizer_scalars": scalars,
            **self._extra_training_json(),
        }

    def _load_training_state(self, folder: Path, state: dict[str, Any]) -> None:
        super()._load_training_state(folder, state)
        tensors = load_tensors(folder / state.get("file", TRAINING_STATE_FILE))
        try:
            self.generator.set_state(tensors["generator"])
            self.cpu_generator.set_state(tensors["cpu_generator"])
            slots: dict[int, dict[str, Any]] = {}
            for key, value in tensors.items():
                if key.startswith("optimizer."):
                    _, index, name = key.split(".", 2)
                    slots.setdefault(int(index), {})[name] = value.to(self.device)
            for index, values in state.get("optimizer_scalars", {}).items():
                slots.setdefault(int(index), {}).update(values)
            self.optimizer.load_state_dict({"state": slots, "param_groups": state["param_groups"]})
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise CheckpointError(
                f"checkpoint {folder}: the training state does not fit this agent: {exc}"
            ) from exc
        arrays = {
            k[len("extra.") :]: v.numpy() for k, v in tensors.items() if k.startswith("extra.")
        }
        self._restore_extra_training_state(arrays, state)

    def _extra_training_arrays(self) -> dict[str, np.ndarray]:
        """Arrays an algorithm adds to the training state (DQN: its replay memory)."""
        return {}

    def _extra_training_json(self) -> dict[str, Any]:
        """JSON values an algorithm adds to the training state (DQN: ε, the next θ̃ copy)."""
        return {}

    def _restore_extra_training_state(
        self, arrays: dict[str, np.ndarray], state: dict[str, Any]
    ) -> None:
        """Restore what the two methods above added."""

    @classmethod
    def from_checkpoint(cls, folder: Path, meta: dict[str, Any], env: gym.Env) -> Agent:
        """As the base, but a checkpoint trained on a GPU also loads on a machine without one."""
        hp = dict(meta.get("hyperparameters", {}))
        if str(hp.get("device", "auto")).startswith("cuda") and not torch.cuda.is_available():
            meta = {**meta, "hyperparameters": {**hp, "device": "cpu"}}
        return super().from_checkpoint(folder, meta, env)

    def _load_state(self, folder: Path, meta: dict[str, Any]) -> None:
        path = folder / meta.get("weights", WEIGHTS_FILE)
        tensors = load_tensors(path)
        for module_name, module in self.modules_to_save().items():
            prefix = f"{module_name}."
            part = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            try:
                module.load_state_dict(part, strict=True)
            except RuntimeError as exc:
                raise CheckpointError(
                    f"checkpoint {path} does not fit module '{module_name}' of a "
                    f"{self.hp['net']} {self.name} agent: {str(exc).splitlines()[0]}"
                ) from exc
        self.updates = int(meta.get("updates", 0))
        self.env_steps = int(meta.get("env_steps", 0))
