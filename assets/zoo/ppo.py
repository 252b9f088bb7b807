"""rl-zoo3 hyperparameters for ppo on our ids: `--conf-file lecture_rl.assets.zoo.ppo`."""

from lecture_rl.assets.zoo import load

hyperparams = load("ppo")
