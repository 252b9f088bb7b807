"""Buttons for the viewer's keys: each click is the key press the viewer already handles.

Description:
    `VIEWER_KEYS` lists the live viewer's keys (`lecture_rl.runners.viewer.controls`) as
    buttons, `STEPPER_KEYS` the worked example's, `play_keys` one button per action of an
    env's key map (`lecture-rl play`). `button_bar` makes the `ipywidgets.Button`s; a click
    calls `NotebookWindow.press` with the button's key, so the viewer reads it from
    `events()` like a key press in its pygame window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lecture_rl.envs import rendering


@dataclass(frozen=True)
class KeyButton:
    """One button: its label, the pygame key name it presses (and the character it types),
    and what it does (the tooltip)."""

    label: str
    key: str
    unicode: str = ""
    tooltip: str = ""

    @property
    def code(self) -> int:
        """The pygame key code (`pygame.K_<key>`)."""
        return int(getattr(rendering.import_pygame(), f"K_{self.key}"))


#: the live viewer's keys (`Controls.handle_key`), in the order of its on-screen legend
VIEWER_KEYS: tuple[KeyButton, ...] = (
    KeyButton("pause / resume", "SPACE", " ", "Space: pause or resume learning"),
    KeyButton("step ▸", "RIGHT", "", "→: one env step while paused"),
    KeyButton("− slower", "MINUS", "-", "−: fewer steps per second (down to one per step)"),
    KeyButton("+ faster", "PLUS", "+", "+: more steps per second (up to turbo)"),
    KeyButton("greedy run", "g", "g", "g: play one greedy episode now"),
    KeyButton("restart", "r", "r", "r: start learning again from zero"),
    KeyButton("values", "v", "v", "v: show or hide the V heat map"),
    KeyButton("Q", "n", "n", "n: show or hide the Q triangles"),
    KeyButton("policy", "p", "p", "p: show or hide the greedy policy"),
    KeyButton("trail", "t", "t", "t: show or hide the episode's trail"),
    KeyButton("help", "h", "h", "h: show or hide the key legend under the view"),
    KeyButton("■ stop", "ESCAPE", "", "Esc: stop the lesson"),
)

#: the worked example's keys (`Stepper.handle_key`)
STEPPER_KEYS: tuple[KeyButton, ...] = (
    KeyButton("◂ back", "LEFT", "", "←: the update before"),
    KeyButton("next ▸", "RIGHT", "", "→: the next update"),
    KeyButton("■ close", "ESCAPE", "", "Esc: close the view"),
)

#: a view with no keys of its own (a deep agent's insides): only stopping it
STOP_KEYS: tuple[KeyButton, ...] = (KeyButton("■ stop", "ESCAPE", "", "stop the lesson"),)

_ARROWS = {"UP": "↑", "RIGHT": "→", "DOWN": "↓", "LEFT": "←"}


def play_keys(keys: dict[Any, Any]) -> tuple[KeyButton, ...]:
    """One button per action of a `lecture-rl play` key map (its first key for the action:
    an arrow where it has one), then a new episode (Backspace) and stop (Esc)."""
    pygame = rendering.import_pygame()
    names = {getattr(pygame, f"K_{name}"): name for name in _ARROWS}
    chosen: dict[Any, KeyButton] = {}
    for entry, action in keys.items():
        button = _button_for(entry, action, names)
        if button is None:
            continue
        better = button.key in _ARROWS and chosen.get(action, button).key not in _ARROWS
        if action not in chosen or better:
            chosen[action] = button
    ordered = sorted(chosen.items(), key=lambda item: _order(item[0]))
    return (
        *(button for _, button in ordered),
        KeyButton("new episode", "BACKSPACE", "", "Backspace: start a new episode"),
        KeyButton("■ stop", "ESCAPE", "", "Esc: stop playing"),
    )


def _button_for(entry: Any, action: Any, arrow_names: dict[int, str]) -> KeyButton | None:
    """The button of one key-map entry: a tuple holding one pygame key code, a character, or
    a tuple holding one character; None for chords (several keys at once)."""
    if isinstance(entry, tuple):
        if len(entry) != 1:
            return None
        entry = entry[0]
    tip = f"action {action}"
    if isinstance(entry, int) and entry in arrow_names:
        name = arrow_names[entry]
        return KeyButton(_ARROWS[name], name, "", f"{name.lower()} arrow: {tip}")
    char = chr(entry) if isinstance(entry, int) and 32 < entry < 127 else entry
    if isinstance(char, str) and len(char) == 1 and char.isprintable():
        lower = char.lower()
        key = lower if lower.isalnum() else ""
        if not key:
            return None
        return KeyButton(char.upper(), key, lower, f"{char.upper()}: {tip}")
    return None


def _order(action: Any) -> tuple[int, str]:
    return (int(action), "") if isinstance(action, (int,)) else (1 << 30, repr(action))


def button_bar(window: Any, buttons: Iterable[KeyButton]) -> Any:
    """An `ipywidgets.HBox` of buttons; each click calls `window.press(key, unicode)`."""
    import ipywidgets

    made = []
    for spec in buttons:
        button = ipywidgets.Button(
            description=spec.label,
            tooltip=spec.tooltip or spec.label,
            layout=ipywidgets.Layout(width="auto"),
        )
        button.on_click(lambda _button, spec=spec: window.press(spec.code, spec.unicode))
        made.append(button)
    return ipywidgets.HBox(made, layout=ipywidgets.Layout(flex_flow="row wrap"))
