"""stable-baselines3 features extractors built from the lecture's backbones.

Description:
    SB3 policies read observations through a `BaseFeaturesExtractor`. These wrap the
    feed-forward backbones of [`lecture_rl.nets`][lecture_rl.nets] so SB3's PPO / A2C / DQN can
    train the notes' CNN (notes 000 §1: Conv -> ReLU -> Pool blocks -> dense; by default the last
    feature map is flattened, `global_pool="avg"` is the notes' global average pool) or the MLP:

    ```python
    from stable_baselines3 import PPO
    from lecture_rl.nets.sb3_extractors import NotesCNNExtractor

    model = PPO("CnnPolicy", env, policy_kwargs={
        "features_extractor_class": NotesCNNExtractor,
        "features_extractor_kwargs": {"channels": (16, 32), "output_dim": 128},
    })
    ```

    or `BackboneExtractor` with `features_extractor_kwargs={"net": "mlp", ...}`;
    `policy_kwargs` builds that dict.

    SB3 preprocesses before the extractor (one-hot for `Discrete`, `/255` for images with
    the default `normalize_images=True`, channels first via `VecTransposeImage`), so the
    extractor feeds the already preprocessed tensor straight to the backbone's network.
    SB3's feed-forward policies carry no recurrent state, so memory backbones are refused here;
    for memory use `sb3-contrib`'s RecurrentPPO or lecture-rl's own `ppo` agent.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from lecture_rl.nets.factory import make_backbone


class BackboneExtractor(BaseFeaturesExtractor):
    """A feed-forward lecture-rl backbone (`mlp` or `cnn`) as an SB3 features extractor.

    Arguments:
        observation_space: given by SB3 (already transposed to channels first for images).
        net: `"mlp"` (default) or `"cnn"`.
        **net_kwargs: the backbone's settings, e.g. `hidden_size` or `channels`.
    """

    def __init__(self, observation_space: spaces.Space, net: str = "mlp", **net_kwargs: Any):
        backbone = make_backbone(net, observation_space, **net_kwargs)
        if backbone.is_recurrent:
            raise ValueError(
                f"net={net!r} is a memory network; SB3's feed-forward policies keep no recurrent "
                "state. Use net='mlp' or 'cnn' here, sb3-contrib's RecurrentPPO, or "
                "lecture-rl's 'ppo' agent with net='lstm'"
            )
        super().__init__(observation_space, features_dim=backbone.output_dim)
        self.backbone = backbone

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.backbone._features(observations)  # SB3 has preprocessed already


class NotesCNNExtractor(BackboneExtractor):
    """The notes' CNN (`lecture_rl.nets.cnn.NotesCNN`) for image observations."""

    def __init__(self, observation_space: spaces.Space, **cnn_kwargs: Any):
        super().__init__(observation_space, net="cnn", **cnn_kwargs)


def policy_kwargs(net: str = "cnn", **net_kwargs: Any) -> dict[str, Any]:
    """`policy_kwargs` for an SB3 algorithm that uses the lecture backbone `net`."""
    return {
        "features_extractor_class": BackboneExtractor,
        "features_extractor_kwargs": {"net": net, **net_kwargs},
    }
