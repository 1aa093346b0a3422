"""A CUDA memory snapshot of the first training steps, for ``debug=memory``.

``CudaMemorySnapshot`` records every allocation and free of PyTorch's CUDA caching allocator,
with the Python stack that made it, from the start of training until ``steps`` optimizer steps
are done, and writes the history to a file (``memory_snapshot.pickle`` in the run directory).
The snapshot is also written when the run fails, above all when it runs out of memory: it then
shows what held the memory. Open it by dropping the file on https://pytorch.org/memory_viz
(in the browser, nothing is uploaded): "Active Memory Timeline" shows each tensor's life,
"Allocator State History" the allocator's segments.

It needs a CUDA GPU: on any other device the run stops before training with one line that
says so (a snapshot of nothing would look like a success).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from ..errors import ConfigError
from ..validation import positive_int

log = logging.getLogger(__name__)


class CudaMemorySnapshot(Callback):
    """Record the CUDA allocator's history for the first ``steps`` steps; write it to ``path``."""

    def __init__(self, path: str | Path, steps: int = 10, max_entries: int = 100_000) -> None:
        """Write to ``path`` after ``steps`` steps, keeping the last ``max_entries`` events."""
        self.path = Path(path)
        self.steps = positive_int("callbacks.memory_snapshot.steps", steps)
        self.max_entries = positive_int("callbacks.memory_snapshot.max_entries", max_entries)
        self._recording = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Refuse to start unless training runs on a CUDA GPU."""
        device = trainer.strategy.root_device
        if device.type != "cuda":
            visible = torch.cuda.is_available()
            fix = "add trainer=gpu" if visible else "run it on a machine with a CUDA GPU"
            raise ConfigError(
                f"debug=memory records a CUDA memory snapshot, and this run trains on the "
                f"{device.type} (torch.cuda.is_available() is {visible}): {fix}; on the CPU, "
                "debug=profiler records the memory of each operator"
            )

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Start recording allocations (with their stacks)."""
        torch.cuda.memory._record_memory_history(max_entries=self.max_entries)
        self._recording = True

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Write the snapshot once ``steps`` steps are done."""
        if self._recording and trainer.global_step >= self.steps:
            self._dump()

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Write the snapshot of a run shorter than ``steps``."""
        if self._recording:
            self._dump()

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        """Write what the allocator held when the run failed (an out-of-memory error)."""
        if self._recording:
            self._dump()

    def _dump(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torch.cuda.memory._dump_snapshot(str(self.path))
        torch.cuda.memory._record_memory_history(enabled=None)
        self._recording = False
        log.info("CUDA memory snapshot: %s (open it at https://pytorch.org/memory_viz)", self.path)
