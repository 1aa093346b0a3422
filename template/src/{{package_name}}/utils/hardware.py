"""What the machine supports: mixed precision, TF32 matrix products."""

from __future__ import annotations

import torch

from ..errors import InvalidValueError

AUTO = "auto"
BF16 = "bf16-mixed"
FULL = "32-true"


def bf16_supported() -> bool:
    """Tell whether a CUDA GPU is visible and supports bfloat16."""
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def resolve_precision(precision: str | int | None, accelerator: str | None = None) -> str | int:
    """Turn ``precision: auto`` into a Lightning precision this machine can run.

    ``"auto"`` (or ``None``) becomes ``"bf16-mixed"`` when training runs on a CUDA GPU that
    supports bfloat16, else ``"32-true"``. Any other value is returned unchanged.
    """
    if precision is not None and str(precision) != AUTO:
        return precision
    on_cpu = str(accelerator).lower() == "cpu"
    return BF16 if not on_cpu and bf16_supported() else FULL


def resolve_pin_memory(pin_memory: bool | str | None) -> bool:
    """Tell whether DataLoaders should pin host memory: only ever when CUDA is available.

    ``"auto"`` (or ``None``) pins whenever a CUDA GPU is visible; ``False`` never pins.
    """
    if pin_memory not in (None, AUTO) and not isinstance(pin_memory, bool):
        raise InvalidValueError("pin_memory", pin_memory, "true, false or auto")
    return pin_memory is not False and torch.cuda.is_available()


def configure_matmul_precision() -> None:
    """Let float32 matrix products use TF32 tensor cores on CUDA GPUs (a no-op on CPU)."""
    if torch.cuda.is_available():
        torch.set_float32_matmul_precision("high")


def set_cpu_threads(threads: int | None) -> None:
    """Limit torch's intra-op CPU threads (``None`` keeps torch's default, one per core).

    Small models train faster on one thread: spreading tiny operations over several threads
    costs more in synchronisation than it saves, above all on a busy machine.
    """
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InvalidValueError("cpu_threads", threads, "a positive integer or null")
        torch.set_num_threads(threads)
