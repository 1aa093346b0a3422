"""Activation statistics once per epoch: dead rectifier units and saturated squashing layers.

``ActivationStats`` (``debug=activations``) watches the first training batch of every epoch
through forward hooks on the activation modules (``nn.ReLU``, ``nn.GELU``, ``nn.Tanh``, ...)
and reports, per layer:

- ``dead``: for rectifiers (ReLU, LeakyReLU, GELU, SiLU, ELU, ...), the fraction of units whose
  input is at or below zero for every sample of the batch: they pass (almost) no gradient, and
  a unit that stays dead never learns again;
- ``saturated``: for squashing activations (Sigmoid, Tanh, Hardtanh, Softsign, ...), the
  fraction of outputs in the flat tails (``|output|`` within ``1 - threshold`` of the ends of
  the range), where the gradient vanishes.

A unit is a feature of the last dimension for 2-D and 3-D inputs (batch, [time,] features),
and a channel (dimension 1) for 4-D and 5-D ones (images, volumes). Activations called as
functions (``F.relu``) have no module to hook and are not seen. The other batches cost
nothing: the hooks exist during one batch an epoch. Results go to the loggers
(``activations/<layer>/dead``) and to the log, one line per layer.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor, nn

from ..validation import fraction

log = logging.getLogger(__name__)

RECTIFIERS = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Softplus,
)
# Squashing activations and the (low, high) ends of their output range.
SQUASHING: dict[type[nn.Module], tuple[float, float]] = {
    nn.Sigmoid: (0.0, 1.0),
    nn.Hardsigmoid: (0.0, 1.0),
    nn.Tanh: (-1.0, 1.0),
    nn.Softsign: (-1.0, 1.0),
    nn.Hardtanh: (-1.0, 1.0),  # its min_val and max_val are read from the module
}


def _unit_dim(tensor: Tensor) -> int:
    return 1 if tensor.dim() in (4, 5) else tensor.dim() - 1


def dead_fraction(inputs: Tensor) -> float:
    """Return the fraction of units whose input is <= 0 for every sample (see module doc)."""
    if inputs.dim() < 2:
        return float((inputs <= 0).all())
    dim = _unit_dim(inputs)
    units = inputs.detach().movedim(dim, -1).reshape(-1, inputs.shape[dim])
    return float((units <= 0).all(dim=0).float().mean())


def saturated_fraction(outputs: Tensor, low: float, high: float, threshold: float) -> float:
    """Return the fraction of outputs within ``1 - threshold`` of either end of their range."""
    centred = (2 * outputs.detach().float() - (high + low)) / (high - low)  # now in [-1, 1]
    return float((centred.abs() >= threshold).float().mean())


def _range(module: nn.Module) -> tuple[float, float] | None:
    if isinstance(module, nn.Hardtanh):
        return float(module.min_val), float(module.max_val)
    for kind, bounds in SQUASHING.items():
        if isinstance(module, kind):
            return bounds
    return None


class ActivationRecorder:
    """Forward hooks on every activation module of a model, and what they saw, by layer name.

    ``start()`` hooks, ``stop()`` unhooks; each forward pass in between overwrites its layer's
    entry in ``stats``: ``{"dead": ...}`` for rectifiers, ``{"saturated": ...}`` for
    squashing activations.
    """

    def __init__(self, model: nn.Module, threshold: float = 0.99) -> None:
        """Watch ``model``; outputs within ``1 - threshold`` of their range's ends saturate."""
        self.model = model
        self.threshold = threshold
        self.stats: dict[str, dict[str, float]] = {}
        self._handles: list[Any] = []

    def start(self) -> ActivationRecorder:
        """Install the hooks on the activation modules (the stats start empty)."""
        self.stats = {}
        for name, module in self.model.named_modules():
            if isinstance(module, RECTIFIERS) or _range(module) is not None:
                self._handles.append(module.register_forward_hook(partial(self._hook, name)))
        return self

    def stop(self) -> dict[str, dict[str, float]]:
        """Remove the hooks; return the stats."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return self.stats

    def _hook(self, name: str, module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        if isinstance(module, RECTIFIERS) and inputs and isinstance(inputs[0], Tensor):
            self.stats[name] = {"dead": dead_fraction(inputs[0])}
        bounds = _range(module)
        if bounds is not None and isinstance(output, Tensor):
            self.stats[name] = {"saturated": saturated_fraction(output, *bounds, self.threshold)}


class ActivationStats(Callback):
    """Report dead and saturated activations on the first training batch of every epoch."""

    def __init__(self, threshold: float = 0.99) -> None:
        """Count an output as saturated within ``1 - threshold`` of its range's ends."""
        self.threshold = fraction("callbacks.activation_stats.threshold", threshold, open_low=True)
        self._recorder: ActivationRecorder | None = None

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        """Install the activation hooks for the epoch's first batch."""
        if batch_idx == 0:
            self._recorder = ActivationRecorder(pl_module, self.threshold).start()

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Unhook, then report what the batch showed."""
        if self._recorder is None:
            return
        stats = self._recorder.stop()
        self._recorder = None
        self.report(trainer, stats)

    def report(self, trainer: Trainer, stats: dict[str, dict[str, float]]) -> None:
        """Log one line per layer, and write the fractions to the loggers."""
        if not stats:
            log.info("Activation stats: the model has no activation modules to watch.")
            return
        metrics = {
            f"activations/{layer}/{kind}": value
            for layer, values in stats.items()
            for kind, value in values.items()
        }
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)
        for layer, values in stats.items():
            shown = ", ".join(f"{kind} {value:.1%}" for kind, value in values.items())
            log.info("Activations, epoch %d, %s: %s", trainer.current_epoch, layer, shown)
