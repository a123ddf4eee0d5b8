#!/usr/bin/env bash
# Create or refresh the course environment in .venv/ (used by `make lab` and `make test`).
# Reuses an existing environment whose requirements have not changed since it was built.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.course-requirements.sha256"
WANT="$(cat pyproject.toml requirements/constraints.txt | sha256sum | cut -d' ' -f1)"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    echo "ensure-env: $VENV is up to date (requirements unchanged)."
    exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 14) else 1)' 2>/dev/null; then
    echo "ensure-env: this course needs Python 3.10-3.13; '$PYTHON' is $("$PYTHON" --version 2>&1 || echo missing)." >&2
    echo "            Install one, or run e.g. 'make test PYTHON=python3.12'." >&2
    exit 1
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
    echo "ensure-env: creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV"
fi
echo "ensure-env: installing the course and its tested dependencies (torch from PyPI; first time: several GB, a few minutes)"
# torch is pinned in the constraints, so pip takes the PyPI build, never a local CPU-only wheel that
# torchvision cannot load with.
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -c requirements/constraints.txt -e ".[test]"
"$VENV/bin/python" -c "import torch, torchvision, segmentation_models_pytorch" || {
    echo "ensure-env: torch/torchvision do not import together; see README 'Troubleshooting'." >&2
    exit 1
}
echo "$WANT" > "$STAMP"
echo "ensure-env: ready in $(( $(date +%s) - start )) s"
