"""Building a backbone from its name: the one place that knows every network kind.

Description:
    `make_backbone("lstm", space, hidden_size=32)` picks the class; each class lives in its own
    module on the `Backbone` base of `nets/backbone.py` (which imports none of them).
"""

from __future__ import annotations

import difflib
from typing import Any

from gymnasium import spaces

from lecture_rl.nets.backbone import Backbone
from lecture_rl.nets.cnn import CNNBackbone
from lecture_rl.nets.mlp import MLPBackbone
from lecture_rl.nets.recurrent import RecurrentBackbone
from lecture_rl.nets.transformer import TransformerBackbone

#: the names `make_backbone` (and an agent's `net=`) accepts
BACKBONE_NAMES = ("mlp", "cnn", "rnn", "lstm", "gru", "transformer")


def make_backbone(name: str, observation_space: spaces.Space, **kwargs: Any) -> Backbone:
    """Build the backbone called `name` for `observation_space`.

    Arguments:
        name: one of `mlp`, `cnn`, `rnn`, `lstm`, `gru`, `transformer`.
        observation_space: the env's observation space (the backbone preprocesses itself).
        **kwargs: the backbone's own settings, e.g. `hidden_size`; see each class.
    """
    key = str(name).lower()
    if key not in BACKBONE_NAMES:
        close = difflib.get_close_matches(key, BACKBONE_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown network {name!r}{hint}; valid names: {', '.join(BACKBONE_NAMES)}"
        )
    if key == "mlp":
        return MLPBackbone(observation_space, **kwargs)
    if key == "cnn":
        return CNNBackbone(observation_space, **kwargs)
    if key == "transformer":
        return TransformerBackbone(observation_space, **kwargs)
    return RecurrentBackbone(observation_space, cell=key, **kwargs)
