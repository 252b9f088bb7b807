"""Deep agents on torch batched envs, device selection and checkpoints across devices."""

from __future__ import annotations

import io
import json
from typing import Any

import gymnasium as gym
import pytest
import torch
from rich.console import Console

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents.base import TrainingCallback
from lecture_rl.agents.device import resolve_device
from lecture_rl.agents.events import EpisodeBatch, EpisodeEnd, Transition
from lecture_rl.agents.ppo import PPOAgent
from lecture_rl.agents.vector_envs import use_torch_envs
from lecture_rl.envs.torch_vector import TorchVectorEnv

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
TINY = {"hidden_size": 16, "num_envs": 16, "n_steps": 8, "num_minibatches": 2}


SMALL = {"ppo": TINY, "reinforce": {"hidden_size": 16, "num_envs": 16}}


def train(name: str, env: gym.Env, torch_envs: bool, steps: int, **hp) -> tuple[Any, list]:
    agent = agents.make(name, env, seed=5, device="cpu", torch_envs=torch_envs, **SMALL[name], **hp)
    result = agent.train(env, steps=steps)
    return agent, result.episodes


def weights(agent: Any) -> torch.Tensor:
    return torch.cat([p.detach().cpu().flatten() for p in agent.parameters()])


@pytest.mark.parametrize("name", ["ppo", "reinforce"])
@pytest.mark.parametrize(
    ("env_id", "env_kwargs", "net"),
    [
        ("LectureRL/Parity-v0", {"length": 4}, "lstm"),
        ("LectureRL/Copy-v0", {"length": 2, "symbols": 3}, "gru"),
        ("LectureRL/GridWorld-v0", {"map_name": "cliff", "max_steps": 12}, "mlp"),  # truncates
    ],
)
def test_training_on_torch_envs_equals_training_on_numpy_envs(name, env_id, env_kwargs, net):
    """Same seed: the same episodes (return, length, env_steps) and the same final weights."""
    env = gym.make(env_id, **env_kwargs)
    numpy_agent, numpy_episodes = train(name, env, False, 512, net=net)
    torch_agent, torch_episodes = train(name, env, True, 512, net=net)
    strip = lambda eps: [{k: v for k, v in e.items() if k != "wall_time"} for e in eps]  # noqa: E731
    assert len(numpy_episodes) > 20
    assert strip(torch_episodes) == strip(numpy_episodes)
    assert torch.equal(weights(torch_agent), weights(numpy_agent))


def test_ppo_chooses_torch_envs_by_the_setting_and_the_device(monkeypatch):
    env = gym.make("LectureRL/Parity-v0", length=4)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")  # a device name needs no GPU
    assert not use_torch_envs("auto", cpu, env, None)
    assert use_torch_envs("auto", cuda, env, None)
    assert use_torch_envs(True, cpu, env, None)
    assert not use_torch_envs(False, cuda, env, None)
    assert not use_torch_envs("auto", cuda, gym.make("CartPole-v1"), None)  # no torch version

    class Viewer(TrainingCallback):
        events = (Transition,)

    built = []
    original = agents.vector_envs.make_train_envs

    def spy(env, num_envs, device=None):
        envs = original(env, num_envs, device)
        built.append(isinstance(envs, TorchVectorEnv))
        return envs

    monkeypatch.setattr("lecture_rl.agents.ppo.make_train_envs", spy)
    agent = agents.make("ppo", env, seed=0, device="cpu", torch_envs=True, **TINY)
    agent.train(env, steps=128)
    agent.train(env, steps=128, callbacks=[Viewer()])  # the live viewer reads numpy steps
    assert built == [True, False]
    assert agents.make("ppo", env, device="cpu").hp["torch_envs"] == "auto"
    with pytest.raises(agents.HyperparameterError, match="torch_envs"):
        agents.make("ppo", env, torch_envs="yes")


def test_auto_device_follows_cuda_availability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda:1")


HOST_READS = ("cpu", "numpy", "item", "tolist", "__bool__", "__int__", "__float__")


