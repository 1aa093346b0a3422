"""Stop a diverging run at once: the first non-finite loss or gradient norm ends training.

``DivergenceGuard`` is one of the callbacks every training run gets. When the training loss,
or the total norm of the gradients, is NaN or infinite, it raises ``TrainingDivergedError``
with one line: the epoch and the step, the value, the last checkpoint whose weights are all
finite, and what to try. The entry point exits with status 3 (``DIVERGED_EXIT``) and the run
manifest records ``status: diverged`` with the step and the value.

How it stays cheap (the design, measured in docs/performance.md):

- **The loss every step, read without waiting for the GPU.** On the CPU the guard reads the
  loss at once (one ``item()``, a few microseconds). Reading a CUDA value on the host would
  make the CPU wait until the GPU has finished the step, which costs small models much of
  their speed; so on a CUDA device the guard copies the loss into a small pinned host buffer
  without blocking, records an event, and reads it at the end of the *next* step. By then the
  GPU has, as a rule, finished the step before, so nothing waits, and the CPU still runs a
  full step ahead. The run stops one step after the bad one, and at the same step in every
  process of a distributed run.
- **The gradient norm every ``gradients_every_n_steps`` steps** (10 by default; 1 checks every
  step, 0 never). Computing it is a dozen small operations, which in a real step (caches cold)
  cost small models more than the loss check (the gradient-norm monitor shares the same
  computation on its logging steps); a non-finite gradient between two checks makes the
  weights, and so the next step's loss, non-finite: the run still stops, one step later.
- **Everything checked before anything is saved.** Lightning runs the checkpoint callbacks
  after every other callback, so before each point where a checkpoint can be written (a
  validation's end, a training epoch's end, a step-based checkpoint) the guard reads the
  values still in flight and checks that every weight is finite. A value that went bad
  mid-epoch therefore stops the run before any checkpoint holds it: no ``last.ckpt`` and no
  "best" checkpoint with NaN weights. ``GracefulShutdown`` does not save non-finite weights
  either.

With a gradient scaler (``precision=16-mixed``) the gradient norm is not checked: the scaler
skips the steps whose gradients overflow, by design, and lowers its scale.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor

from ..errors import TrainingDivergedError
from ..validation import integer
from .gradients import step_grad_norm

CLIP_EXAMPLE = "trainer.gradient_clip_val=1.0"


def weights_finite(module: torch.nn.Module) -> bool:
    """Tell whether every parameter and floating-point buffer of ``module`` is finite.

    One host sync per device: meant for the points where checkpoints are saved, not steps.
    """
    by_device: dict[torch.device, list[Tensor]] = {}
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            by_device.setdefault(tensor.device, []).append(torch.isfinite(tensor).all())
    return all(bool(torch.stack(flags).all()) for flags in by_device.values())


def state_dict_finite(state_dict: Mapping[str, Any]) -> bool:
    """Tell whether every floating-point tensor of a checkpoint's ``state_dict`` is finite."""
    return all(
        bool(torch.isfinite(value).all())
        for value in state_dict.values()
        if isinstance(value, Tensor) and value.is_floating_point()
    )


