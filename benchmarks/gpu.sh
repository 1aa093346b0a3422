#!/usr/bin/env bash
# The GPU check, ready to run on a machine with one NVIDIA GPU (under 5 minutes in all):
#   bash benchmarks/gpu.sh
# 1. a venv (.venv-gpu) with the CUDA build of torch and the template's test dependencies;
# 2. benchmarks/gpu_check.py: render the CUDA variant, run its GPU tests and the smoke training
#    on the GPU, measure the loop ratio, the template overhead, GPU utilisation and the bf16
#    step; the numbers go to benchmarks/results/gpu.json and gpu.md (docs/performance.md's
#    GPU table is that Markdown).
# Settings: TORCH_VERSION (default 2.13.0), CUDA_BACKEND (a CUDA variant of the data table,
# default cu126), GPU_VENV (default .venv-gpu), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
CUDA_BACKEND="${CUDA_BACKEND:-cu126}"
GPU_VENV="${GPU_VENV:-.venv-gpu}"
PYTHON="${PYTHON:-python3}"
command -v nvidia-smi >/dev/null || { echo "gpu.sh: no nvidia-smi: this needs an NVIDIA GPU" >&2; exit 2; }

[ -x "$GPU_VENV/bin/python" ] || "$PYTHON" -m venv "$GPU_VENV"
"$GPU_VENV/bin/python" -m pip install --quiet --upgrade "pip>=25.1"
"$GPU_VENV/bin/python" -m pip install --quiet "torch==${TORCH_VERSION}" \
    --index-url "https://download.pytorch.org/whl/${CUDA_BACKEND}"
"$GPU_VENV/bin/python" -m pip install --quiet --group test
# torch.cuda.utilization() reads NVML through pynvml (the nvidia-ml-py package).
"$GPU_VENV/bin/python" -m pip install --quiet nvidia-ml-py
exec "$GPU_VENV/bin/python" benchmarks/gpu_check.py --backend "$CUDA_BACKEND" "$@"
