"""Run rl-zoo3's scripts on the lecture-rl ids: `python -m lecture_rl.runners.zoo SCRIPT ARGS`.

Description:
    rl-zoo3's `train` and `enjoy` import our ids with `--gym-packages lecture_rl.envs`;
    `record_video` has no such option and looks the id up in Gymnasium's registry before it
    would import anything. This module imports [`lecture_rl.envs`][lecture_rl.envs] (registering
    the ids) and then runs `rl_zoo3.<SCRIPT>` unchanged with the remaining arguments, so every
    rl-zoo3 script sees our ids:

    ```bash
    python -m lecture_rl.runners.zoo record_video --algo dqn --env LectureRL/GridWorld-v0 \\
        -f logs -n 200
    ```

    `SCRIPT` is one of `SCRIPTS`.
"""

from __future__ import annotations

import runpy
import sys

SCRIPTS = ("train", "enjoy", "record_video", "record_training")


def main(argv: list[str] | None = None) -> int:
    """Run `rl_zoo3.<argv[0]>` with `argv[1:]` after registering our ids."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SCRIPTS:
        print(
            f"usage: python -m lecture_rl.runners.zoo {{{','.join(SCRIPTS)}}} [rl-zoo3 options]",
            file=sys.stderr,
        )
        return 2
    try:
        import rl_zoo3  # noqa: F401
    except ImportError:
        print(
            'rl-zoo3 is not installed; install it with: pip install "lecture-rl[zoo]"',
            file=sys.stderr,
        )
        return 2
    import lecture_rl.envs  # noqa: F401  (registers the ids in this process)

    script = argv[0]
    sys.argv = [f"rl_zoo3.{script}", *argv[1:]]
    runpy.run_module(f"rl_zoo3.{script}", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
