"""Epoch metrics updated every step without waiting for the GPU, computed once per epoch.

``torchmetrics.MeanMetric`` checks every value for NaN and ``MulticlassAccuracy`` counts with
``torch.bincount``; on a GPU both copy a number to the host on every ``update``, which stalls the
training loop until the GPU catches up. These two keep their counts on the device instead; like
any ``torchmetrics.Metric`` they are summed over processes in ``compute`` and cleared by ``reset``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


class WeightedMean(Metric):
    """Mean of per-batch values, each weighted by its batch size (e.g. an epoch's mean loss)."""

    is_differentiable = False
    higher_is_better = None
    full_state_update = False
    total: Tensor
    weight: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("weight", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, value: Tensor, weight: int) -> None:
        """Add the value of one batch of ``weight`` samples."""
        # In place: no new tensors, no attribute assignment (costly on a Module) per step.
        self.total.add_(value.detach(), alpha=weight)
        self.weight.add_(weight)

    def compute(self) -> Tensor:
        """Return the weighted mean (NaN when nothing was added)."""
        return self.total / self.weight


class MacroAccuracy(Metric):
    """Accuracy averaged over classes: ``MulticlassAccuracy(num_classes)``'s value, sync-free.

    Each class scores the fraction of its samples predicted correctly; classes that neither
    occur in the targets nor are predicted are left out of the average.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    confusion: Tensor
    _one: Tensor

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        # confusion[target, prediction]: the number of samples of each pair.
        zeros = torch.zeros(num_classes, num_classes, dtype=torch.long)
        self.add_state("confusion", default=zeros, dist_reduce_fx="sum")
        self.register_buffer("_one", torch.ones((), dtype=torch.long), persistent=False)

    def update(self, logits: Tensor, target: Tensor) -> None:
        """Count one batch: ``logits`` of shape ``(batch, num_classes)``, integer ``target``."""
        # One accumulating scatter into the confusion matrix (no bincount: no copy to the host).
        self.confusion.index_put_((target, logits.argmax(dim=1)), self._one, accumulate=True)

    def compute(self) -> Tensor:
        """Return the mean over the classes seen of each class's accuracy."""
        support = self.confusion.sum(dim=1)
        predicted = self.confusion.sum(dim=0)
        recall = self.confusion.diagonal() / support.clamp(min=1)
        seen = ((support + predicted) > 0).float()
        return (recall * seen).sum() / seen.sum()