def last_finite_checkpoint(directories: Iterable[Path]) -> Path | None:
    """Return the newest checkpoint in ``directories`` whose weights are all finite.

    Read only when a run has diverged: each candidate is memory-mapped, newest first.
    """
    candidates = sorted(
        {path for folder in directories if folder.is_dir() for path in folder.glob("*.ckpt")},
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for path in candidates:
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # unreadable or not a checkpoint: not a usable one
            continue
        if state_dict_finite(checkpoint.get("state_dict") or {}):
            return path
    return None


@dataclass
class _Pending:
    """Values of one step on their way to the host, in row ``row`` of the pinned buffer."""

    epoch: int
    step: int
    names: tuple[str, ...]
    row: int


class _HostBuffer:
    """Pinned host rows that CUDA values are copied into without blocking, with an event each."""

    ROWS = 4  # at most two steps are in flight: reading all but the newest keeps it so

    def __init__(self) -> None:
        self.values = torch.zeros((self.ROWS, 2), dtype=torch.float32, pin_memory=True)
        self.cells = [(self.values[row, 0], self.values[row, 1]) for row in range(self.ROWS)]
        self.events = [torch.cuda.Event() for _ in range(self.ROWS)]
        self.next = 0

    def send(self, values: list[Tensor]) -> int:
        """Start copying ``values`` (one or two scalars) to the next row; return the row."""
        row, self.next = self.next, (self.next + 1) % self.ROWS
        for cell, value in zip(self.cells[row], values, strict=False):
            cell.copy_(value.detach().float(), non_blocking=True)  # converted on the GPU
        self.events[row].record()
        return row

    def read(self, row: int, count: int) -> list[float]:
        """Wait for row ``row`` to land (done already, as a rule) and return its values."""
        self.events[row].synchronize()
        return [float(value) for value in self.values[row, :count].tolist()]


class DivergenceGuard(Callback):
    """Raise ``TrainingDivergedError`` at the first non-finite training loss or gradient norm.

    ``gradients_every_n_steps`` sets how often the gradient norm is checked (0: never);
    ``lr_key`` is the config key of the learning rate, for the hint (``model.lr``).
    """

    def __init__(self, *, gradients_every_n_steps: int = 10, lr_key: str | None = None) -> None:
        """Check the loss every step and the gradient norm every ``gradients_every_n_steps``."""
        self.gradients_every_n_steps = integer(
            "divergence.gradients_every_n_steps", gradients_every_n_steps, minimum=0
        )
        self.lr_key = lr_key
        self._pending: deque[_Pending] = deque()
        self._buffer: _HostBuffer | None = None
        self._grad_norm: Tensor | None = None
        self._step = 0
        self._scaled = False

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Find out whether a gradient scaler skips overflowing steps itself."""
        self._scaled = getattr(trainer.precision_plugin, "scaler", None) is not None
        self._pending.clear()

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        """Remember the optimizer step this batch belongs to (for the message)."""
        self._step = trainer.global_step

    def on_before_optimizer_step(
        self, trainer: Trainer, pl_module: LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        """On checking steps, compute the total gradient norm on the device (read with the loss)."""
        every = self.gradients_every_n_steps
        if every and not self._scaled and (trainer.global_step + 1) % every == 0:
            self._grad_norm = step_grad_norm(pl_module, trainer.global_step)

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Check the step's values: at once on the CPU; on a GPU when the next step ends."""
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        names: tuple[str, ...] = ()
        values: list[Tensor] = []
        if isinstance(loss, Tensor) and loss.numel() == 1:
            names, values = ("loss",), [loss]
        if self._grad_norm is not None:
            names, values = (*names, "gradient norm"), [*values, self._grad_norm]
            self._grad_norm = None
        if values and values[0].is_cuda:
            if self._buffer is None:
                self._buffer = _HostBuffer()
            row = self._buffer.send(values)
            self._pending.append(_Pending(trainer.current_epoch, self._step, names, row))
            self._check(trainer, pl_module, keep=0 if _checkpoint_may_save_now(trainer) else 1)
            return
        for name, value in zip(names, values, strict=True):
            number = value.item()  # on the host already: no wait
            if not math.isfinite(number):
                self._stop(trainer, trainer.current_epoch, self._step, name, number)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Check everything before the checkpoint callbacks save at a validation's end."""
        if not trainer.sanity_checking:
            self._check(trainer, pl_module, weights=True)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Check everything before the checkpoint callbacks save at an epoch's end."""
        self._check(trainer, pl_module, weights=True)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Check the last steps' values: a run that ends diverged does not end well."""
        self._check(trainer, pl_module)

    def _check(
        self, trainer: Trainer, pl_module: LightningModule, *, keep: int = 0, weights: bool = False
    ) -> None:
        """Read every pending step's values but the newest ``keep``; then, maybe, the weights."""
        while len(self._pending) > keep and self._buffer is not None:
            pending = self._pending.popleft()
            read = self._buffer.read(pending.row, len(pending.names))
            for name, value in zip(pending.names, read, strict=True):
                if not math.isfinite(value):
                    self._stop(trainer, pending.epoch, pending.step, name, value)
        if weights and not weights_finite(pl_module):
            self._stop(trainer, trainer.current_epoch, trainer.global_step, "weights", math.nan)

    def _stop(self, trainer: Trainer, epoch: int, step: int, what: str, value: float) -> None:
        self._pending.clear()
        folders = [Path(d) for d in _checkpoint_dirs(trainer)]
        last = last_finite_checkpoint(folders)
        raise TrainingDivergedError(
            epoch=epoch,
            step=step,
            what=what,
            value=value,
            last_checkpoint=str(last) if last else None,
            hint=self._hint(trainer),
        )

    def _hint(self, trainer: Trainer) -> str:
        rates = [group["lr"] for opt in trainer.optimizers for group in opt.param_groups]
        lower = f"lower {self.lr_key or 'the learning rate'}"
        if rates:
            lower += f" (now {rates[0]:.3g})"
        clip = trainer.gradient_clip_val
        clipping = (
            f"clip gradients ({CLIP_EXAMPLE})"
            if not clip
            else f"clip harder (trainer.gradient_clip_val={clip})"
        )
        return f"{lower}, or {clipping}; debug=anomaly names the operation that made it"


def _checkpoint_dirs(trainer: Trainer) -> list[str]:
    found = [getattr(cb, "dirpath", None) for cb in trainer.checkpoint_callbacks]
    return [str(folder) for folder in found if folder]


def _checkpoint_may_save_now(trainer: Trainer) -> bool:
    """Tell whether a checkpoint callback may save at the end of this training batch."""
    for callback in trainer.checkpoint_callbacks:
        if getattr(callback, "_train_time_interval", None) is not None:
            return True
        every = getattr(callback, "_every_n_train_steps", 0) or 0
        if every >= 1 and trainer.global_step % every == 0:
            return True
    return False
