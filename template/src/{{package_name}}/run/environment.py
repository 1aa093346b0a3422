"""Facts about the machine and the software a run uses, as plain JSON-ready values.

Shared by the run manifest (``manifest.json``) and the environment doctor. Nothing here
imports Lightning; ``torch`` is imported only by the functions that describe it.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

# Distributions whose versions decide what a run computes.
DISTRIBUTIONS = ("torch", "lightning", "torchmetrics", "hydra-core", "omegaconf", "numpy")
# Cache folders and where each tool puts them when the variable is not set.
CACHE_DIRS = {
    "TORCH_HOME": "~/.cache/torch",
    "HF_HOME": "~/.cache/huggingface",
    "UV_CACHE_DIR": "~/.cache/uv",
}
# Environment variables that change how reproducible a run is, or where it computes.
DETERMINISM_VARS = ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG", "PYTORCH_ENABLE_MPS_FALLBACK")
RANK_VARS = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")
GIT_TIMEOUT_S = 5
GIB = 2**30


def distribution_versions(names: tuple[str, ...] = DISTRIBUTIONS) -> dict[str, str | None]:
    """Installed version of each distribution (None when it is not installed)."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def python_info() -> dict[str, str]:
    """Describe the interpreter: version, implementation and executable."""
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


def host_info() -> dict[str, Any]:
    """Describe the machine: host name, OS, CPU architecture and core count."""
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def torch_info(*, devices: bool = True) -> dict[str, Any]:
    """Describe the torch build (CUDA, HIP, XPU and cuDNN versions) and, with ``devices``, the GPUs.

    Listing the GPUs initialises CUDA (or ROCm, or XPU) in this process; before forking
    workers that use the GPU, describe the build only (``devices=False``).
    """
    import torch

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    info: dict[str, Any] = {
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        # ROCm builds set torch.version.hip and report their GPUs through torch.cuda.
        "hip": getattr(torch.version, "hip", None),
        "xpu": getattr(torch.version, "xpu", None),
        "cudnn": cudnn,
        "mps_built": torch.backends.mps.is_built(),
        "num_threads": torch.get_num_threads(),
    }
    if devices:
        cuda_available = torch.cuda.is_available()
        info["cuda_available"] = cuda_available
        info["arch_list"] = torch.cuda.get_arch_list() if cuda_available else []
        info["devices"] = gpu_devices() if cuda_available else []
        info["xpu_devices"] = xpu_devices()
        info["mps_available"] = torch.backends.mps.is_available()
    return info


