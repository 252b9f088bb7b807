"""Moved to :mod:`lecture_rl.runners.insides.cnn`; kept so that imports from here keep
working."""

from lecture_rl.runners.insides.cnn import cnn_columns, draw_cnn, panel_size, saliency_share

__all__ = ["cnn_columns", "draw_cnn", "panel_size", "saliency_share"]
