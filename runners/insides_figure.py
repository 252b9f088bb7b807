"""Moved to :mod:`lecture_rl.runners.insides.figure` (and the drawings per net kind beside it);
kept so that imports from here keep working."""

from lecture_rl.runners.insides.common import tape_symbols, text_colour
from lecture_rl.runners.insides.figure import draw_insides, find_image, save_figure
from lecture_rl.runners.insides.recurrent import EQUATIONS, GATES, equation

__all__ = [
    "EQUATIONS",
    "GATES",
    "draw_insides",
    "equation",
    "find_image",
    "save_figure",
    "tape_symbols",
    "text_colour",
]
