"""The live classroom viewer: watch tabular agents learn, update by update, in a pygame window.

Modules: :mod:`.controls` (keys and the on-screen legend), :mod:`.panel` (the update side panel
in the notes' notation and the return-per-episode plot), :mod:`.hud` (the status lines),
:mod:`.window` (the resizable window and the canvas it shows), :mod:`.recorder` (GIF / MP4 of
exactly the frames shown), :mod:`.live` (learning live, one or two agents side by side),
:mod:`.stepper` (the notes' worked example, stepped back and forth) and :mod:`.keyboard`
(``lecture-rl play``).
"""

from lecture_rl.runners.viewer.controls import Controls
from lecture_rl.runners.viewer.live import Lane, LiveViewer

__all__ = ["Controls", "Lane", "LiveViewer"]
