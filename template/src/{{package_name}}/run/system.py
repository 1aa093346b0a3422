"""The machine, visible: GPU utilisation and memory, CPU and RAM use, every ``interval_s``.

``SystemMonitor`` writes to the loggers, under ``system/``, every ``interval_s`` seconds of
training (30 by default; time-based, so a step costs one clock reading):

- ``gpu_utilization_percent``: how busy the training GPU was (NVML, through
  ``torch.cuda.utilization``, which needs the ``nvidia-ml-py`` package; else ``nvidia-smi``);
- ``gpu_allocated_gib``, ``gpu_reserved_gib``, ``gpu_peak_allocated_gib``,
  ``gpu_reserved_percent``: PyTorch's CUDA allocator (read without waiting for the GPU);
- ``process_cpu_percent`` (100 is one core busy) and ``process_rss_gib``: this process;
- ``cpu_percent`` and ``ram_used_percent``: the whole machine.

psutil is optional: when it is installed it provides the machine-wide numbers on every OS.
Without it they come from ``/proc`` on Linux (where GPU training runs); elsewhere they are left
out, with one warning that names ``pip install psutil``. The process's own CPU use comes from
``os.times`` everywhere. On CUDA variants the monitor is on by default
(``callbacks.system_monitor``); on CPU variants add it with ``callbacks=[default,system_monitor]``.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from ..validation import number

log = logging.getLogger(__name__)

GIB = 2**30
PREFIX = "system/"
SMI_TIMEOUT_S = 5


def _psutil() -> Any | None:
    try:
        return importlib.import_module("psutil")
    except ImportError:
        return None


def _proc_cpu_times() -> tuple[float, float] | None:
    """Return (busy, total) CPU time of the whole machine from /proc/stat (Linux)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [float(value) for value in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return sum(values) - idle, sum(values)


def _proc_ram_used_percent() -> float | None:
    """Return the share of RAM in use (MemTotal - MemAvailable) from /proc/meminfo (Linux)."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    info = {line.split(":")[0]: float(line.split()[1]) for line in lines if ":" in line}
    if "MemTotal" not in info or "MemAvailable" not in info:
        return None
    return 100.0 * (1.0 - info["MemAvailable"] / info["MemTotal"])


def _proc_rss_gib() -> float | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / GIB


class HostSampler:
    """CPU and RAM use since the previous sample: psutil if installed, else /proc, else less."""

    def __init__(self) -> None:
        """Take the first reading (CPU use is a difference between two readings)."""
        self.psutil = _psutil()
        self._process = self.psutil.Process() if self.psutil else None
        self._last_wall = time.monotonic()
        self._last_cpu = self._process_cpu_seconds()
        self._last_machine = _proc_cpu_times()
        if self.psutil:
            self.psutil.cpu_percent(interval=None)  # starts psutil's own interval

    def missing(self) -> list[str]:
        """Name the machine-wide metrics this sampler cannot read here."""
        if self.psutil or self._last_machine is not None:
            return []
        return ["cpu_percent", "ram_used_percent"]

    def sample(self) -> dict[str, float]:
        """Return the CPU use since the last sample, and the RAM in use now."""
        now, cpu = time.monotonic(), self._process_cpu_seconds()
        wall = max(now - self._last_wall, 1e-9)
        found = {"process_cpu_percent": 100.0 * (cpu - self._last_cpu) / wall}
        self._last_wall, self._last_cpu = now, cpu
        if self.psutil and self._process:
            found["cpu_percent"] = float(self.psutil.cpu_percent(interval=None))
            found["ram_used_percent"] = float(self.psutil.virtual_memory().percent)
            found["process_rss_gib"] = self._process.memory_info().rss / GIB
            return found
        machine = _proc_cpu_times()
        if machine is not None and self._last_machine is not None:
            busy, total = (a - b for a, b in zip(machine, self._last_machine, strict=True))
            found["cpu_percent"] = 100.0 * busy / total if total > 0 else 0.0
            self._last_machine = machine
        for key, value in (
            ("ram_used_percent", _proc_ram_used_percent()),
            ("process_rss_gib", _proc_rss_gib()),
        ):
            if value is not None:
                found[key] = value
        return found

    @staticmethod
    def _process_cpu_seconds() -> float:
        times = os.times()
        return times.user + times.system


def gpu_memory(device: torch.device) -> dict[str, float]:
    """Return PyTorch's allocator figures for ``device`` (no wait for the GPU)."""
    total = torch.cuda.get_device_properties(device).total_memory
    reserved = torch.cuda.memory_reserved(device)
    return {
        "gpu_allocated_gib": torch.cuda.memory_allocated(device) / GIB,
        "gpu_reserved_gib": reserved / GIB,
        "gpu_peak_allocated_gib": torch.cuda.max_memory_allocated(device) / GIB,
        "gpu_reserved_percent": 100.0 * reserved / total,
    }


def gpu_utilization(device: torch.device) -> float | None:
    """Return how busy ``device`` was lately, in percent (None when NVML cannot be read)."""
    try:
        return float(torch.cuda.utilization(device))
    except Exception:  # no nvidia-ml-py, or NVML refused: ask nvidia-smi
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    uuid = str(torch.cuda.get_device_properties(device).uuid)
    try:
        out = subprocess.run(
            [
                smi,
                f"--id=GPU-{uuid}",
                "--query-gpu=utilization.gpu",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=SMI_TIMEOUT_S,
            check=True,
        ).stdout
        return float(out.strip().splitlines()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


class SystemMonitor(Callback):
    """Log GPU, CPU and RAM use every ``interval_s`` seconds of training (see module doc)."""

    def __init__(self, interval_s: float = 30.0) -> None:
        """Sample every ``interval_s`` seconds (0: every step, for tests)."""
        self.interval_s = number("callbacks.system_monitor.interval_s", interval_s, minimum=0.0)
        self._next = 0.0
        self._host: HostSampler | None = None
        self._gpu_utilization = True

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Take the first reading; say once which numbers cannot be read here."""
        self._host = HostSampler()
        self._next = time.monotonic() + self.interval_s
        missing = self._host.missing()
        if missing:
            log.warning(
                "System monitor: %s need psutil on this OS (pip install psutil).",
                ", ".join(missing),
            )

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Log a sample when ``interval_s`` has passed since the last one."""
        now = time.monotonic()
        if now < self._next or self._host is None:
            return
        self._next = now + self.interval_s
        metrics = self._host.sample()
        device = pl_module.device
        if device.type == "cuda":
            metrics.update(gpu_memory(device))
            busy = gpu_utilization(device) if self._gpu_utilization else None
            if busy is None and self._gpu_utilization:
                self._gpu_utilization = False
                log.warning(
                    "System monitor: GPU utilisation cannot be read (no NVML, no nvidia-smi)."
                )
            if busy is not None:
                metrics["gpu_utilization_percent"] = busy
        logged = {PREFIX + key: value for key, value in metrics.items()}
        for logger in trainer.loggers:
            logger.log_metrics(logged, step=trainer.global_step)
