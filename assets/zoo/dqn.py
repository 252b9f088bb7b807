"""rl-zoo3 hyperparameters for dqn on our ids: `--conf-file lecture_rl.assets.zoo.dqn`."""

from lecture_rl.assets.zoo import load

hyperparams = load("dqn")
