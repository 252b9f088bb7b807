#!/usr/bin/env bash
# lecture-rl in one command, on a fresh machine or this one:
#
#   ./quickstart.sh demo   compare SARSA with Q-learning on the cliff (a table and runs/cliff/curves.png)
#   ./quickstart.sh test   lint (ruff, import-linter) and run the test suite (what CI runs)
#
# Each first creates (or reuses) the virtualenv .venv (VENV=... picks another), installs a CPU
# build of torch (a local wheel of the pinned version if this machine has one, else PyTorch's
# CPU wheel index, never the several-GB CUDA default) and the project with its dev extras.
# Set-up is skipped while pyproject.toml is unchanged since the last one.
set -euo pipefail
cd "$(dirname "$0")"

TORCH_PIN="2.13.0"  # the version CI pins; used when a local wheel of it exists
CPU_INDEX="https://download.pytorch.org/whl/cpu"
VENV="${VENV:-.venv}"

mode="${1:-}"
if [ "$mode" != demo ] && [ "$mode" != test ]; then
    echo "usage: ./quickstart.sh demo|test" >&2
    exit 2
fi

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

stamp="$VENV/.lecture-rl-setup"
wanted="$(python -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    python -m pip install --quiet --upgrade pip
    if ! python -c "import torch" 2>/dev/null; then
        if python -m pip install --quiet --no-index --no-deps "torch==$TORCH_PIN" 2>/dev/null; then
            python -m pip install --quiet "torch==$TORCH_PIN"  # its dependencies
        else
            python -m pip install --quiet torch --index-url "$CPU_INDEX"
        fi
    fi
    python -m pip install --quiet -e ".[dev]"
    echo "$wanted" > "$stamp"
fi

export SDL_VIDEODRIVER="${SDL_VIDEODRIVER:-dummy}" SDL_AUDIODRIVER="${SDL_AUDIODRIVER:-dummy}"
export MPLBACKEND="${MPLBACKEND:-Agg}"

if [ "$mode" = demo ]; then
    exec lecture-rl compare --env CliffWalking-v1 --agents sarsa,q_learning --out runs/cliff
fi
ruff check .
lint-imports  # the layers and the no-cycle rule of pyproject.toml's [tool.importlinter]
ruff format --check . || echo "(ruff format differences above are advisory)"
exec python -m pytest -n 2 -q
