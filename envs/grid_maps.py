"""Grid-world map files: format, parsing, validation, and loading by name or path.

Description:
    A map is a small text file (`assets/maps/<name>.txt` for the shipped ones). It has a
    header of `key: value` lines, then a line `grid:` followed by the rows of the grid,
    row 1 on top. Before `grid:`, blank lines and lines starting with `#` are comments;
    after it, every non-blank line is a grid row (so `#` there is a wall).

    Legend (one character per cell):

    ```text
    S  start (exactly one; a floor cell where every episode begins)
    G  goal  (terminal; entering it gives goal_reward)
    P  pit   (terminal; entering it gives pit_reward)
    C  cliff (entering it gives cliff_reward and sends the agent back to S; not terminal)
    #  wall  (cannot be entered; the move leaves the agent in place)
    .  floor
    ```

    Header keys:

    ```text
    name: <text>            optional, defaults to the file name
    description: <text>     optional, one line shown by `lecture-rl envs` and viewers
    step_reward: <number>   required; reward of every move that enters no G/P/C cell
                            (moves blocked by a wall or the border included)
    goal_reward: <number>   required
    pit_reward: <number>    required when the grid has a P
    cliff_reward: <number>  required when the grid has a C
    ```

    Example (the lecture map):

    ```text
    name: lecture
    step_reward: 0
    goal_reward: 10
    pit_reward: -10
    grid:
    ..G
    S..
    #.P
    ```

Errors:
    A malformed file raises `MapFormatError` naming the file, the line and the problem;
    an unknown map name raises `UnknownMapError` listing the shipped maps. Both are
    `gymnasium.error.Error` and `ValueError` subclasses.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import gymnasium.error

# The grid's constants, in one place: cell kinds, and the four actions as moves and arrows.
START, GOAL, PIT, CLIFF, WALL, FLOOR = "S", "G", "P", "C", "#", "."
#: action a moves by MOVES[a] = (d_row, d_col): up, right, down, left (notes 000 §7.f)
MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
ACTION_ARROWS = "↑→↓←"
LEGEND: dict[str, str] = {
    START: "start",
    GOAL: "goal",
    PIT: "pit",
    CLIFF: "cliff",
    WALL: "wall",
    FLOOR: "floor",
}
REWARD_KEYS = ("step_reward", "goal_reward", "pit_reward", "cliff_reward")
TEXT_KEYS = ("name", "description")
GRID_LINE = "grid:"


class MapError(gymnasium.error.Error, ValueError):
    """Base class of map loading errors."""


class UnknownMapError(MapError):
    """A map name that is neither a shipped map nor an existing file."""


class MapFormatError(MapError):
    """A map file that does not follow the format; the message names the file and line."""


@dataclass(frozen=True)
class GridMap:
    """A parsed, validated grid-world map.

    Attributes:
        name: the map's name (header `name:` or the file name).
        rows: the grid rows, row 1 first, one character per cell (see `LEGEND`).
        rewards: `step_reward`, `goal_reward`, `pit_reward`, `cliff_reward` (the last
            two are 0.0 when the grid has no such cell).
        description: one-line description from the header ("" if none).
        source: the file the map came from (or `"<string>"`).
    """

    name: str
    rows: tuple[str, ...]
    rewards: dict[str, float] = field(hash=False)
    description: str = ""
    source: str = "<string>"

    @property
    def nrow(self) -> int:
        return len(self.rows)

    @property
    def ncol(self) -> int:
        return len(self.rows[0])

    def cell(self, row: int, col: int) -> str:
        """Character at 1-indexed `(row, col)`."""
        return self.rows[row - 1][col - 1]

    def cells_of(self, kind: str) -> list[tuple[int, int]]:
        """All 1-indexed `(row, col)` whose character is `kind`, row-major order."""
        return [
            (r + 1, c + 1)
            for r, line in enumerate(self.rows)
            for c, ch in enumerate(line)
            if ch == kind
        ]

    @property
    def start(self) -> tuple[int, int]:
        return self.cells_of(START)[0]

    def to_text(self) -> str:
        """The map in file format (parsing it gives back an equal map)."""
        lines = [f"name: {self.name}"]
        if self.description:
            lines.append(f"description: {self.description}")
        for key in REWARD_KEYS:
            lines.append(f"{key}: {self.rewards[key]:g}")
        return "\n".join([*lines, GRID_LINE, *self.rows]) + "\n"


def maps_dir() -> Path:
    """Folder holding the shipped maps."""
    return Path(str(resources.files("lecture_rl.assets"))) / "maps"


def shipped_maps() -> list[str]:
    """Names of the maps shipped with lecture-rl, sorted."""
    return sorted(p.stem for p in maps_dir().glob("*.txt"))


def _looks_like_path(name: str) -> bool:
    return name.endswith(".txt") or os.sep in name or (os.altsep or os.sep) in name


def load_map(name_or_path: str | os.PathLike[str]) -> GridMap:
    """Load a shipped map by name (`"lecture"`, `"cliff"`, `"maze"`) or a map file by path."""
    if isinstance(name_or_path, GridMap):
        return name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise UnknownMapError(
            f"map_name must be a map name or a path to a map file, got "
            f"{type(name_or_path).__name__} {name_or_path!r}; shipped maps: "
            f"{', '.join(shipped_maps())}"
        )
    text_name = os.fspath(name_or_path)
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(text_name):
        path = Path(text_name)
        if not path.is_file():
            raise UnknownMapError(
                f"map file {text_name!r} does not exist; pass an existing map file or one of "
                f"the shipped maps: {', '.join(shipped_maps())}"
            )
    else:
        path = maps_dir() / f"{text_name}.txt"
        if not path.is_file():
            shipped = shipped_maps()
            close = difflib.get_close_matches(text_name, shipped, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownMapError(
                f"unknown map {text_name!r}{hint}; shipped maps: {', '.join(shipped)}; "
                f"or pass the path to a map file (*.txt)"
            )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MapFormatError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    return parse_map(text, source=str(path), default_name=path.stem)


def parse_map(text: str, source: str = "<string>", default_name: str = "custom") -> GridMap:
    """Parse and validate map text (the format in this module's docstring).

    Raises:
        MapFormatError: naming `source`, the 1-based line number and the problem.
    """

    def fail(lineno: int | None, problem: str) -> MapFormatError:
        where = f"{source}, line {lineno}" if lineno else source
        return MapFormatError(f"{where}: {problem}")

    header: dict[str, str] = {}
    header_line: dict[str, int] = {}
    rows: list[tuple[int, str]] = []
    in_grid = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if in_grid:
            if line:
                rows.append((lineno, line))
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.lower() == GRID_LINE:
            in_grid = True
            continue
        key, sep, value = stripped.partition(":")
        key = key.strip().lower()
        if not sep:
            raise fail(
                lineno,
                f"expected a 'key: value' header line or '{GRID_LINE}', got {stripped!r}",
            )
        if key not in REWARD_KEYS + TEXT_KEYS:
            close = difflib.get_close_matches(key, REWARD_KEYS + TEXT_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise fail(
                lineno,
                f"unknown header key {key!r}{hint}; valid keys: "
                f"{', '.join(TEXT_KEYS + REWARD_KEYS)}",
            )
        if key in header:
            raise fail(lineno, f"{key!r} given twice (first on line {header_line[key]})")
        header[key], header_line[key] = value.strip(), lineno

    if not in_grid:
        raise fail(None, f"no '{GRID_LINE}' line; the grid rows must follow a '{GRID_LINE}' line")
    if not rows:
        raise fail(None, f"the grid after '{GRID_LINE}' is empty")

    rewards: dict[str, float] = {}
    for key in REWARD_KEYS:
        if key not in header:
            continue
        try:
            value = float(header[key])
        except ValueError:
            raise fail(
                header_line[key], f"bad reward line: {key} must be a number, got {header[key]!r}"
            ) from None
        if not math.isfinite(value):
            raise fail(header_line[key], f"bad reward line: {key} must be finite, got {value}")
        rewards[key] = value

    first_line, first_row = rows[0]
    for lineno, row in rows:
        for col, ch in enumerate(row, start=1):
            if ch not in LEGEND:
                legend = ", ".join(f"{k!r} {v}" for k, v in LEGEND.items())
                raise fail(
                    lineno, f"unknown character {ch!r} in column {col}; the legend is: {legend}"
                )
        if len(row) != len(first_row):
            raise fail(
                lineno,
                f"ragged rows: this row has {len(row)} cells but the first row (line "
                f"{first_line}) has {len(first_row)}; every row must have the same width",
            )

    grid = tuple(row for _, row in rows)
    found = {ch: [(ln, r) for ln, r in rows if ch in r] for ch in LEGEND}
    n_start = sum(row.count(START) for row in grid)
    if n_start == 0:
        raise fail(None, f"no start cell: put exactly one '{START}' in the grid")
    if n_start > 1:
        lines = ", ".join(str(ln) for ln, _ in found[START])
        raise fail(
            found[START][-1][0],
            f"{n_start} start cells '{START}' (lines {lines}); a map has exactly one",
        )
    if not found[GOAL]:
        raise fail(None, f"no goal cell: put at least one '{GOAL}' in the grid")
    required = {"step_reward": None, "goal_reward": None}
    if found[PIT]:
        required["pit_reward"] = found[PIT][0][0]
    if found[CLIFF]:
        required["cliff_reward"] = found[CLIFF][0][0]
    for key, cell_line in required.items():
        if key not in rewards:
            why = f" (the grid has a cell on line {cell_line} that needs it)" if cell_line else ""
            raise fail(None, f"bad reward lines: missing '{key}: <number>'{why}")
    for key in REWARD_KEYS:
        rewards.setdefault(key, 0.0)

    return GridMap(
        name=header.get("name") or default_name,
        rows=grid,
        rewards=rewards,
        description=header.get("description", ""),
        source=source,
    )
