"""What the kernel knows about the notebook it runs in: Jupyter's modules, and whether a
widget frontend is there to draw a live view.

Description:
    `lecture_rl` itself runs without Jupyter; `require_jupyter` imports IPython and
    ipywidgets where a helper needs them and otherwise says how to install them.
    `view_mode` decides what a lesson shows: a live widget (JupyterLab, Jupyter Notebook,
    VS Code, Colab) or an animation left in the cell's output (a notebook executed without a
    frontend: nbconvert, nbclient, papermill, the docs site). A frontend that runs widgets also
    answers `input()`; the executors above do not, and say so in every request they send
    (`allow_stdin` false), which is how the kernel tells them apart.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

#: overrides the choice of `view_mode`: `widget` or `animation`
VIEW_ENV = "LECTURE_RL_NOTEBOOK_VIEW"
VIEWS = ("widget", "animation")
INSTALL_HINT = 'pip install "lecture-rl[notebook]"'


def require_jupyter() -> tuple[ModuleType, ModuleType]:
    """`(IPython.display, ipywidgets)`, or an `ImportError` that names the extra to install."""
    try:
        import ipywidgets
        from IPython import display
    except ImportError as exc:
        raise ImportError(
            f"lecture_rl.notebook needs Jupyter's widgets ({exc.name} is missing): {INSTALL_HINT}"
        ) from exc
    return display, ipywidgets


def use_offscreen_pygame() -> None:
    """Draw with pygame off-screen: SDL's dummy drivers (a kernel has no window to open)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def view_mode(view: str = "auto") -> str:
    """`widget` (a live view with buttons) or `animation` (a video left in the output).

    Arguments:
        view: `widget`, `animation`, or `auto`: the environment variable `LECTURE_RL_NOTEBOOK_VIEW`
            when set, else `widget` in a kernel whose frontend answers `input()`, else
            `animation` (an executed notebook, or Python outside a kernel).
    """
    if view not in ("auto", *VIEWS):
        raise ValueError(f"view must be 'auto', 'widget' or 'animation', got {view!r}")
    if view != "auto":
        return view
    forced = os.environ.get(VIEW_ENV, "").strip().lower()
    if forced:
        if forced not in VIEWS:
            raise ValueError(f"{VIEW_ENV} must be 'widget' or 'animation', got {forced!r}")
        return forced
    return "widget" if frontend_is_interactive() else "animation"


def frontend_is_interactive() -> bool:
    """Whether this code runs in a Jupyter kernel whose current request came from a frontend
    that answers `input()` (and so draws widgets)."""
    kernel = _kernel()
    if kernel is None:
        return False
    try:
        parent = kernel.get_parent()
    except Exception:  # noqa: BLE001 - an older or unusual kernel: assume a live frontend
        return True
    content = parent.get("content", {}) if isinstance(parent, dict) else {}
    return bool(content.get("allow_stdin", True))


def _kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None)
