"""Gradients you can see: the total gradient norm every logging step, per layer on request.

``GradNormMonitor`` writes ``train/grad_norm``, the norm of all gradients taken as one vector,
to the loggers on the steps they write (every ``trainer.log_every_n_steps``); the steps in
between cost nothing. It writes to the loggers directly rather than through ``self.log``,
whose bookkeeping costs a small model more than the norm itself; like any logged step value,
the norm is read on the host then (one wait for the GPU per logging step). ``per_layer=True``
adds each parameter's norm through Lightning's ``grad_norm`` utility
(``grad_2.0_norm/<name>``): a debugging switch, not a default.

The norms are taken in ``on_before_optimizer_step``: after the whole backward pass (and the
unscaling of mixed precision), before gradient clipping changes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from weakref import WeakKeyDictionary

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import grad_norm
from torch import Tensor

from ..utils.step_logging import loggers_write_this_step
from ..validation import boolean, number

TOTAL = "train/grad_norm"
# The norm each module's gradients had at its latest optimizer step: computed once a step for
# every callback that asks (the divergence guard and the monitor ask on the same steps).
_LATEST: WeakKeyDictionary[torch.nn.Module, tuple[int, float, Tensor]] = WeakKeyDictionary()


def total_grad_norm(parameters: Iterable[torch.nn.Parameter], norm_type: float = 2.0) -> Tensor:
    """Return the norm of all gradients as one vector, on their device, without a host sync.

    Parameters without a gradient are left out; with none at all the norm is 0.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    norms = torch._foreach_norm(grads, norm_type)
    device = norms[0].device
    return torch.linalg.vector_norm(
        torch.stack([n.to(device=device, dtype=torch.float32) for n in norms]), norm_type
    )


def step_grad_norm(module: torch.nn.Module, step: int, norm_type: float = 2.0) -> Tensor:
    """Return ``total_grad_norm`` of ``module`` at optimizer step ``step``, computed once."""
    cached = _LATEST.get(module)
    if cached is not None and cached[:2] == (step, norm_type):
        return cached[2]
    norm = total_grad_norm(module.parameters(), norm_type)
    _LATEST[module] = (step, norm_type, norm)
    return norm


class GradNormMonitor(Callback):
    """Log ``train/grad_norm`` every logging step; each parameter's norm with ``per_layer``."""

    def __init__(self, per_layer: bool = False, norm_type: float = 2.0) -> None:
        """Log the ``norm_type``-norm (2: Euclidean) of the gradients, per layer on request."""
        self.per_layer = boolean("callbacks.grad_norm.per_layer", per_layer)
        self.norm_type = number("callbacks.grad_norm.norm_type", norm_type, above=0.0)

    def on_before_optimizer_step(
        self, trainer: Trainer, pl_module: LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        """On the steps the loggers write, write the norms of the complete gradients."""
        if not trainer.loggers or not loggers_write_this_step(trainer, trainer.global_step):
            return
        total = step_grad_norm(pl_module, trainer.global_step, self.norm_type)
        metrics = {TOTAL: total.item()}
        if self.per_layer:
            layers = grad_norm(pl_module, norm_type=self.norm_type)
            metrics.update({name: float(value) for name, value in layers.items()})
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)
