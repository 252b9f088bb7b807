"""Run the student path's notebooks in place at their full budgets, so that the stored outputs
(what the docs site and GitHub show) are real; and set where the repository lives.

Each notebook runs top to bottom in a fresh kernel (nbclient), with no widget frontend, so
every `watch` leaves its animation in the output. Run it after changing a notebook or what it
calls; it takes a few minutes per notebook on a CPU.

```bash
python docs/notebooks/execute.py                          # every notebook
python docs/notebooks/execute.py 02-cliff                 # one
python docs/notebooks/execute.py --repo you/lecture-rl --no-run   # the Colab links and REPO_URL
```
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parent
PLACEHOLDER = "OWNER/lecture-rl"
BADGE = re.compile(r"(https://colab\.research\.google\.com/github/)([^/\s]+/[^/\s]+)(/blob/)")
REPO_URL = re.compile(r'REPO_URL = "https://github\.com/([^"]+)"')


def set_repository(nb, repo: str) -> None:
    """Point the Colab link and the install cell's `REPO_URL` at github.com/`repo`."""
    for cell in nb.cells:
        cell.source = BADGE.sub(lambda m: f"{m.group(1)}{repo}{m.group(3)}", cell.source)
        cell.source = REPO_URL.sub(f'REPO_URL = "https://github.com/{repo}"', cell.source)


def execute(nb, folder: Path) -> None:
    client = NotebookClient(
        nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    for cell in nb.cells:  # keep the diffs to what changed: no timings of this run
        cell.metadata.pop("execution", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks (file stems); default: all")
    parser.add_argument("--repo", help=f"OWNER/NAME on GitHub (default: keep; {PLACEHOLDER})")
    parser.add_argument("--no-run", action="store_true", help="only set --repo, do not run")
    args = parser.parse_args()
    paths = sorted(FOLDER.glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
        if len(paths) != len(args.names):
            parser.error(f"unknown notebook in {args.names}; have {[p.stem for p in paths]}")
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if args.repo:
            set_repository(nb, args.repo)
        if not args.no_run:
            start = time.perf_counter()
            execute(nb, FOLDER)
            print(f"{path.name}: ran in {time.perf_counter() - start:.0f} s", flush=True)
        nbformat.write(nb, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
