"""lecture-rl in Jupyter and Colab: the live viewer inline, and the CLI's other steps as calls.

Description:
    `watch` shows the live viewer (`lecture-rl watch`: the Q triangles, the update panel, the
    returns plot; a deep agent's insides) in the cell and updates it while the agent learns,
    with a button for each of the viewer's keys; `play` plays an env with one button per key;
    `lecture_example` steps through the notes' worked example. They draw with the viewer's own
    pygame code, off-screen, through the window seam (`lecture_rl.notebook.window`). Where no
    widget frontend runs (nbconvert, the docs site) the same calls leave an animation in the
    output instead.

    `compare` returns its table as a pandas `DataFrame` and shows the curves, `experiment`
    shows its report, `train` saves a checkpoint, `inspect` shows the figure of a network's
    insides. Every helper calls the engine the `lecture-rl` command calls.

    Needs the `notebook` extra (`pip install "lecture-rl[notebook]"`: ipywidgets, IPython,
    pandas); the rest of `lecture_rl` runs without it. `LECTURE_RL_NOTEBOOK_SMOKE=1` cuts every
    budget to a few episodes (CI runs the notebooks so); `LECTURE_RL_NOTEBOOK_VIEW=animation`
    (or `widget`) overrides the choice of view.

Example:
    ```python
    from lecture_rl import notebook as lrl

    lesson = lrl.watch("CliffWalking-v1", "sarsa,q_learning", train_episodes=300,
                       alpha=0.5, gamma=1, epsilon=0.1)
    table = lrl.compare("CliffWalking-v1", "q_learning,sarsa", seeds=10, episodes=500,
                        alpha=0.5, gamma=1, epsilon=0.1)
    ```
"""

from __future__ import annotations

from lecture_rl.notebook.reports import ExperimentResult, compare, experiment, inspect, train
from lecture_rl.notebook.views import lecture_example, play, watch

__all__ = [
    "ExperimentResult",
    "compare",
    "experiment",
    "inspect",
    "lecture_example",
    "play",
    "train",
    "watch",
]
