"""The deep-agent base: device, seeding, checkpoints, divergence guard, recurrent acting."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import lecture_rl.envs  # noqa: F401  (registers the ids)
from lecture_rl import agents
from lecture_rl.agents import CheckpointError, HyperparameterError, TrainingDiverged
from lecture_rl.agents.device import resolve_device
from lecture_rl.agents.vector_envs import make_train_envs

PARITY = "LectureRL/Parity-v0"
TINY = {"hidden_size": 16, "num_envs": 8, "n_steps": 8, "num_minibatches": 2}


def parity(length: int = 4) -> gym.Env:
    return gym.make(PARITY, length=length)


def test_resolve_device_auto_and_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


def test_cuda_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(HyperparameterError, match="CUDA is not available on this machine"):
        resolve_device("cuda")
    with pytest.raises(HyperparameterError, match="device=cpu or auto"):
        agents.make("ppo", parity(), device="cuda")


def test_unknown_device_lists_valid_values():
    with pytest.raises(HyperparameterError, match="auto, cpu, cuda"):
        resolve_device("tpu")


def test_cnn_on_non_image_observation_is_a_clear_error():
    with pytest.raises(ValueError, match="(?i)image"):
        agents.make("ppo", parity(), net="cnn")


@pytest.mark.parametrize(
    ("hp", "pattern"),
    [
        ({"net": "lstmm"}, r"net='lstmm' is not valid \(did you mean 'lstm'\?\)"),
        ({"net": "LSTM"}, "did you mean 'lstm'"),
        ({"lr": -1.0}, r"lr=-1 is out of range; lr must be in \(0, ∞\)"),
        ({"gamma": 1.5}, r"gamma=1.5 is out of range; gamma must be in \[0, 1\]"),
        ({"num_envs": 0}, "num_envs=0 is out of range"),
        ({"hiden_size": 8}, "did you mean 'hidden_size'"),
    ],
)
def test_bad_hyperparameters_name_the_value_and_the_range(hp, pattern):
    with pytest.raises(HyperparameterError, match=pattern):
        agents.make("ppo", parity(), **hp)


def test_train_envs_are_native_vector_envs_in_same_step_mode():
    envs = make_train_envs(parity(6), 5)
    try:
        assert envs.num_envs == 5
        assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
        assert "Vector" in type(envs.unwrapped).__name__
        assert type(envs.unwrapped).__name__ != "SyncVectorEnv"
    finally:
        envs.close()


def weights(agent) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value.clone()
        for name, module in agent.modules_to_save().items()
        for key, value in module.state_dict().items()
    }


@pytest.mark.parametrize("name", ["ppo", "reinforce"])
def test_same_seed_same_weights_other_seed_other_weights(name):
    env = parity()
    runs = []
    for seed in (3, 3, 4):
        agent = agents.make(name, env, net="gru", seed=seed, hidden_size=16, num_envs=8)
        agent.train(env, steps=400)
        runs.append(weights(agent))
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert any(not torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_save_load_round_trip_is_safetensors_and_predicts_the_same(tmp_path):
    env = parity(5)
    agent = agents.make("ppo", env, net="lstm", seed=0, **TINY)
    agent.train(env, steps=640)
    folder = agent.save(tmp_path / "ckpt")
    meta = json.loads((folder / "agent.json").read_text())
    assert meta["agent"] == "ppo" and meta["backbone"] == "lstm"
    assert meta["env_id"] == PARITY and meta["env_kwargs"]["length"] == 5
    assert meta["observation_space"] == {"type": "Discrete", "n": 2, "start": 0}
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "weights.safetensors"))  # no pickle involved
    assert any(key.startswith("backbone.") for key in tensors)
    assert any(key.startswith("actor.") for key in tensors)
    again = agents.load(folder)  # env rebuilt from the recorded id and keywords
    assert all(torch.equal(v, weights(again)[k]) for k, v in weights(agent).items())
    obs = torch.randint(0, 2, (7, 3))
    with torch.no_grad():
        for a in (agent, again):
            feats, _ = a.backbone.forward_sequence(obs, a.backbone.initial_state(3, a.device), None)
            a.seen = a._action_scores(feats)
    assert torch.equal(agent.seen, again.seen)
    bits = [1, 0, 1, 1, 0]
    actions = []
    for a in (agent, again):
        obs0, info = env.reset(options={"bits": bits})
        a.reset()
        seq = [a.act(obs0, info)]
        for _ in range(4):
            obs0, *_rest, info = env.step(seq[-1])
            seq.append(a.act(obs0, info))
        actions.append(seq)
    assert actions[0] == actions[1]


def test_loading_on_an_env_with_other_spaces_is_a_clear_error(tmp_path):
    env = parity(4)
    agent = agents.make("ppo", env, net="mlp", seed=0, **TINY)
    folder = agent.save(tmp_path / "ckpt")
    other = gym.make("LectureRL/GridWorld-v0", map_name="lecture")  # Discrete(9) observations
    with pytest.raises(CheckpointError, match="observation space Discrete\\(2\\).*Discrete\\(9\\)"):
        agents.load(folder, env=other)


def test_corrupt_weights_file_is_a_checkpoint_error(tmp_path):
    env = parity(4)
    folder = agents.make("ppo", env, net="mlp", seed=0, **TINY).save(tmp_path / "ckpt")
    (folder / "weights.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="corrupt"):
        agents.load(folder)


def test_divergence_guard_without_log_dir_says_no_checkpoint_was_saved():
    env = parity(4)
    agent = agents.make("ppo", env, net="mlp", seed=0, lr=1e30, **TINY)
    with pytest.raises(TrainingDiverged, match=r"diverged at update \d+.*no good checkpoint"):
        agent.train(env, steps=20_000)


@pytest.mark.parametrize("net", ["lstm", "mlp"])  # mlp: the hand-written numpy update
def test_divergence_guard_names_update_and_last_good_checkpoint(tmp_path, net):
    env = parity(4)
    agent = agents.make("ppo", env, net=net, seed=0, checkpoint_every=1, **TINY)
    agent.log_dir = tmp_path / "run"
    real_update = agent._update
    calls = []

    def poisoned_update(*args):
        calls.append(1)
        if len(calls) == 3:  # a NaN weight from the third update on
            with torch.no_grad():
                agent.heads["critic"].weight.fill_(float("nan"))
        return real_update(*args)

    agent._update = poisoned_update
    with pytest.raises(TrainingDiverged) as caught:
        agent.train(env, steps=10_000)
    message = str(caught.value)
    last_good = tmp_path / "run" / "last_good"
    assert "diverged at update 3" in message
    assert str(last_good) in message
    restored = agents.load(last_good)  # the last good checkpoint is loadable and finite
    assert all(torch.isfinite(v).all() for v in weights(restored).values())
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.parametrize("net", ["lstm", "gru", "transformer"])
def test_recurrent_act_equals_forward_sequence_and_reset_clears_memory(net):
    env = parity(6)
    agent = agents.make("ppo", env, net=net, seed=1, **TINY)
    agent.train(env, steps=320)  # any weights will do; trained ones are less symmetric
    bits = [1, 1, 0, 1, 0, 0]
    seen, scores_step = [], []
    obs, info = env.reset(options={"bits": bits})
    agent.reset()
    for _ in bits:
        seen.append(obs)
        state_before = agent._act_state
        action = agent.act(obs, info)
        # the scores act() used, recomputed from the state it started the step with
        with torch.no_grad():
            state = state_before or agent.backbone.initial_state(1, agent.device)
            feats, _ = agent.backbone.step(torch.tensor([obs]), state, None)
            scores_step.append(agent._action_scores(feats)[0])
        assert action == int(scores_step[-1].argmax())
        obs, _, terminated, _, info = env.step(action)
    assert terminated
    with torch.no_grad():
        obs_seq = torch.tensor(seen)[:, None]  # [T, 1]
        starts = torch.zeros(len(bits), 1, dtype=torch.bool)
        starts[0] = True
        feats, _ = agent.backbone.forward_sequence(
            obs_seq, agent.backbone.initial_state(1, agent.device), starts
        )
        scores_seq = agent._action_scores(feats)[:, 0]
    torch.testing.assert_close(torch.stack(scores_step), scores_seq, atol=1e-5, rtol=1e-5)
    # without reset() the memory carries over; after reset() the first step starts fresh
    with torch.no_grad():
        _, fresh = agent.backbone.step(
            torch.tensor([seen[0]]), agent.backbone.initial_state(1, agent.device), None
        )
    agent.act(seen[0], {})
    carried = agent._act_state
    agent.reset()
    agent.act(seen[0], {})
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(agent._act_state, fresh))
    assert not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(carried, fresh))


def test_batched_evaluate_has_the_base_keys_and_counts_episodes():
    env = parity(4)
    agent = agents.make("ppo", env, net="mlp", seed=0, **TINY)
    result = agent.evaluate(env, episodes=10, seed=5)
    base = agents.Agent.evaluate(agent, env, episodes=3, seed=5)
    assert set(base) <= set(result)
    assert result["n"] == result["episodes"] == 10
    assert result["length_mean"] == 4.0
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["accuracy"] == pytest.approx(result["return_mean"] / 4)
    assert agent.evaluate(env, episodes=10, seed=5) == result  # same seeds, same figures


def test_train_for_episodes_reports_exactly_that_many_records():
    env = parity(4)
    agent = agents.make("reinforce", env, net="mlp", seed=0, num_envs=8, hidden_size=8)
    got = []
    result = agent.train(env, episodes=20, callback=got.append)
    assert [r["episode"] for r in result.episodes] == list(range(20))
    assert got == result.episodes
    assert all(r["length"] == 4 and 0 <= r["accuracy"] <= 1 for r in got)
    assert np.all(np.diff([r["env_steps"] for r in got]) >= 0)


def test_a_gpu_checkpoint_loads_on_a_machine_without_cuda(tmp_path, monkeypatch):
    env = parity(4)
    folder = agents.make("ppo", env, net="gru", seed=0, **TINY).save(tmp_path / "ckpt")
    meta = json.loads((folder / "agent.json").read_text())
    meta["hyperparameters"]["device"] = "cuda"
    (folder / "agent.json").write_text(json.dumps(meta))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    agent = agents.load(folder)
    assert agent.device == torch.device("cpu")
    assert 0 <= agent.act(1, {}) <= 1


@pytest.mark.parametrize("name", ["dqn", "ppo", "reinforce"])
def test_env_zeros_steps_arrive_as_a_chain_of_transitions(name):
    """A subscriber that wants Transition events gets env 0's steps: s' of one is s of the
    next within an episode, episodes and steps count up, and the reward is the env's."""
    from lecture_rl.agents.events import TrainingCallback, Transition

    class Collect(TrainingCallback):
        events = (Transition,)

        def __init__(self):
            self.seen = []

        def on_event(self, event):
            self.seen.append(event)

    env = gym.make("FrozenLake-v1", is_slippery=True)
    extra = {"num_minibatches": 2} if name == "ppo" else {}
    agent = agents.make(name, env, seed=0, device="cpu", num_envs=2, **extra)
    collect = Collect()
    agent.train(env, steps=600, callbacks=[collect])
    seen = collect.seen
    assert len(seen) > 50
    model = env.unwrapped.P
    for a, b in zip(seen, seen[1:]):
        assert any(s2 == a.next_obs and r == a.reward for _, s2, r, _ in model[a.obs][a.action])
        if a.terminated or a.truncated:
            assert (b.episode, b.step, b.obs) == (a.episode + 1, 0, 0)  # FrozenLake starts at 0
        else:
            assert (b.episode, b.step, b.obs) == (a.episode, a.step + 1, a.next_obs)


