"""The live classroom viewer: watch agents learn, update by update, in a pygame window.

Modules: `controls` (keys and the on-screen legend), `panel` (the update side panel in the
notes' notation and the return-per-episode plot), `window` (the resizable window and the canvas
it shows), `recorder` (GIF / MP4 of exactly the frames shown), `live` (learning live, one or two
agents side by side), `session` (what `watch` builds), `stepper` (the notes' worked example,
stepped back and forth) and `keyboard` (`lecture-rl play`).

The package imports nothing itself, so that a command's parser (which reads constants such as
`recorder.RECORDED_EPISODES`) does not load pygame.
"""
