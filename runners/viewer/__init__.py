"""The live classroom viewer: watch agents learn, update by update, in a pygame window.

Modules: `live` (the loop: learning live, one or two agents side by side, then greedy runs),
`lane` (an agent learning in a worker thread, stopped after each drawn step), `schedule`
(which episodes and steps are drawn), `pacing` (the keys and the wait for the next step),
`controls` (the key state and the on-screen legend); the views `grid_canvas` (a grid with its Q
triangles) and `env_canvas` (any other env: its own picture, `picture`, beside what the agent
thinks, `thoughts`), with `hud` (the status lines) and `panel` (the update in the notes'
notation, the return-per-episode plot); `window` (the resizable window and the canvas it
shows: the seam another front end replaces), `recorder` (GIF / MP4 of exactly the frames
shown), `session` (what `watch` builds), `insides_panel` (a deep agent's insides, live),
`stepper` (the notes' worked example, stepped back and forth) and `keyboard`
(`lecture-rl play`).

The package imports nothing itself, so that a command's parser (which reads constants such as
`recorder.RECORDED_EPISODES`) does not load pygame.
"""
