"""rl-zoo3 hyperparameters for a2c on our ids: `--conf-file lecture_rl.assets.zoo.a2c`."""

from lecture_rl.assets.zoo import load

hyperparams = load("a2c")
