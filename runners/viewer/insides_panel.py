"""Moved to :mod:`lecture_rl.runners.insides.panel`; kept so that imports from here keep
working."""

from lecture_rl.runners.insides.panel import InsidesTap, figure_surface, run_insides, watch_insides

__all__ = ["InsidesTap", "figure_surface", "run_insides", "watch_insides"]
