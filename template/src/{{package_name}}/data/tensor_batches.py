"""In-memory data served a whole batch at a time: one index tensor per batch, no collation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

Batch = tuple[Tensor, Tensor]


class SizedIndices(Protocol):
    """What ``TensorBatchSampler`` batches: a sampler (or a list) of indices with a length."""

    def __iter__(self) -> Iterator[int]: ...

    def __len__(self) -> int: ...


class TensorBatchDataset(Dataset[Batch]):
    """Features and labels held as two tensors, indexed one batch of rows at a time.

    The DataLoader's batch sampler passes a batch of indices to ``__getitems__``, which returns
    the batch with one tensor index per tensor instead of collating ``batch_size`` samples.
    Pair it with ``TensorBatchSampler`` and ``collate_fn=keep_batch``.
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


class TensorBatchSampler(Sampler[Tensor]):
    """Group the indices of ``sampler`` into batches of ``batch_size``, one index tensor each.

    The same batches as ``torch.utils.data.BatchSampler``, but it reads the epoch's whole order
    once and yields slices of one tensor, where ``BatchSampler`` builds a Python list index by
    index and the dataset turns it back into a tensor: that costs as much per step as a small
    model's optimizer update. Its arguments are ``BatchSampler``'s, so under DDP Lightning
    rebuilds it around a ``DistributedSampler``.
    """

    def __init__(self, sampler: SizedIndices, batch_size: int, drop_last: bool) -> None:
        """Batch the indices of ``sampler``; ``drop_last`` drops a final short batch."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)

    def __len__(self) -> int:
        """Return the number of batches per epoch."""
        n_indices = len(self.sampler)
        if self.drop_last:
            return n_indices // self.batch_size
        return -(-n_indices // self.batch_size)

    def __iter__(self) -> Iterator[Tensor]:
        """Yield this epoch's batches of indices, as tensors."""
        order = torch.as_tensor(list(self.sampler), dtype=torch.long)
        if self.drop_last:
            order = order[: len(order) - len(order) % self.batch_size]
        return iter(order.split(self.batch_size))


def keep_batch(batch: Any) -> Any:
    """Collate function for ``TensorBatchDataset``: return the already assembled batch."""
    return batch
