"""The lecture's networks: readable references and the fast modules agents train.

- `make_backbone` builds `mlp`, `cnn`, `rnn`, `lstm`, `gru` or `transformer`
  for an observation space, all with one interface (`initial_state`, `step`,
  `forward_sequence`); see `lecture_rl.nets.backbone`.
- Reference cells written gate by gate (notes 000 §2.c, §3.b; notes 002 §4.4.8; notes 003):
  [`RNNCell`][lecture_rl.nets.cells.RNNCell], [`LSTMCell`][lecture_rl.nets.cells.LSTMCell],
  [`GRUCell`][lecture_rl.nets.cells.GRUCell], with `copy_to` / `copy_from` for torch's fused
  modules.
- Reference attention (notes 000 §4.b, §4.c, §5.a): `SelfAttention`,
  `MultiHeadAttention`, `BahdanauAttention`, `LuongAttention`,
  `sinusoidal_encoding`.
- Parameter counts of the notes: [`rnn_param_count`][lecture_rl.nets.cells.rnn_param_count],
  [`lstm_param_count`][lecture_rl.nets.cells.lstm_param_count],
  [`gru_param_count`][lecture_rl.nets.cells.gru_param_count], `conv_param_count`.
- `trace_backbone` (gates, cell state, attention weights for a viewer) and the
  vanishing-gradient demonstration in `lecture_rl.nets.vanishing_gradient`.
- SB3 features extractors: `lecture_rl.nets.sb3_extractors` (imported on demand).
"""

from lecture_rl.nets.attention import (
    BahdanauAttention,
    LuongAttention,
    MultiHeadAttention,
    SelfAttention,
    sinusoidal_encoding,
)
from lecture_rl.nets.backbone import (
    Backbone,
    ObservationEncoder,
    State,
    count_parameters,
    is_image_space,
    resolve_device,
)
from lecture_rl.nets.cells import (
    GRUCell,
    LSTMCell,
    RNNCell,
    gru_param_count,
    lstm_param_count,
    rnn_param_count,
    run_cell,
    torch_param_count,
)
from lecture_rl.nets.cnn import CNNBackbone, NotesCNN, conv_param_count
from lecture_rl.nets.factory import BACKBONE_NAMES, make_backbone
from lecture_rl.nets.introspection import trace_backbone
from lecture_rl.nets.mlp import MLPBackbone
from lecture_rl.nets.recurrent import RecurrentBackbone
from lecture_rl.nets.transformer import TransformerBackbone
from lecture_rl.nets.vanishing_gradient import (
    measure_gradient_norms,
    plot_gradient_norms,
    run_demo,
)

__all__ = [
    "BACKBONE_NAMES",
    "Backbone",
    "BahdanauAttention",
    "CNNBackbone",
    "GRUCell",
    "LSTMCell",
    "LuongAttention",
    "MLPBackbone",
    "MultiHeadAttention",
    "NotesCNN",
    "ObservationEncoder",
    "RNNCell",
    "RecurrentBackbone",
    "SelfAttention",
    "State",
    "TransformerBackbone",
    "conv_param_count",
    "count_parameters",
    "gru_param_count",
    "is_image_space",
    "lstm_param_count",
    "make_backbone",
    "measure_gradient_norms",
    "plot_gradient_norms",
    "resolve_device",
    "rnn_param_count",
    "run_cell",
    "run_demo",
    "sinusoidal_encoding",
    "torch_param_count",
    "trace_backbone",
]
