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
        self.total += value.detach().float() * weight
        self.weight += weight

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
    correct: Tensor
    support: Tensor
    predicted: Tensor

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        for name in ("correct", "support", "predicted"):
            zeros = torch.zeros(num_classes, dtype=torch.long)
            self.add_state(name, default=zeros, dist_reduce_fx="sum")

    def update(self, logits: Tensor, target: Tensor) -> None:
        """Count one batch: ``logits`` of shape ``(batch, num_classes)``, integer ``target``."""
        preds = logits.argmax(dim=1)
        ones = torch.ones_like(target, dtype=torch.long)
        self.support.index_add_(0, target, ones)
        self.predicted.index_add_(0, preds, ones)
        self.correct.index_add_(0, target, (preds == target).long())

    def compute(self) -> Tensor:
        """Return the mean over the classes seen of each class's accuracy."""
        recall = self.correct / self.support.clamp(min=1)
        seen = ((self.support + self.predicted) > 0).float()
        return (recall * seen).sum() / seen.sum()
