"""DQN: replay buffer, target network, TD target, learning, determinism, checkpoints."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import lecture_rl.envs  # noqa: F401
from lecture_rl import agents
from lecture_rl.agents import HyperparameterError, gradient_step
from lecture_rl.agents.dqn import td_target
from lecture_rl.agents.events import PolicyStep, TrainingCallback
from lecture_rl.agents.replay import ReplayBuffer


def test_replay_wraparound_and_seeded_sampling():
    buf = ReplayBuffer(5, (), np.int64, 2, seed=3)
    for start in (0, 3, 6):
        rows = np.arange(start, start + 3)
        buf.add(rows, rows % 2, rows * 1.0, rows + 1, np.zeros(3))
    assert len(buf) == 5 and buf.pos == 4
    # rows 0..3 overwritten: the kept observations are the last five added
    assert sorted(buf.obs.tolist()) == [4, 5, 6, 7, 8]
    a = ReplayBuffer(5, (), np.int64, 2, seed=3)
    a.add(np.arange(5), np.zeros(5), np.arange(5), np.arange(5), np.zeros(5))
    b = ReplayBuffer(5, (), np.int64, 2, seed=3)
    b.add(np.arange(5), np.zeros(5), np.arange(5), np.arange(5), np.zeros(5))
    assert np.array_equal(a.sample(16)["obs"], b.sample(16)["obs"])
    batch = buf.sample(64)
    assert np.all(batch["next_obs"] == batch["obs"] + 1)  # rows stay aligned


def test_td_target_by_hand():
    r = torch.tensor([1.0, 0.5])
    done = torch.tensor([0.0, 1.0])
    q_target = torch.tensor([[2.0, 5.0], [3.0, 4.0]])
    y = td_target(r, done, q_target, 0.9)
    assert torch.allclose(y, torch.tensor([1.0 + 0.9 * 5.0, 0.5]))
    mask = torch.tensor([[True, False], [True, True]])
    y = td_target(r, done, q_target, 0.9, next_mask=mask)
    assert torch.allclose(y, torch.tensor([1.0 + 0.9 * 2.0, 0.5]))
    online = torch.tensor([[9.0, 0.0], [0.0, 0.0]])  # Double DQN picks a'=0 with θ, values with θ̃
    y = td_target(r, done, q_target, 0.9, q_next_online=online)
    assert torch.allclose(y, torch.tensor([1.0 + 0.9 * 2.0, 0.5]))


def test_huber_loss_on_a_hand_computed_transition():
    env = gym.make("LectureRL/GridWorld-v0", obs_mode="onehot")
    agent = agents.make("dqn", env, seed=0, device="cpu", gamma=0.5, double=False)
    obs = np.eye(9, dtype=np.float32)[[3]]
    batch = {
        "obs": obs,
        "actions": np.array([1]),
        "rewards": np.array([4.0], dtype=np.float32),
        "next_obs": obs,
        "terminated": np.array([0.0], dtype=np.float32),
        "next_mask": np.ones((1, 4), dtype=bool),
    }
    with torch.no_grad():
        q = agent.q_values(obs)[0, 1].item()
        y = 4.0 + 0.5 * agent.target_q_values(obs).max().item()
    err = abs(y - q)
    expected = 0.5 * err**2 if err < 1 else err - 0.5
    assert agent.loss_on(batch).item() == pytest.approx(expected, rel=1e-5)


def test_target_network_fixed_between_syncs():
    env = gym.make("LectureRL/GridWorld-v0", obs_mode="onehot")
    agent = agents.make(
        "dqn", env, seed=1, device="cpu", num_envs=1, learning_starts=10, target_update=10**6
    )
    before = [p.clone() for p in agent.target_q.parameters()]
    online_before = [p.clone() for p in agent.heads["q"].parameters()]
    agent.train(env, steps=200)
    assert agent.updates > 0
    assert all(torch.equal(a, b) for a, b in zip(before, agent.target_q.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(online_before, agent.heads["q"].parameters()))
    agent.soft_update(1.0)
    assert all(
        torch.equal(a, b)
        for a, b in zip(agent.target_q.parameters(), agent.heads["q"].parameters())
    )


def _small(seed):
    env = gym.make("LectureRL/GridWorld-v0", obs_mode="onehot")
    hp = dict(learning_starts=200, eps_decay_steps=1500, target_update=200, lr=1e-3)
    return env, agents.make("dqn", env, seed=seed, device="cpu", **hp)


def test_learns_lecture_grid_and_same_seed_same_weights():
    # the defaults (16 envs, one update of 256 per vector step): 6,000 env steps are 362
    # updates, with θ̃ copied every 200 env steps (12 updates)
    env, agent = _small(0)
    agent.train(env, steps=6000)
    assert agent.evaluate(env, 1, seed=0)["return_mean"] == pytest.approx(10.0)
    env2, again = _small(0)
    again.train(env2, steps=6000)
    for a, b in zip(agent.parameters(), again.parameters()):
        assert torch.equal(a, b)


def test_save_load_round_trip(tmp_path):
    env, agent = _small(2)
    agent.train(env, steps=300)
    agent.save(tmp_path / "ck")
    assert not list(tmp_path.glob("ck/*.pt")) and (tmp_path / "ck/weights.safetensors").is_file()
    back = agents.load(tmp_path / "ck")
    obs = np.eye(9, dtype=np.float32)
    assert torch.equal(agent.q_values(obs), back.q_values(obs))
    assert torch.equal(agent.target_q_values(obs), back.target_q_values(obs))


def test_transformer_and_bad_values_rejected():
    env = gym.make("LectureRL/Parity-v0")
    with pytest.raises(HyperparameterError, match="ppo"):
        agents.make("dqn", env, net="transformer")
    with pytest.raises(HyperparameterError, match="tau"):
        agents.make("dqn", env, tau=0.0)


def test_dqn_with_the_notes_cnn_solves_the_lecture_grid_seen_as_pixels():
    env = gym.make("LectureRL/GridWorld-v0", obs_mode="image")
    fast = {"learning_starts": 200, "eps_decay_steps": 2000, "target_update": 250, "num_envs": 4}
    agent = agents.make("dqn", env, seed=0, net="cnn", **fast)
    agent.train(env, steps=4_000)
    assert agent.evaluate(env, episodes=5, seed=100)["return_mean"] == 10.0


# ---------------------------------------------------------------- recurrent DQN (sequence replay)
RECURRENT_FAST = {
    "eps_decay_steps": 3000, "learning_starts": 500, "lr": 2e-3, "target_update": 500,
    "batch_size": 32,
}  # fmt: skip


@pytest.mark.parametrize(
    ("net", "env_id", "kw", "steps"),
    [
        ("gru", "LectureRL/Parity-v0", {"length": 8}, 5_000),
        ("lstm", "LectureRL/Copy-v0", {"length": 3}, 8_000),
    ],
)
def test_recurrent_dqn_solves_the_memory_tasks(net, env_id, kw, steps):
    env = gym.make(env_id, **kw)
    agent = agents.make("dqn", env, net=net, seed=0, **RECURRENT_FAST)
    agent.train(env, steps=steps)
    assert agent.evaluate(env, episodes=256, seed=1000)["accuracy"] >= 0.99


def test_sequence_replay_stores_windows_with_the_state_before_them():
    from lecture_rl.agents.sequence_replay import SequenceReplay

    replay = SequenceReplay(10, 2, 3, 2, (), np.int64, 2, rng=np.random.default_rng(0))
    for t in range(9):  # step t: obs 10·t + env, state t
        obs = np.array([10 * t, 10 * t + 1])
        state = (torch.full((2, 1), float(t)),)
        replay.add_step(obs, [t == 0] * 2, np.ones((2, 2), bool), state, [0, 1], [t, t], [0, 0])
    # windows of burn_in + seq_len = 5 steps plus the next obs, every 3 steps: t = 0..5, 3..8
    assert len(replay) == 4
    np.testing.assert_array_equal(
        replay.obs[
            :2,
            :,
        ],
        [[0, 10, 20, 30, 40, 50], [1, 11, 21, 31, 41, 51]],
    )
    np.testing.assert_array_equal(replay.obs[3], [31, 41, 51, 61, 71, 81])
    np.testing.assert_array_equal(replay.rewards[2], [3, 4, 5, 6, 7])
    assert replay.state[0][:4, 0].tolist() == [0.0, 0.0, 3.0, 3.0]  # h before each window
    assert replay.starts[0].tolist() == [True] + [False] * 5


def test_recurrent_dqn_acts_with_its_memory_and_reports_it():
    env = gym.make("LectureRL/Parity-v0", length=4)
    agent = agents.make("dqn", env, net="lstm", seed=0, learning_starts=8, batch_size=4)
    seen = []

    class Policy(TrainingCallback):
        events = (PolicyStep,)

        def on_event(self, event):
            seen.append(event)

    agent.train(env, steps=64, callbacks=[Policy()])
    assert agent.updates > 0 and len(seen) == 16
    assert len(seen[0].state) == 2 and seen[0].state[0].shape[0] == 4  # (h, C) of 4 envs


@pytest.mark.parametrize(
    ("env_id", "kw", "hp"),
    [
        ("FrozenLake-v1", {"is_slippery": False}, {}),  # Discrete: f_θ once per state
        ("FrozenLake-v1", {"is_slippery": False}, {"double": False, "loss": "mse"}),
        ("LectureRL/GridWorld-v0", {"obs_mode": "onehot"}, {}),  # Box rows, action masks
        ("CartPole-v1", {}, {}),  # Box rows, no masks
        ("CartPole-v1", {}, {"double": False, "loss": "mse"}),
        ("Acrobot-v1", {}, {"normalize_obs": True, "normalize_reward": True}),
    ],
)
def test_fused_update_has_the_autograd_gradient_and_loss(env_id, kw, hp):
    env = gym.make(env_id, **kw)
    agent = agents.make("dqn", env, seed=3, device="cpu", learning_starts=64, **hp)
    agent.train(env, steps=400)  # fills the replay, makes θ̃ differ from θ
    assert agent._fused is not None
    batch = agent.buffer.sample(64)
    agent.optimizer.zero_grad(set_to_none=True)
    expected_loss = agent.loss_on(batch)
    expected_loss.backward()
    expected = [p.grad.clone() for p in agent.parameters()]
    seen = {}

    def capture(loss, losses, scalars, **_):
        seen["loss"] = loss
        seen["grads"] = [p.grad.clone() for p in agent.parameters()]
        return loss

    agent.apply_gradients = capture
    agent.fused_step(batch)
    loss = torch.as_tensor(seen["loss"], dtype=torch.float32)  # numpy path: a float
    torch.testing.assert_close(loss, expected_loss.detach(), rtol=1e-5, atol=1e-7)
    for got, want in zip(seen["grads"], expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("hp", [{}, {"double": False, "loss": "mse"}])
def test_numpy_table_step_equals_the_torch_table_step(hp):
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = agents.make("dqn", env, seed=5, device="cpu", learning_starts=64, **hp)
    agent.train(env, steps=400)  # θ̃ differs from θ, the replay holds terminal steps
    batch, states = agent.buffer.sample(128), agent._state_inputs()
    assert states is not None and batch["terminated"].any()
    seen = []

    def capture(loss, losses, scalars, **_):
        seen.append((loss, [p.grad.clone() for p in agent.parameters()]))
        return loss

    agent.apply_gradients = capture
    with torch.no_grad():
        agent._fused_table_step(batch, states)  # on the CPU: numpy
        agent.numpy_on_cpu = False
        agent._fused_table_step(batch, states)  # torch
    (numpy_loss, numpy_grads), (torch_loss, torch_grads) = seen
    numpy_loss = torch.as_tensor(numpy_loss, dtype=torch.float32)  # the numpy path: a float
    torch.testing.assert_close(numpy_loss, torch_loss, rtol=1e-5, atol=1e-7)
    for got, want in zip(numpy_grads, torch_grads):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    obs = np.arange(16)
    agent.numpy_on_cpu = True
    with torch.no_grad():
        numpy_q = agent.q_values(obs)  # acting reads the numpy forward too
    torch.testing.assert_close(
        numpy_q,
        agent.heads["q"](agent.backbone.step(torch.as_tensor(obs))[0]).detach(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_numpy_clipping_equals_torch_clipping():
    gen = torch.Generator().manual_seed(0)
    for scale in (0.01, 100.0):  # below and above the threshold
        grads = [torch.randn(shape, generator=gen) * scale for shape in [(64, 16), (64,), (4, 64)]]
        copies = [g.clone() for g in grads]
        want = gradient_step.clip_gradients(copies, 10.0)
        got = gradient_step.clip_numpy_gradients([g.numpy() for g in grads], 10.0)
        torch.testing.assert_close(torch.tensor(got), want, rtol=1e-5, atol=0)
        for g, c in zip(grads, copies):
            torch.testing.assert_close(g, c, rtol=1e-5, atol=1e-7)


def test_fused_adam_step_equals_adam_and_a_skipped_step_does_not_count():
    gen = torch.Generator().manual_seed(1)
    shapes = [(8, 4), (8,), (2, 8)]
    mine = [torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in shapes]
    plain = [torch.nn.Parameter(p.detach().clone()) for p in mine]
    fused = torch.optim.Adam(mine, lr=3e-3, eps=1e-5, fused=True)
    reference = torch.optim.Adam(plain, lr=3e-3, eps=1e-5)  # torch's own for-loop Adam
    for step in range(6):
        grads = [torch.randn(shape, generator=gen) for shape in shapes]
        for a, b, g in zip(mine, plain, grads):
            a.grad, b.grad = g.clone(), g.clone()
        if step == 0:
            fused.step()  # the first step() makes the state
        else:
            assert gradient_step.fused_adam_step(fused)
        reference.step()
    for a, b in zip(mine, plain):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-5, atol=1e-6)
        assert float(fused.state[a]["step"]) == 6.0
    before = [p.detach().clone() for p in mine]
    fused.found_inf = torch.ones(())  # a non-finite update: skipped and not counted
    assert gradient_step.fused_adam_step(fused)
    fused.found_inf = None
    assert all(torch.equal(a.detach(), b) for a, b in zip(mine, before))
    assert float(fused.state[mine[0]]["step"]) == 6.0


@pytest.mark.parametrize(("floor", "steps"), [(0.0, 600), (0.25, 500)])
def test_anneal_lr_decays_the_learning_rate_linearly_to_its_floor(floor, steps):
    """lr_t = lr · max(1 − spent, floor), set before each update (SB3's lin_ schedule)."""
    env = gym.make("CartPole-v1")
    agent = agents.make("dqn", env, seed=0, num_envs=1, learning_starts=100, batch_size=32,
                        lr=1e-3, anneal_lr=True, anneal_floor=floor)  # fmt: skip
    seen = []
    original = agent.update

    def update():
        seen.append((agent.env_steps, agent.optimizer.param_groups[0]["lr"]))
        return original()

    agent.update = update
    agent.train(env, steps=steps)
    for env_steps, lr in seen:
        assert lr == pytest.approx(1e-3 * max(1.0 - env_steps / steps, floor))
    assert seen[0][1] > 0.7e-3 and seen[-1][1] == pytest.approx(1e-3 * floor, abs=1e-6)
    plain = agents.make("dqn", env, seed=0, num_envs=1, learning_starts=100, lr=1e-3)
    plain.train(env, steps=300)
    assert plain.optimizer.param_groups[0]["lr"] == 1e-3  # off by default
