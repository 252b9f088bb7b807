"""Regenerate `docs/cliff-experiment.png`, the README's example of an experiment report.

Runs `lecture-rl experiment cliff --quick` (a few seconds) into a temporary folder and copies
its plot here:

```text
python docs/make_experiment_plot.py
```
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from lecture_rl.runners.cli import main

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        code = main(["experiment", "cliff", "--quick", "--workers", "2", "--out", folder])
        if code:
            raise SystemExit(code)
        shutil.copyfile(Path(folder) / "cliff.png", HERE / "cliff-experiment.png")
    print(f"wrote {HERE / 'cliff-experiment.png'}")