@pytest.mark.parametrize("name", ["ppo", "dqn"])
def test_gradient_steps_make_no_floats_and_no_events_when_nobody_listens(name, monkeypatch):
    """Without a NetworkUpdate subscriber an update converts nothing to a Python number
    (each conversion is a host sync on a GPU); with one, every update is reported."""
    from lecture_rl.agents import gradient_step
    from lecture_rl.agents.events import NetworkUpdate, TrainingCallback

    env = parity(4)
    settings = {"learning_starts": 32} if name == "dqn" else TINY
    agent = agents.make(name, env, net="mlp", seed=0, **settings)
    made = []
    real_event, real_apply = gradient_step.NetworkUpdate, agent.apply_gradients

    def no_sync(*args, **kwargs):
        raise AssertionError("a host sync in an unobserved gradient step")

    def watched_apply(*args, **kwargs):
        with monkeypatch.context() as patch:
            for method in ("__float__", "item", "tolist", "__bool__"):
                patch.setattr(torch.Tensor, method, no_sync)
            return real_apply(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(
            gradient_step, "NetworkUpdate", lambda *a, **k: made.append(1) or real_event(*a, **k)
        )
        patch.setattr(agent, "apply_gradients", watched_apply)
        agent.train(env, steps=256)
    assert agent.updates > 0 and made == []

    class Listener(TrainingCallback):
        events = (NetworkUpdate,)
        seen: list = []

        def on_event(self, event):
            self.seen.append(event)

    listener = Listener()
    before = agent.updates
    agent.train(env, steps=256, callbacks=[listener])
    assert len(listener.seen) >= agent.updates - before > 0
    assert all(np.isfinite(e.losses["loss"]) and e.grad_norm >= 0 for e in listener.seen)
