"""lecture-rl runners: the `lecture-rl` command line and what it runs.

Modules: `cli` (`main`: the parser assembled from `commands/`, one module per command),
`common` (helpers the commands share: building agents, budgets, greedy evaluation, atomic
umask-honouring writes, torch threads), `train`, `evaluate`, `compare/` (a package:
settings, variants, trials, executor, summary, report, run), `watch` and `play` (pygame
windows), `env_factory` (env ids and `--env-set` keywords), `settings` (`--set`
parsing, config files), `progress` (rich bars), `plots`.

Use from Python:

```python
from lecture_rl.runners.cli import main

main(["compare", "--env", "CliffWalking-v1", "--agents", "q_learning,sarsa",
      "--seeds", "3", "--episodes", "200", "--out", "runs/cliff"])
```
"""
