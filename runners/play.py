"""`lecture-rl play`: play an env yourself from the keyboard.

Description:
    One action per key press (`lecture_rl.runners.viewer.keyboard`): every `KEYDOWN`
    that the env's key map knows is exactly one `env.step`, nothing happens between presses.
    The window shows the env, the keys, the step, return, last reward and "blocked" when a
    move hits a wall or the edge, and prints each episode's return. Escape or closing the
    window ends the session; `--max-frames` ends it after that many frames.

Key maps:
    GridWorld and CliffWalking  arrows (or W A S D): up, right, down, left
    FrozenLake                  arrows (or W A S D)
    Taxi                        arrows to drive, P to pick up, D to drop off
    Blackjack                   S to stick, H to hit
    Parity                      0 or 1: the parity of all bits so far
    Copy and any small Discrete action space: digit keys 0..9 pick the action
    Envs that ship their own `get_keys_to_action` (e.g. Atari) use it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import gymnasium as gym

from lecture_rl.runners.env_factory import make_env
from lecture_rl.runners.settings import UsageError, parse_assignments

# pygame key codes for the arrows (same values in pygame and pygame-ce)
K_UP, K_DOWN, K_RIGHT, K_LEFT = 1073741906, 1073741905, 1073741903, 1073741904

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no pygame banner in our output


def _arrows(up: int, right: int, down: int, left: int) -> dict[Any, int]:
    return {
        (K_UP,): up,
        (K_RIGHT,): right,
        (K_DOWN,): down,
        (K_LEFT,): left,
        "w": up,
        "d": right,
        "s": down,
        "a": left,
    }


#: env name (id without namespace and version) -> (key map, help text, wait for a key)
KEY_MAPS: dict[str, tuple[dict[Any, int], str]] = {
    "GridWorld": (_arrows(0, 1, 2, 3), "arrows or W A S D move"),
    "CliffWalking": (_arrows(0, 1, 2, 3), "arrows or W A S D move"),
    "FrozenLake": (_arrows(up=3, right=2, down=1, left=0), "arrows or W A S D move"),
    "Taxi": (
        {(K_DOWN,): 0, (K_UP,): 1, (K_RIGHT,): 2, (K_LEFT,): 3, "p": 4, "d": 5},
        "arrows drive, P picks up, D drops off",
    ),
    "Blackjack": ({"s": 0, "h": 1}, "S sticks, H hits"),
    "Parity": ({"0": 0, "1": 1}, "press 0 or 1: the parity of all bits so far"),
}


def key_map_for(env: gym.Env) -> tuple[dict[Any, Any] | None, str]:
    """The key map and a help line for `env` (`None`: use the env's own map)."""
    spec = env.spec
    name = spec.name if spec is not None else ""
    if name in KEY_MAPS:
        return KEY_MAPS[name]
    if env.has_wrapper_attr("get_keys_to_action"):
        if spec is not None and spec.namespace == "LectureRL":  # ours are turn-based
            return env.get_wrapper_attr("get_keys_to_action")(), "the env's own key map"
        return None, "the env's own key map"
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete) and space.n <= 10:
        keys = {str(i): int(space.start) + i for i in range(int(space.n))}
        return keys, f"digit keys 0..{int(space.n) - 1} pick the action"
    raise UsageError(
        f"play has no key map for env '{spec.id if spec else name}' with action space {space}; "
        "it supports Discrete action spaces of up to 10 actions and envs with get_keys_to_action"
    )


def _gym_play():
    """Import `gymnasium.utils.play` without letting it switch matplotlib to TkAgg
    (for scripts that want Gymnasium's own hold-to-act loop)."""
    import matplotlib

    use = matplotlib.use
    matplotlib.use = lambda *args, **kwargs: None
    try:
        from gymnasium.utils import play
    finally:
        matplotlib.use = use
    return play.play


def run_play(args: argparse.Namespace, out=None, *, make_window: Any = None) -> int:
    """Carry out `lecture-rl play`; returns the exit code. `make_window`: the window's
    class or factory (default `Window`; a notebook hands the frames to a widget)."""
    from rich.console import Console

    from lecture_rl.runners.viewer.keyboard import KeyboardPlay
    from lecture_rl.runners.viewer.window import Window

    # a file given is written to, in a Jupyter kernel too (where rich would display instead)
    console = Console(file=out, force_jupyter=False) if out is not None else Console()
    env_set = parse_assignments(args.env_set, "--env-set")
    env = make_env(args.env, env_set, render_mode="rgb_array")
    if "rgb_array" not in (env.metadata.get("render_modes") or []):
        env.close()
        raise UsageError(f"env '{args.env}' cannot render frames (render mode 'rgb_array')")
    if args.zoom is not None and args.zoom <= 0:
        env.close()
        raise UsageError(f"--zoom must be positive, got {args.zoom}")
    window = (make_window or Window)(
        f"lecture-rl play: {args.env}", zoom=args.zoom or 1.0, max_frames=args.max_frames
    )
    try:
        keys, help_text = key_map_for(env)
        if keys is None:
            keys = {tuple(k): v for k, v in env.get_wrapper_attr("get_keys_to_action")().items()}
        console.print(f"playing {args.env}: {help_text}; one action per key press; Esc quits")

        def on_episode(count: int, total: float, steps: int) -> None:
            console.print(f"episode {count}: return {total:g} in {steps} steps")

        KeyboardPlay(env, keys, help_text, window, seed=args.seed, on_episode=on_episode).run()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        window.close()
        env.close()
    return 0
