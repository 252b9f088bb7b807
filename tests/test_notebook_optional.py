"""Jupyter is optional: `lecture_rl` and the `lecture-rl` command import and run with every
Jupyter module blocked, and `lecture_rl.notebook` says which extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

#: the notebook extra and what comes with it: none may be needed outside lecture_rl.notebook
JUPYTER = ("IPython", "ipywidgets", "ipykernel", "jupyter_client", "jupyter_core", "comm",
           "nbformat", "nbclient", "traitlets", "widgetsnbextension", "pandas")  # fmt: skip

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, io, os, sys, tempfile

    BLOCKED = set(sys.argv[1].split(","))

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"No module named {name!r} (blocked)", name=name)
            return None

    sys.meta_path.insert(0, Block())
    os.environ.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", MPLBACKEND="Agg")

    import lecture_rl.agents, lecture_rl.envs, lecture_rl.nets, lecture_rl.runners  # noqa
    from lecture_rl.runners.cli import main

    folder = tempfile.mkdtemp()
    out = io.StringIO()
    assert main([], out=out) == 0 and "compare" in out.getvalue()  # the help
    code = main(["compare", "--env", "CliffWalking-v1", "--agents", "q_learning,sarsa",
                 "--seeds", "1", "--episodes", "5", "--eval-episodes", "1", "--workers", "1",
                 "--out", folder], out=out)
    assert code == 0, out.getvalue()
    gif = os.path.join(folder, "lesson.gif")
    code = main(["watch", "--env", "CliffWalking-v1", "--agent", "q_learning",
                 "--train-episodes", "2", "--episodes", "1", "--record", gif,
                 "--max-frames", "5"], out=out)
    assert code == 0 and os.path.getsize(gif) > 0, out.getvalue()

    from lecture_rl import notebook  # importable without Jupyter ...
    try:
        notebook.watch("CliffWalking-v1", "q_learning", view="widget")
    except ImportError as exc:  # ... and says what to install where a helper needs it
        print("HINT:", exc)
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    print("LOADED:", loaded)
    """
)


def test_lecture_rl_and_the_cli_run_without_jupyter(tmp_path):
    script = tmp_path / "no_jupyter.py"
    script.write_text(SCRIPT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), ",".join(JUPYTER)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOADED: []" in done.stdout
    assert 'pip install "lecture-rl[notebook]"' in done.stdout
