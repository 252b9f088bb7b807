"""SB3 features extractors built from lecture_rl.nets backbones."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.preprocessing import preprocess_obs

import lecture_rl.envs  # noqa: F401  (registers LectureRL/GridWorld-v0)
from lecture_rl.nets.cnn import NotesCNN
from lecture_rl.nets.sb3_extractors import BackboneExtractor, NotesCNNExtractor, policy_kwargs


def test_ppo_with_the_notes_cnn_trains_on_gridworld_images():
    env = gym.make("LectureRL/GridWorld-v0", obs_mode="image")
    model = PPO(
        "CnnPolicy",
        env,
        n_steps=64,
        batch_size=32,
        n_epochs=2,
        seed=0,
        device="cpu",
        policy_kwargs={
            "features_extractor_class": NotesCNNExtractor,
            "features_extractor_kwargs": {"channels": (8, 16), "output_dim": 32},
        },
    )
    extractor = model.policy.features_extractor
    assert isinstance(extractor, NotesCNNExtractor)
    assert isinstance(extractor.backbone.body, NotesCNN)
    before = [p.detach().clone() for p in extractor.parameters()]
    model.learn(total_timesteps=128)
    after = list(extractor.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))  # the CNN was trained
    logged = model.logger.name_to_value
    assert np.isfinite(logged["train/loss"]) and np.isfinite(logged["train/value_loss"])
    action, _ = model.predict(env.observation_space.sample(), deterministic=True)
    assert env.action_space.contains(int(action))


def test_extractor_sees_what_the_backbone_sees():
    """SB3's preprocessing + the extractor == the backbone on raw observations."""
    torch.manual_seed(0)
    space = gym.spaces.Discrete(5)
    extractor = BackboneExtractor(space, net="mlp", hidden_size=8)
    raw = torch.tensor([0, 3, 4])
    via_sb3 = extractor(preprocess_obs(raw, space))
    direct, _ = extractor.backbone.step(raw)
    torch.testing.assert_close(via_sb3, direct)
    kwargs = policy_kwargs("mlp", hidden_size=8)
    assert kwargs["features_extractor_class"] is BackboneExtractor
    with pytest.raises(ValueError, match="memory network"):
        BackboneExtractor(space, net="lstm")
