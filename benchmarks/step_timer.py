"""A Lightning callback that times training steps, for ``loop_ratio.py``.

``loop_ratio.py`` adds it to the project's ``callbacks`` config, so Hydra builds it by its import
path (``step_timer.StepTimer``) inside the project's own ``train()``. The last one built is
``StepTimer.latest``.
"""

from __future__ import annotations

import copy
import time
from typing import Any, ClassVar

import torch
from lightning.pytorch import Callback, LightningModule, Trainer


def gpu_utilization() -> float | None:
    """The GPU's utilisation in percent over its last sample period, None if unreadable."""
    try:
        return float(torch.cuda.utilization())
    except Exception:  # no GPU, no NVML, or no pynvml
        return None


class StepTimer(Callback):
    """Times training batches ``warmup`` to ``warmup + steps - 1`` of the first epoch.

    The clock is read at the start of batch ``warmup`` and at the start of batch
    ``warmup + steps`` (after waiting for the GPU), so each timed step includes fetching the
    batch, forward, backward, the optimizer step, logging and every callback. It also keeps what
    a plain loop needs to repeat the same work: the initial weights, the optimizer and the device.
    """

    latest: ClassVar[StepTimer | None] = None

    def __init__(self, warmup: int, steps: int) -> None:
        """Time ``steps`` steps after ``warmup`` untimed ones."""
        self.warmup = int(warmup)
        self.steps = int(steps)
        self.seconds: float | None = None
        self.utilization: float | None = None
        self.initial_state: dict[str, torch.Tensor] = {}
        self.optimizer: torch.optim.Optimizer | None = None
        self.device = torch.device("cpu")
        self._start = 0.0
        StepTimer.latest = self

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Keep the weights before the first step, the optimizer and the device."""
        self.initial_state = copy.deepcopy(pl_module.state_dict())
        self.optimizer = trainer.optimizers[0]
        self.device = pl_module.device

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        """Start the clock at batch ``warmup``; stop it at batch ``warmup + steps``."""
        if trainer.current_epoch != 0 or batch_idx not in (self.warmup, self.warmup + self.steps):
            return
        if batch_idx == self.warmup + self.steps and self.device.type == "cuda":
            self.utilization = gpu_utilization()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        if batch_idx == self.warmup:
            self._start = time.perf_counter()
        else:
            self.seconds = time.perf_counter() - self._start
