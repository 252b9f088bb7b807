"""`watch`, `play` and the worked example in a notebook: the CLI's engines drawing in a widget.

Description:
    Each call parses the command line the CLI would get (`command_args`) and runs the
    command's own engine (`run_watch`, `run_play`, `run_lecture_example`) with a
    `NotebookWindow` as its window: live in a widget with one button per key where a widget
    frontend runs, else run to the end and left in the output as an animation (see
    `lecture_rl.notebook.frontend.view_mode`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lecture_rl.notebook.budgets import shrink
from lecture_rl.notebook.buttons import STEPPER_KEYS, STOP_KEYS, VIEWER_KEYS, KeyButton, play_keys
from lecture_rl.notebook.command import assignments, comma_list, command_args
from lecture_rl.notebook.frontend import use_offscreen_pygame, view_mode
from lecture_rl.notebook.lesson import Lesson

#: frames an animation holds by default (the training is spread over them, as `--record` does)
ANIMATION_FRAMES = 240
#: ... and of a deep agent's insides (each frame a figure, drawn at 2 frames per second)
INSIDES_FRAMES = 60
#: its frames per second by default
ANIMATION_FPS = 10.0


def watch(
    env_id: str | None = None,
    agents: str | list[str] | None = None,
    *,
    train_episodes: int | None = None,
    checkpoint: str | None = None,
    env_set: dict[str, Any] | None = None,
    seed: int = 0,
    speed: float | None = None,
    greedy_episodes: int = 3,
    frames: int | None = None,
    device: str | None = None,
    view: str = "auto",
    **settings: Any,
) -> Lesson:
    """`lecture-rl watch` in the cell: an agent (or two side by side) learning, live.

    Arguments:
        env_id: the env (`--env`), e.g. `"CliffWalking-v1"`.
        agents: one agent name, or two as `"sarsa,q_learning"` or a list (`--agent(s)`).
        train_episodes: training episodes (`--train-episodes`; default: the agent's budget).
        checkpoint: watch a trained agent from this folder instead (`--checkpoint`).
        env_set: the env's keywords (`--env-set`), e.g. `{"map_name": "maze"}`.
        seed: the training and episode seed.
        speed: env steps per second at the start (`--fps`; in an animation: its frame rate).
        greedy_episodes: greedy episodes played after training (`--episodes`).
        frames: the animation's most frames (`--max-frames`; default 240); live: unbounded.
        device: where deep agents run (`--device`).
        view: `widget`, `animation` or `auto` (see `view_mode`).
        **settings: the agents' hyperparameters (`--set`), e.g. `alpha=0.5, gamma=1`; an
            `agent.name` key sets one agent's (as `{"sarsa.epsilon": 0.2}`).

    Returns:
        The `Lesson`: live (`lesson.stop()`, `lesson.window.frames`) or its animation.
    """
    names = [] if agents is None else comma_list(agents).split(",")
    names = [name.strip() for name in names if name.strip()]
    mode = view_mode(view)
    options: dict[str, Any] = {
        "env": env_id,
        "agent": names[0] if len(names) == 1 else None,
        "agents": ",".join(names) if len(names) > 1 else None,
        "checkpoint": checkpoint,
        # the agent's default budget is cut too
        "train_episodes": shrink("train_episodes", train_episodes, default=bool(names)),
        "env_set": assignments(env_set),
        "set": assignments(settings),
        "seed": seed,
        "episodes": shrink("greedy_episodes", greedy_episodes),
        "device": device,
    }
    use_offscreen_pygame()
    args = command_args("watch", **options, fps=speed)  # checked before anything starts
    what = " vs ".join(names) if names else f"the agent of {checkpoint}"
    title = f"{what} on {env_id or 'its env'}"
    keys = _viewer_keys(args)
    if mode == "widget":
        lesson = Lesson.live(title, keys)
        return lesson.start(lambda out, make_window: _run_watch(args, out, make_window)).show()

    default = ANIMATION_FRAMES if keys is VIEWER_KEYS else INSIDES_FRAMES
    count = shrink("frames", frames or default)
    fps = speed or ANIMATION_FPS

    def recorded(out: Any, make_window: Any, path: str) -> int:
        static = command_args("watch", **options, fps=fps, max_frames=count, record=path)
        return _run_watch(static, out, make_window)

    return Lesson.recorded(title, recorded, fps=fps, max_frames=count).show()


def _run_watch(args: Any, out: Any, make_window: Any) -> int:
    from lecture_rl.runners.watch import run_watch

    return run_watch(args, out, make_window=make_window)


def _viewer_keys(args: Any) -> tuple[KeyButton, ...]:
    """The buttons of the view `watch` will show (`live_view`, the CLI's own choice): the live
    viewer's keys, or only stop for a deep agent's insides (which take no keys)."""
    from lecture_rl.runners.settings import UsageError
    from lecture_rl.runners.watch import live_view

    view = live_view(args)
    if view is None and args.checkpoint:
        from lecture_rl.agents.deep import DeepAgent
        from lecture_rl.runners.agent_factory import agent_class

        meta = Path(args.checkpoint) / "agent.json"
        try:
            name = json.loads(meta.read_text(encoding="utf-8"))["agent"]
            table = not issubclass(agent_class(name), DeepAgent)
        except (OSError, ValueError, KeyError, TypeError, UsageError):
            table = False  # the engine says what is wrong with the checkpoint
        if table:
            raise UsageError(
                f"{args.checkpoint} holds a table agent, which watch replays in a pygame window; "
                "in a notebook watch it learn instead: watch(env_id, agent_name, ...)"
            )
        view = "insides"
    if view is None:
        raise UsageError("watch needs an agent to learn live (agents=NAME) or a checkpoint")
    return STOP_KEYS if view == "insides" else VIEWER_KEYS


def play(
    env_id: str,
    *,
    env_set: dict[str, Any] | None = None,
    seed: int | None = None,
    view: str = "auto",
) -> Lesson:
    """`lecture-rl play` in the cell: play the env yourself, one button per key of its key map.

    Arguments:
        env_id: the env (`--env`), e.g. `"LectureRL/GridWorld-v0"`.
        env_set: the env's keywords (`--env-set`), e.g. `{"map_name": "maze"}`.
        seed: the first episode's seed.
        view: `widget`, `animation` or `auto`; without a widget frontend nobody can press a
            button, so the output holds the first frame only.

    Returns:
        The `Lesson` (`lesson.printed`: each finished episode's return, as the CLI prints it).
    """
    from lecture_rl.runners.env_factory import make_env
    from lecture_rl.runners.play import key_map_for

    mode = view_mode(view)
    use_offscreen_pygame()
    args = command_args("play", env=env_id, env_set=assignments(env_set), seed=seed)
    from lecture_rl.runners.settings import parse_assignments

    env = make_env(env_id, parse_assignments(args.env_set, "--env-set"), render_mode="rgb_array")
    try:
        keys, _ = key_map_for(env)
        if keys is None:
            keys = {tuple(k): v for k, v in env.get_wrapper_attr("get_keys_to_action")().items()}
    finally:
        env.close()
    title = f"play {env_id}"
    if mode == "widget":
        lesson = Lesson.live(title, play_keys(keys))
        return lesson.start(lambda out, make_window: _run_play(args, out, make_window)).show()
    still = command_args("play", env=env_id, env_set=assignments(env_set), seed=seed, max_frames=1)
    return Lesson.recorded(
        title, lambda out, make_window, _path: _run_play(still, out, make_window),
        fps=1.0, max_frames=1, suffix=".gif",
    ).show()  # fmt: skip


def _run_play(args: Any, out: Any, make_window: Any) -> int:
    from lecture_rl.runners.play import run_play

    return run_play(args, out, make_window=make_window)


def lecture_example(*, window: bool = True, view: str = "auto") -> Lesson | str:
    """`lecture-rl lecture-example`: the notes' worked example (000 §7.f), printed, then (with
    `window`) stepped through on the grid with back / next buttons.

    Returns:
        The `Lesson` of the stepped view (`lesson.printed` holds the printed example), or the
        printed text without `window`.
    """
    from lecture_rl.runners.lecture_example import run_lecture_example

    if not window:
        import sys

        from lecture_rl.notebook.command import Tee

        out = Tee(sys.stdout)
        run_lecture_example(window=False, out=out)
        return out.getvalue()
    mode = view_mode(view)
    title = "the worked example, notes 000 §7.f"
    if mode == "widget":
        lesson = Lesson.live(title, STEPPER_KEYS)
        engine = lambda out, make_window: run_lecture_example(  # noqa: E731
            window=True, out=out, make_window=make_window
        )
        return lesson.start(engine).show()
    return Lesson.recorded(
        title,
        lambda out, make_window, _path: run_lecture_example(
            window=True, out=out, hold=0, make_window=make_window
        ),
        fps=1.0,
        max_frames=None,
    ).show()
