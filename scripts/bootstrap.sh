#!/usr/bin/env bash
# Create .venv with a CPU build of torch first, then the template's test tooling.
# A bare `torch` requirement resolved from PyPI would pull the CUDA build and several GB of
# NVIDIA packages, so torch is installed on its own, from the PyTorch CPU index, without its
# dependencies (PyPI provides those next, with the tooling; the CPU wheel needs no NVIDIA one).
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
TORCH_INDEX_URL="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
PYTHON="${PYTHON:-python3}"

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade "pip>=25.1"
.venv/bin/python -m pip install --quiet --no-deps "torch==${TORCH_VERSION}" \
    --index-url "$TORCH_INDEX_URL"
.venv/bin/python -m pip install --quiet --group test --group docs
.venv/bin/python - <<'PY'
import torch
assert torch.version.cuda is None, f"expected a CPU build of torch, got CUDA {torch.version.cuda}"
print(f"torch {torch.__version__} (CPU) ready in .venv")
PY
