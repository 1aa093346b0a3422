"""Reproducibility: one master seed, derived seeds for each random stream, deterministic mode.

Typical use::

    seed_everything(cfg.seed, deterministic=cfg.deterministic)
    data_seed = derive_seed(cfg.seed, "data")
    loader = DataLoader(..., generator=make_generator(data_seed), worker_init_fn=worker_init_fn)

``rng_state`` and ``set_rng_state`` save and restore the global generators, so a resumed run
continues their streams where the interrupted run left them.
"""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

import numpy as np
import torch

from ..validation import integer

# cuBLAS needs a fixed workspace to be deterministic on CUDA >= 10.2.
CUBLAS_WORKSPACE_CONFIG = ":4096:8"
MAX_SEED = 2**32 - 1


def seed_everything(seed: int, *, deterministic: bool = False) -> int:
    """Seed Python, NumPy and torch (CPU and every GPU) and return the seed.

    Builds on ``lightning.pytorch.seed_everything(seed, workers=True)``, which also makes
    Lightning seed DataLoader workers. ``seed=0`` is a valid seed like any other.
    ``deterministic=True`` additionally makes torch use deterministic algorithms
    (see :func:`set_deterministic`).
    """
    from lightning.pytorch import seed_everything as lightning_seed_everything

    seed = integer("seed", seed, minimum=0, maximum=MAX_SEED)
    applied = lightning_seed_everything(seed, workers=True)
    set_deterministic(deterministic)
    return applied


def derive_seed(master: int, *names: str) -> int:
    """Derive an independent, reproducible seed for a named stream from the master seed.

    The result depends only on the arguments (SHA-256, not Python's salted ``hash``), so it is
    the same in every process and on every platform. Distinct names give distinct streams, e.g.
    ``derive_seed(seed, "data", "split")``.
    """
    key = "\x1f".join([str(int(master)), *names]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")


def make_generator(seed: int) -> torch.Generator:
    """Return a CPU ``torch.Generator`` seeded with ``seed`` (for samplers and data creation)."""
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator


def worker_init_fn(worker_id: int) -> None:
    """Seed Python and NumPy in a DataLoader worker from the seed torch gave that worker.

    torch seeds each worker with ``base_seed + worker_id`` (``base_seed`` drawn from the
    loader's generator), so workers differ from each other but repeat across runs.
    """
    worker_seed = torch.initial_seed() % (MAX_SEED + 1)
    random.seed(worker_seed)
    np.random.seed(worker_seed)


def set_deterministic(enabled: bool) -> None:
    """Switch torch's deterministic algorithms and cuDNN's deterministic mode on or off.

    When enabling, sets ``CUBLAS_WORKSPACE_CONFIG`` (unless already set), which CUDA needs for
    deterministic matrix products; operations without a deterministic implementation raise.
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.deterministic = enabled
    if enabled:
        torch.backends.cudnn.benchmark = False


def rng_state() -> dict[str, Any]:
    """Capture the global random generators: Python, NumPy, torch's CPU and (if used) CUDA.

    Holds only plain Python values and tensors, so a checkpoint that contains it still loads
    with ``torch.load(..., weights_only=True)``.
    """
    numpy_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "bit_generator": numpy_state["bit_generator"],
            "key": [int(word) for word in numpy_state["state"]["key"]],
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators captured by :func:`rng_state` (CUDA only when the GPUs match)."""
    random.setstate(state["python"])
    numpy_state = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": numpy_state["bit_generator"],
            "state": {
                "key": np.asarray(numpy_state["key"], dtype=np.uint32),
                "pos": numpy_state["pos"],
            },
            "has_gauss": numpy_state["has_gauss"],
            "gauss": numpy_state["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
