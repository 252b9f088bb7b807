"""RecurrentPPO on our ids: `--conf-file lecture_rl.assets.zoo.ppo_lstm`."""

from lecture_rl.assets.zoo import load

hyperparams = load("ppo_lstm")
