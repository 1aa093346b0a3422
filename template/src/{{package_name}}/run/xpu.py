"""Train on an Intel GPU: a Lightning accelerator for torch's ``xpu`` devices.

Lightning 2.5 and 2.6 ship no XPU accelerator (``accelerator="xpu"`` is refused, and ``auto``
picks the CPU on an Intel GPU machine). ``trainer=xpu`` uses ``XPUAccelerator`` with a single
device strategy on ``xpu:0``; it refuses to start where ``torch.xpu.is_available()`` is false.
Multi-GPU XPU training is not configured here.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.accelerators import Accelerator

from ..errors import ConfigError

NAME = "xpu"
PACKAGE = (__package__ or __name__).split(".")[0]


def xpu_available() -> bool:
    """Tell whether this torch build has the XPU backend and sees an Intel GPU."""
    xpu = getattr(torch, "xpu", None)
    return bool(xpu is not None and xpu.is_available())


def xpu_device_count() -> int:
    """Return the number of Intel GPUs torch sees (0 without the XPU backend)."""
    return int(torch.xpu.device_count()) if xpu_available() else 0


def parse_xpu_devices(devices: int | str | list[int]) -> list[int]:
    """Turn the Trainer's ``devices`` into one XPU index: 1, "1", -1, "auto" or [N] -> [N]."""
    count = xpu_device_count()
    if devices in ("auto", -1, "-1"):
        devices = 1
    if isinstance(devices, list):
        indexes = [int(index) for index in devices]
    else:
        try:
            indexes = list(range(int(devices)))
        except ValueError:
            raise ConfigError(f"trainer.devices={devices!r} is not valid: expected 1") from None
    if len(indexes) != 1:
        raise ConfigError(
            f"trainer.devices={devices!r}: trainer=xpu trains on one Intel GPU: set devices=1"
        )
    if not 0 <= indexes[0] < count:
        raise ConfigError(
            f"trainer.devices={devices!r}: torch sees {count} Intel GPU(s): "
            f"python -m {PACKAGE}.doctor says why"
        )
    return indexes


class XPUAccelerator(Accelerator):
    """Lightning accelerator for one Intel GPU (``torch.xpu``)."""

    def setup_device(self, device: torch.device) -> None:
        """Make ``device`` the current XPU device."""
        if device.type != NAME:
            raise ConfigError(f"trainer=xpu got device {device}: expected an xpu device")
        torch.xpu.set_device(device)

    def get_device_stats(self, device: Any) -> dict[str, Any]:
        """Return the device's memory statistics (``DeviceStatsMonitor``)."""
        stats: dict[str, Any] = torch.xpu.memory_stats(device)
        return stats

    def teardown(self) -> None:
        """Release cached device memory."""
        if xpu_available():
            torch.xpu.empty_cache()

    @staticmethod
    def parse_devices(devices: int | str | list[int]) -> list[int]:
        """Return the XPU indexes the Trainer's ``devices`` names."""
        return parse_xpu_devices(devices)

    @staticmethod
    def get_parallel_devices(devices: int | str | list[int]) -> list[torch.device]:
        """Return the torch devices of the Trainer's ``devices``."""
        return [torch.device(NAME, index) for index in parse_xpu_devices(devices)]

    @staticmethod
    def auto_device_count() -> int:
        """Return how many Intel GPUs ``devices=auto`` means (one: see the module docstring)."""
        return min(1, xpu_device_count())

    @staticmethod
    def is_available() -> bool:
        """Tell whether torch sees an Intel GPU."""
        return xpu_available()

    @staticmethod
    def name() -> str:
        """Return the accelerator's name."""
        return NAME

    @classmethod
    def register_accelerators(cls, accelerator_registry: Any) -> None:
        """Register as ``xpu`` (so ``accelerator: xpu`` works once this module is imported)."""
        accelerator_registry.register(NAME, cls, description=cls.__name__)