def cpu_backends() -> dict[str, Any]:
    """Describe how torch computes on the CPU: its threads, BLAS, LAPACK and OpenMP.

    The same code runs at very different speeds on two builds, or with other thread counts.
    """
    import torch

    config = torch.__config__.show()
    parallel = torch.__config__.parallel_info()

    def found(pattern: str, text: str) -> str | None:
        match = re.search(pattern, text, re.MULTILINE)
        return match.group(1).strip() if match else None

    return {
        "intra_op_threads": torch.get_num_threads(),
        "inter_op_threads": torch.get_num_interop_threads(),
        "blas": found(r"BLAS_INFO=([^,\s]+)", config),
        "lapack": found(r"LAPACK_INFO=([^,\s]+)", config),
        "openmp": found(r"^\s*- (OpenMP [^\n]+)", config)
        if torch.backends.openmp.is_available()
        else None,
        "parallel_backend": found(r"ATen parallel backend: ([^\n]+)", parallel),
        "mkl": torch.backends.mkl.is_available(),
        "onednn": found(r"^\s*- (Intel\(R\) MKL-DNN [^ ]+|oneDNN [^ ]+)", config)
        if torch.backends.mkldnn.is_available()
        else None,
        "cpu_capability": found(r"CPU capability usage: ([^\n]+)", config),
        "env": {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
    }


def gpu_devices() -> list[dict[str, Any]]:
    """Name, memory, compute capability and architecture of every visible CUDA or ROCm device.

    ``arch`` is what the wheels' architecture list names: ``sm_90`` for NVIDIA, the
    ``gcnArchName`` without its feature flags (``gfx942``) for AMD.
    """
    import torch

    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        gcn = getattr(props, "gcnArchName", "") if torch.version.hip else ""
        devices.append(
            {
                "index": index,
                "name": props.name,
                "memory_gib": round(props.total_memory / GIB, 1),
                "capability": f"{props.major}.{props.minor}",
                "arch": gcn.split(":")[0] if gcn else f"sm_{props.major}{props.minor}",
            }
        )
    return devices


def xpu_devices() -> list[dict[str, Any]]:
    """Name and memory of every Intel GPU torch sees (none without the XPU backend)."""
    import torch

    xpu = getattr(torch, "xpu", None)
    if xpu is None or not xpu.is_available():
        return []
    devices = []
    for index in range(xpu.device_count()):
        props = xpu.get_device_properties(index)
        devices.append(
            {
                "index": index,
                "name": props.name,
                "memory_gib": round(props.total_memory / GIB, 1),
            }
        )
    return devices


def nvidia_driver_version() -> str | None:
    """Return the NVIDIA driver's version (from /proc or nvidia-smi); None without one."""
    proc_file = Path("/proc/driver/nvidia/version")
    if proc_file.is_file():
        match = re.search(r"Kernel Module\s+(?:for \S+\s+)?(\d+(?:\.\d+)+)", proc_file.read_text())
        if match:
            return match.group(1)
    out = _command_output("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader")
    first = (out or "").strip().splitlines()[:1]
    return first[0].strip() if first else None


def amd_host() -> dict[str, str | None]:
    """Return the host's ROCm and amdgpu driver versions, from ``amd-smi`` or ``rocm-smi``.

    ROCm wheels bring their own ROCm user space, so neither tool is needed to train; where one
    is installed, its versions tell whether the host's driver is as new as the wheels.
    """
    found: dict[str, str | None] = {"tool": None, "rocm": None, "driver": None}
    amd_smi = _command_output("amd-smi", "version")
    if amd_smi is not None:
        found["tool"] = "amd-smi"
        found["rocm"] = _first_version(r"ROCm version:\s*(\d+(?:\.\d+)+)", amd_smi)
        found["driver"] = _first_version(r"amdgpu version:\s*(\d+(?:\.\d+)+)", amd_smi)
        return found
    rocm_smi = _command_output("rocm-smi", "--showdriverversion")
    if rocm_smi is not None:
        found["tool"] = "rocm-smi"
        found["driver"] = _first_version(r"Driver version:\s*(\d+(?:\.\d+)+)", rocm_smi)
        info = Path("/opt/rocm/.info/version")
        if info.is_file():
            found["rocm"] = _first_version(r"(\d+\.\d+(?:\.\d+)?)", info.read_text())
    return found


def _first_version(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


def _command_output(name: str, *args: str) -> str | None:
    """Return what a command on PATH prints; None when it is missing, fails or hangs."""
    program = shutil.which(name)
    if program is None:
        return None
    try:
        return subprocess.run(
            [program, *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S * 2,
            check=True,
        ).stdout
    except OSError:
        return None
    except subprocess.SubprocessError:  # failed or timed out
        return None


def git_state(path: str | Path) -> dict[str, Any] | None:
    """Commit and dirty flag of the git work tree holding ``path``; None outside one."""
    try:
        commit = _git(path, "rev-parse", "HEAD")
        status = _git(path, "status", "--porcelain")
    except OSError:  # no git
        return None
    except subprocess.SubprocessError:  # failed or timed out
        return None
    return {"commit": commit.strip(), "dirty": bool(status.strip())}


def _git(path: str | Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        check=True,
    ).stdout


def shared_memory(path: str = "/dev/shm") -> dict[str, Any] | None:
    """Size and free space of the shared-memory file system DataLoader workers use."""
    if not os.path.isdir(path):
        return None
    stats = os.statvfs(path)
    return {
        "path": path,
        "total_gib": round(stats.f_blocks * stats.f_frsize / GIB, 2),
        "free_gib": round(stats.f_bavail * stats.f_frsize / GIB, 2),
    }


def cache_dirs() -> dict[str, dict[str, Any]]:
    """Each cache folder, whether its variable is set, and whether it can be written."""
    found = {}
    for variable, default in CACHE_DIRS.items():
        value = os.environ.get(variable)
        path = Path(value or default).expanduser()
        found[variable] = {"path": str(path), "set": value is not None, "writable": writable(path)}
    return found


def writable(path: Path) -> bool:
    """Tell whether ``path`` can be written, or created: its nearest existing folder is writable."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def determinism_env() -> dict[str, str | None]:
    """Return the environment variables that affect reproducibility (None: unset)."""
    return {name: os.environ.get(name) for name in DETERMINISM_VARS}


def process_rank() -> int:
    """Return the global rank of this process in a distributed run (0 when not distributed)."""
    for name in RANK_VARS:
        value = os.environ.get(name)
        if value is not None and value.isdigit():
            return int(value)
    return 0