def count_host_reads(monkeypatch) -> dict[str, int]:
    """Count the tensor methods that copy to (or wait for) the host."""
    counts = dict.fromkeys(HOST_READS, 0)
    for name in HOST_READS:
        method = getattr(torch.Tensor, name)

        def counted(self, *args, _name=name, _method=method, **kwargs):
            counts[_name] += 1
            return _method(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counts


@pytest.mark.parametrize("torch_envs", [True, False])
def test_collecting_on_torch_envs_reads_the_host_once_per_rollout(monkeypatch, torch_envs):
    """No per-step `.cpu()` / `.numpy()` / `.item()` while collecting on torch envs."""
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("ppo", env, seed=0, device="cpu", torch_envs=torch_envs, **TINY)
    monkeypatch.setattr(agent, "_update", lambda *args, **kwargs: {})  # collection only
    rollouts = 4
    counts = count_host_reads(monkeypatch)
    agent.train(env, steps=rollouts * TINY["num_envs"] * TINY["n_steps"])
    reads = sum(counts.values())
    if torch_envs:  # one copy of the episode ends per rollout, plus the reset's seeds
        assert reads <= 2 * rollouts + 2, counts
    else:  # the numpy envs need the actions on the host every step
        assert reads >= rollouts * TINY["n_steps"], counts


def test_training_on_torch_envs_waits_for_the_device_once_per_rollout(monkeypatch):
    """Collect and update, LSTM with the episode prefix on Copy (episodes cross rollouts): one
    read of the device per rollout, the copy of its episode ends. Reads once per `train`
    (the reset's seeds, the divergence check at the end) do not grow with the rollouts."""
    env = gym.make("LectureRL/Copy-v0", length=2, symbols=3)
    reads = {}
    for rollouts in (2, 4):
        agent = agents.make("ppo", env, seed=0, device="cpu", net="lstm", torch_envs=True,
                            **TINY)  # fmt: skip
        with monkeypatch.context() as patch:
            counts = count_host_reads(patch)
            agent.train(env, steps=rollouts * TINY["num_envs"] * TINY["n_steps"])
        # .numpy() works on host tensors only (a device tensor is copied by .cpu() first)
        reads[rollouts] = sum(n for name, n in counts.items() if name != "numpy")
    assert reads[4] - reads[2] == 2, reads
    assert reads[2] <= 2 + 3, reads


class Episodes(TrainingCallback):
    """Keeps both kinds of episode events."""

    events = (EpisodeBatch, EpisodeEnd)

    def __init__(self):
        self.batches, self.ends = [], []

    def on_event(self, event):
        (self.batches if isinstance(event, EpisodeBatch) else self.ends).append(event)


@pytest.mark.parametrize("budget", [{"steps": 6 * 16 * 8}, {"episodes": 50}])
def test_episodes_on_torch_envs_come_as_one_batch_per_rollout_equal_to_the_per_episode_ones(
    budget,
):
    env = gym.make("LectureRL/Copy-v0", length=2, symbols=3)  # 5-step episodes
    runs = {}
    for torch_envs in (True, False):
        agent = agents.make("ppo", env, seed=3, device="cpu", net="gru", torch_envs=torch_envs,
                            **TINY)  # fmt: skip
        seen = Episodes()
        result = agent.train(env, callbacks=[seen], **budget)
        runs[torch_envs] = (seen, result)
    (batched, result), (one_by_one, numpy_result) = runs[True], runs[False]
    rows = [record for batch in batched.batches for record in batch.records()]
    assert rows == [dict(end.record) for end in batched.ends] == result.episodes
    strip = lambda records: [{k: v for k, v in r.items() if k != "wall_time"} for r in records]  # noqa: E731
    assert strip(rows) == strip(numpy_result.episodes) == strip(e.record for e in one_by_one.ends)
    assert len(rows) == budget.get("episodes", len(rows)) and len(rows) > 20
    assert len(batched.batches) == result.env_steps // (16 * 8)  # one per rollout
    assert len(one_by_one.batches) == len(one_by_one.ends)  # numpy envs: batches of one
    assert all(batch.accuracy is not None for batch in batched.batches)


def test_no_per_episode_event_is_built_unless_someone_listens(monkeypatch):
    built = []

    made = EpisodeEnd.__init__

    def counted(self, *args, **kwargs):
        built.append(1)
        made(self, *args, **kwargs)

    monkeypatch.setattr(EpisodeEnd, "__init__", counted)
    env = gym.make("LectureRL/Parity-v0", length=4)
    batches = []
    listener = TrainingCallback()
    listener.events, listener.on_event = (EpisodeBatch,), batches.append
    for torch_envs in (True, False):
        agent = agents.make("ppo", env, seed=0, device="cpu", torch_envs=torch_envs, **TINY)
        result = agent.train(env, steps=4 * 16 * 8, callbacks=[listener])
        assert len(result.episodes) == sum(len(batch) for batch in batches) > 0
        assert not built
        batches.clear()
    agent.train(env, steps=16 * 8, callback=lambda record: None)  # a listener: built
    assert built


def test_the_progress_bar_moves_once_per_rollout_on_torch_envs(monkeypatch):
    from lecture_rl.runners.progress import TrainProgress

    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("ppo", env, seed=0, device="cpu", torch_envs=True, **TINY)
    progress = TrainProgress("ppo", {"steps": 4 * 16 * 8}, Console(file=io.StringIO()))
    moves = []
    monkeypatch.setattr(progress.progress, "update", lambda task, **kw: moves.append(kw))
    result = agent.train(env, steps=4 * 16 * 8, callbacks=[progress])
    assert len(moves) == 4 and moves[-1]["completed"] == result.env_steps
    assert progress.episodes == len(result.episodes)
    assert moves[-1]["status"].endswith(f"accuracy {result.episodes[-1]['accuracy']:.3f}")


def save_with_device(tmp_path, device_name: str) -> tuple[Any, PPOAgent]:
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("ppo", env, seed=1, device="cpu", net="gru", **TINY)
    agent.train(env, steps=256)
    folder = agent.save(tmp_path / "ckpt", training_state=True)
    meta_path = folder / "agent.json"
    meta = json.loads(meta_path.read_text())
    meta["hyperparameters"]["device"] = device_name  # as written on a GPU machine
    meta_path.write_text(json.dumps(meta))
    return folder, agent


@pytest.mark.parametrize("device_name", ["cuda", "cuda:0"])
def test_a_cuda_checkpoint_loads_on_a_machine_without_cuda(tmp_path, monkeypatch, device_name):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    folder, trained = save_with_device(tmp_path, device_name)
    loaded = agents.load(folder)
    assert loaded.device == torch.device("cpu")
    assert torch.equal(weights(loaded), weights(trained))
    moments = [s["exp_avg"] for s in loaded.optimizer.state_dict()["state"].values()]
    assert moments and all(m.device.type == "cpu" for m in moments)
    env = gym.make("LectureRL/Parity-v0", length=4)
    assert loaded.evaluate(env, 20, seed=3) == trained.evaluate(env, 20, seed=3)


def test_load_puts_the_agent_on_the_device_asked_for(tmp_path, monkeypatch, capsys):
    """On a (mocked) GPU machine a cuda checkpoint loads on the CPU when asked, in Python and
    with `lecture-rl evaluate --device cpu`."""
    from lecture_rl.runners.cli import main

    folder, trained = save_with_device(tmp_path, "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    loaded = agents.load(folder, device="cpu")
    assert loaded.device == torch.device("cpu") and loaded.hp["device"] == "cpu"
    assert torch.equal(weights(loaded), weights(trained))
    code = main(["evaluate", "--checkpoint", str(folder), "--device", "cpu", "--episodes", "5",
                 "--json"])  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 5


def test_a_cpu_checkpoint_loads_onto_the_requested_device(tmp_path, monkeypatch):
    """The weights are read onto the CPU and moved to the agent's device (here a mocked
    `cuda`: the copy is intercepted), never onto the device they were saved from."""
    folder, trained = save_with_device(tmp_path, "cpu")
    from lecture_rl.agents import checkpoint_io

    seen = []
    original = checkpoint_io.load_tensors

    def spy(path):
        tensors = original(path)
        seen.extend({t.device.type for t in tensors.values()})
        return tensors

    monkeypatch.setattr("lecture_rl.agents.deep_checkpoint.load_tensors", spy)
    loaded = agents.load(folder)
    assert set(seen) == {"cpu"}
    assert torch.equal(weights(loaded), weights(trained))


@needs_cuda
def test_ppo_on_cuda_trains_on_torch_envs_and_loads_back_on_cpu(tmp_path):
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("ppo", env, seed=0, device="cuda", net="lstm", num_envs=64)
    agent.train(env, steps=40_000)
    assert agent.evaluate(env, 100, seed=0)["accuracy"] > 0.95
    folder = agent.save(tmp_path / "cuda_ckpt")
    meta = json.loads((folder / "agent.json").read_text())
    meta["hyperparameters"]["device"] = "cpu"
    (folder / "agent.json").write_text(json.dumps(meta))
    on_cpu = agents.load(folder)
    assert on_cpu.device.type == "cpu"
    assert torch.equal(weights(on_cpu), weights(agent))


@needs_cuda
def test_same_seed_same_numbers_on_cuda():
    env = gym.make("LectureRL/Parity-v0", length=4)
    runs = []
    for _ in range(2):
        agent = agents.make("ppo", env, seed=2, device="cuda", net="gru", **TINY)
        episodes = agent.train(env, steps=1024).episodes
        runs.append(([e["return"] for e in episodes], weights(agent)))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
