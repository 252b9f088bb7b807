"""`lecture-rl tune`: search an agent's hyperparameters with Optuna; the best become a preset.

Description:
    A *study* is a series of *trials*; each trial is one point of the agent's search space
    (`spaces.py`), trained with `--seeds` seeds by compare's engine (its workers, its seeds,
    its executors: local processes or Ray) and scored by the mean greedy return of its seeds
    after training. Optuna's TPE sampler picks each next point from the results so far; the
    median pruner stops a trial whose greedy return, measured at `--evaluations` points while
    it trains, falls below the median of the finished trials at the same point.

    `--out DIR` holds everything, and a rerun into it continues the study:

    | file | what |
    |---|---|
    | `study.db` | the Optuna study (SQLite): every trial, its settings, curve and score |
    | `config.json` | the settings a rerun must share (`--trials` may grow) |
    | `trials/` | one JSON file per seed of each trial, written as it finishes |
    | `<agent>.yml` | the best trial's settings as a preset: `train --preset FILE` |
    | `trials.csv`, `summary.json` | every trial; the best one and the counts |
    | `report.md` | the report: `history.png`, `importance.png`, `best_curve.png` |

Modules: `spaces` (search spaces), `settings` (flags into a plan), `study` (the SQLite study,
resume), `search` (the loop between Optuna and the executor), `display` (progress), `preset`
(the preset file), `report` (tables and plots), `run` (the command).
"""

from lecture_rl.runners.tune.run import run_tune

__all__ = ["run_tune"]
