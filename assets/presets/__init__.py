"""Built-in presets: per-env settings of our agents, one YAML file per agent (`ppo.yml`).

`lecture_rl.runners.presets` reads them; the format is described there and in
`docs/presets.md`.
"""
