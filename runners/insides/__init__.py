"""A deep agent's insides: what `lecture-rl inspect` draws and `watch` shows live.

Description:
    One package, one module per job and one drawing per net kind:

    - `record`: the numbers (greedy episodes or a live run's steps, the traces of
      `nets.trace_backbone`, the units and feature maps worth showing);
    - `figure`: `draw_insides`, which picks the drawing of the net's kind, and
      `save_figure`;
    - `common`: the rows every drawing shares (the tape, π(a|s) and V(s));
    - `recurrent` (LSTM, GRU, RNN: state and gates per unit), `transformer`
      (attention per layer and head), `cnn` (a CNN on a grid's pixels: saliency per cell,
      first-layer feature maps);
    The live panel in the viewer's window (pygame) is `runners.viewer.insides_panel`: the
    viewer draws these figures, they know nothing of it.
"""

from lecture_rl.runners.insides.figure import draw_insides, find_image, save_figure
from lecture_rl.runners.insides.record import (
    CELL_SIGNALS,
    Insides,
    correlation_ratio,
    grid_context,
    insides_from_steps,
    pick_feature_maps,
    pick_units,
    record_insides,
    tape_text,
)

__all__ = [
    "CELL_SIGNALS",
    "Insides",
    "correlation_ratio",
    "draw_insides",
    "find_image",
    "grid_context",
    "insides_from_steps",
    "pick_feature_maps",
    "pick_units",
    "record_insides",
    "save_figure",
    "tape_text",
]
