"""Shared drawing helpers for every lecture-rl environment.

All environments draw with the same palette, the same font and the same window class so the
grid world, parity and copy tasks look like one family. pygame is imported lazily (only when a
frame is drawn), as in Gymnasium's toy-text environments, so `import lecture_rl.envs` works
without a display and without pygame installed.

Primitives:

- `PALETTE` / the named colour constants: RGB tuples.
- `import_pygame`: the lazy import (raises `gymnasium.error.DependencyNotInstalled`).
- `new_surface`, `font`, `draw_text`, `draw_cell`: drawing on a surface.
- `surface_to_rgb`: a surface as an `(H, W, 3)` `uint8` array (the `rgb_array` frame).
- `heat_color`: a value mapped onto a red-white-green scale (value heat maps).
- `HumanWindow`: the `human` render mode's window (title, fps, clean close).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gymnasium.error import DependencyNotInstalled

Color = tuple[int, int, int]

BACKGROUND: Color = (250, 250, 247)
INK: Color = (33, 37, 41)
MUTED: Color = (134, 142, 150)
GRID_LINE: Color = (206, 212, 218)
CELL: Color = (241, 243, 245)
WALL: Color = (73, 80, 87)
GOAL: Color = (64, 192, 87)
PIT: Color = (224, 49, 49)
START: Color = (165, 216, 255)
AGENT: Color = (25, 113, 194)
TRAIL: Color = (116, 192, 252)
RIGHT: Color = (47, 158, 68)
WRONG: Color = (224, 49, 49)
HIGHLIGHT: Color = (252, 196, 25)
BIT_ON: Color = (52, 58, 64)
BIT_OFF: Color = (255, 255, 255)

PALETTE: dict[str, Color] = {
    "background": BACKGROUND,
    "ink": INK,
    "muted": MUTED,
    "grid_line": GRID_LINE,
    "cell": CELL,
    "wall": WALL,
    "goal": GOAL,
    "pit": PIT,
    "start": START,
    "agent": AGENT,
    "trail": TRAIL,
    "right": RIGHT,
    "wrong": WRONG,
    "highlight": HIGHLIGHT,
    "bit_on": BIT_ON,
    "bit_off": BIT_OFF,
}

_FONTS: dict[int, Any] = {}


def import_pygame() -> Any:
    """Import pygame on first use; a clear error names the package to install if it is missing."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as e:  # pragma: no cover - pygame-ce is a dependency
        raise DependencyNotInstalled(
            'pygame is not installed; rendering needs it: run `pip install "pygame-ce>=2.4"`'
        ) from e
    return pygame


def new_surface(width: int, height: int, color: Color = BACKGROUND) -> Any:
    """A fresh off-screen RGB surface of `width` × `height` pixels filled with `color`."""
    pygame = import_pygame()
    surface = pygame.Surface((int(width), int(height)))
    surface.fill(color)
    return surface


def font(size: int) -> Any:
    """pygame's default font at `size` pixels (cached; initialises the font module once)."""
    size = int(size)
    pygame = import_pygame()
    if not pygame.font.get_init():
        # pygame.quit() (a closed human window) invalidates every font made before it
        _FONTS.clear()
        pygame.font.init()
    elif _FONTS and not font_alive(next(iter(_FONTS.values()))):
        _FONTS.clear()  # the font module was quit and started again by someone else
    if size not in _FONTS:
        _FONTS[size] = pygame.font.Font(None, size)
    return _FONTS[size]


def font_alive(f: Any) -> bool:
    """Whether a pygame font still works (fonts die when the font module is quit)."""
    pygame = import_pygame()
    try:
        f.get_height()
        f.size("0")
    except pygame.error:
        return False
    return True


# Intentional twin (duplicate scan): runners/viewer/panel.py has a draw_text with this signature in
# the panel's font, with a cache of rendered lines; callers switch by import.
def draw_text(
    surface: Any,
    text: str,
    pos: tuple[float, float],
    *,
    size: int = 20,
    color: Color = INK,
    anchor: str = "center",
) -> Any:
    """Draw `text` at `pos`; `anchor` is a pygame `Rect` attribute (`center`,
    `topleft`, `midleft`, ...) placed at `pos`. Returns the text's rectangle."""
    image = font(size).render(str(text), True, color)
    rect = image.get_rect(**{anchor: (int(pos[0]), int(pos[1]))})
    surface.blit(image, rect)
    return rect


