"""An in-memory dataset that hands out whole batches, skipping per-sample collation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

Batch = tuple[Tensor, Tensor]


class TensorBatchDataset(Dataset[Batch]):
    """Features and labels held as two tensors, indexed one batch of rows at a time.

    The DataLoader's batch sampler passes a batch of indices to ``__getitems__``, which returns
    the batch with one tensor index per tensor instead of collating ``batch_size`` samples.
    Pair it with ``utils.sampling.TensorBatchSampler`` and ``collate_fn=keep_batch``.
    """

    def __init__(self, features: Tensor, labels: Tensor) -> None:
        if len(features) != len(labels):
            raise ValueError(f"{len(features)} feature rows but {len(labels)} labels")
        self.features = features
        self.labels = labels

    def __len__(self) -> int:
        """Return the number of samples."""
        return len(self.labels)

    def __getitem__(self, index: int) -> Batch:
        """Return one ``(features, label)`` sample."""
        return self.features[index], self.labels[index]

    def __getitems__(self, indices: Tensor | Sequence[int]) -> Batch:
        """Return the batch of rows ``indices`` (a tensor or a list) as ``(features, labels)``."""
        rows = torch.as_tensor(indices, dtype=torch.long)
        return self.features[rows], self.labels[rows]


def keep_batch(batch: Any) -> Any:
    """Collate function for ``TensorBatchDataset``: return the already assembled batch."""
    return batch
