"""The lecture's networks: readable references and the fast modules agents train.

``make_backbone(name, observation_space, **kwargs)`` builds ``mlp``, ``cnn``, ``rnn``, ``lstm``,
``gru`` or ``transformer`` with one interface (``initial_state``, ``step``,
``forward_sequence``); see :mod:`lecture_rl.nets.backbone`.
"""

from lecture_rl.nets.backbone import (
    BACKBONE_NAMES,
    Backbone,
    ObservationEncoder,
    State,
    count_parameters,
    is_image_space,
    make_backbone,
    resolve_device,
)

__all__ = [
    "BACKBONE_NAMES",
    "Backbone",
    "ObservationEncoder",
    "State",
    "count_parameters",
    "is_image_space",
    "make_backbone",
    "resolve_device",
]