def draw_cell(
    surface: Any,
    rect: tuple[int, int, int, int],
    fill: Color,
    *,
    border: Color | None = GRID_LINE,
    border_width: int = 1,
    radius: int = 0,
) -> None:
    """Fill the rectangle `(x, y, w, h)` with `fill` and outline it with `border`."""
    pygame = import_pygame()
    pygame.draw.rect(surface, fill, rect, border_radius=radius)
    if border is not None and border_width > 0:
        pygame.draw.rect(surface, border, rect, width=border_width, border_radius=radius)


#: ends of the diverging value scale (ColorBrewer PiYG): magenta below 0, green above 0; both
#: differ from the pit's red and the agent's blue, so a value never looks like a cell kind
NEGATIVE: Color = (197, 27, 125)
POSITIVE: Color = (77, 146, 33)
#: how far from white the scale goes at its ends (light fills keep dark text readable)
SCALE_DEPTH = 0.8
#: dark text for labels: 4.5:1 or more on every light fill of the palette
LABEL: Color = (73, 80, 87)
BLACK: Color = (0, 0, 0)
WHITE: Color = (255, 255, 255)
#: the WCAG 2 minimum contrast ratio for normal text
MIN_CONTRAST = 4.5


def relative_luminance(color: Color) -> float:
    """WCAG 2 relative luminance of an sRGB colour: 0 for black, 1 for white."""

    def channel(c: float) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(float(c)) for c in color[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio `(L1 + 0.05) / (L2 + 0.05)` of two colours, 1 to 21."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def readable_on(fill: Color, preferred: Color = INK) -> Color:
    """Text colour for `fill`: `preferred` if it reaches 4.5:1, else black or white,
    whichever contrasts more (one of them always reaches 4.58:1)."""
    if contrast_ratio(preferred, fill) >= MIN_CONTRAST:
        return preferred
    return BLACK if contrast_ratio(BLACK, fill) >= contrast_ratio(WHITE, fill) else WHITE


def diverging_color(x: float) -> Color:
    """A point `x` in [-1, 1] of the diverging scale: white at 0, magenta at -1, green at +1."""
    x = float(np.clip(x, -1.0, 1.0)) * SCALE_DEPTH
    end = POSITIVE if x > 0 else NEGATIVE
    t = abs(x)
    return (
        int(round(255 + t * (end[0] - 255))),
        int(round(255 + t * (end[1] - 255))),
        int(round(255 + t * (end[2] - 255))),
    )


def scale_bound(values: Any) -> float:
    """The half-width of a diverging scale centred on 0 that holds every finite value."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(np.abs(arr).max()) if arr.size else 0.0


def heat_color(value: float, vmin: float, vmax: float) -> Color:
    """Map `value` to a diverging colour: red below 0, white at 0, green above 0.

    The scale is symmetric, `max(|vmin|, |vmax|)` gives full saturation, so a sign change is
    always a change of hue (what a value heat map in the lecture needs to show).
    """
    bound = max(abs(float(vmin)), abs(float(vmax)), 1e-12)
    return diverging_color(float(value) / bound)


def surface_to_rgb(surface: Any) -> np.ndarray:
    """The surface as an `(H, W, 3)` `uint8` C-contiguous array (an `rgb_array` frame)."""
    pygame = import_pygame()
    width, height = surface.get_size()
    data = pygame.image.tobytes(surface, "RGB")  # one copy in C, 5x faster than surfarray
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3).copy()


def rgb_to_surface(frame: np.ndarray) -> Any:
    """An `(H, W, 3)` `uint8` array as a pygame surface (inverse of `surface_to_rgb`)."""
    pygame = import_pygame()
    return pygame.surfarray.make_surface(np.transpose(np.asarray(frame, dtype=np.uint8), (1, 0, 2)))


class HumanWindow:
    """The `human` render mode's window: opens on the first frame, shows frames at `fps`.

    `show(frame)` accepts a pygame surface or an `(H, W, 3)` array, resizes the window to the
    frame, processes window events (so the window stays responsive) and waits to keep `fps`.
    `close()` shuts the display down; it is safe to call more than once.
    """

    def __init__(self, title: str, fps: float) -> None:
        self.title = title
        self.fps = fps
        self._screen: Any = None
        self._clock: Any = None

    @property
    def is_open(self) -> bool:
        return self._screen is not None

    def show(self, frame: Any) -> None:
        pygame = import_pygame()
        surface = rgb_to_surface(frame) if isinstance(frame, np.ndarray) else frame
        size = surface.get_size()
        if self._screen is None or self._screen.get_size() != size:
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._screen = pygame.display.set_mode(size)
            self._clock = pygame.time.Clock()
        pygame.event.pump()
        self._screen.blit(surface, (0, 0))
        pygame.display.flip()
        if self.fps:
            self._clock.tick(self.fps)

    def close(self) -> None:
        if self._screen is not None:
            pygame = import_pygame()
            pygame.display.quit()
            self._screen = None
            self._clock = None


TapeCell = tuple[str, Color] | None
"""One cell of a tape picture: `(text, fill colour)`, or `None` for a step not reached yet."""


def text_color_on(fill: Color) -> Color:
    """Dark ink or white, whichever reads at 4.5:1 or more on `fill`."""
    return readable_on(fill)


def tape_cell_size(columns: int) -> int:
    """Cell width in pixels for a tape of `columns` steps (frames stay about 700 px wide)."""
    return int(max(10, min(36, 640 // max(1, columns))))


def draw_tape_frame(
    title: str,
    rows: list[tuple[str, list[TapeCell]]],
    columns: int,
    *,
    cursor: int | None = None,
) -> Any:
    """Draw a sequence task as labelled rows of cells, one column per time step.

    Used by Parity and Copy: e.g. a `bit` row (what the agent saw), an `answer` row (what it
    said, filled green when right and red when wrong) and a `target` row. `columns` is the
    episode length, so every frame of an episode has the same size; `cursor` outlines the
    current step's column.
    """
    pygame = import_pygame()
    cell = tape_cell_size(columns)
    label_width, margin, title_height = 76, 10, 34
    width = label_width + columns * cell + 2 * margin
    height = title_height + len(rows) * (cell + 6) + 2 * margin
    surface = new_surface(width, height)
    draw_text(surface, title, (margin, margin + 10), size=24, anchor="midleft")
    text_size = max(10, int(cell * 0.8))
    for r, (label, cells) in enumerate(rows):
        y = margin + title_height + r * (cell + 6)
        draw_text(surface, label, (margin, y + cell // 2), size=20, color=MUTED, anchor="midleft")
        for c in range(columns):
            x = margin + label_width + c * cell
            content = cells[c] if c < len(cells) else None
            if content is None:
                draw_cell(surface, (x, y, cell, cell), CELL)
                continue
            text, fill = content
            draw_cell(surface, (x, y, cell, cell), fill)
            if text and cell >= 14:
                draw_text(
                    surface,
                    text,
                    (x + cell // 2, y + cell // 2 + 1),
                    size=text_size,
                    color=text_color_on(fill),
                )
    if cursor is not None and 0 <= cursor < columns:
        x = margin + label_width + cursor * cell
        top = margin + title_height - 3
        rect = (x - 1, top, cell + 2, len(rows) * (cell + 6) + 2)
        pygame.draw.rect(surface, HIGHLIGHT, rect, width=3)
    return surface


SYMBOL_COLORS: tuple[Color, ...] = (
    (255, 212, 59),
    (116, 192, 252),
    (177, 151, 252),
    (255, 146, 43),
    (105, 219, 124),
    (250, 162, 193),
    (99, 230, 190),
    (206, 212, 218),
)
"""Light, distinct fills for the symbols of a sequence task (cycled past eight symbols)."""


def symbol_color(symbol: int, symbols: int) -> Color:
    """The fill of `symbol` (`0 .. symbols-1`) in tape pictures."""
    return SYMBOL_COLORS[int(symbol) % len(SYMBOL_COLORS)]
