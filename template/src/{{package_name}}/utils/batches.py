"""In-memory datasets served a whole batch at a time, and the DataLoaders that serve them.

``TensorBatchDataset`` holds features and labels as tensors and returns a batch of rows per
index tensor; ``shuffled_loader`` and ``ordered_loader`` pair it with the batch samplers of
``utils.sampling`` so that a step costs one tensor index instead of ``batch_size`` Python-level
fetches and a collate. The shuffled order of an epoch depends only on the seed and the epoch,
so a resumed run trains on the same batches as one that was never interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, SequentialSampler

from .hardware import resolve_pin_memory
from .sampling import EpochRandomSampler, TensorBatchSampler, next_epoch
from .seeding import derive_seed, make_generator, worker_init_fn

if TYPE_CHECKING:
    from lightning.pytorch import Trainer

Batch = tuple[Tensor, Tensor]


class TensorBatchDataset(Dataset[Batch]):
    """Features and labels held as two tensors, indexed one batch of rows at a time.

    The DataLoader's batch sampler passes a batch of indices to ``__getitems__``, which returns
    the batch with one tensor index per tensor instead of collating ``batch_size`` samples.
    Pair it with ``utils.sampling.TensorBatchSampler`` and ``collate_fn=keep_batch`` (the
    loaders below do).
    """

    def __init__(self, features: Tensor, labels: Tensor) -> None:
        """Hold ``features`` and ``labels`` (the same number of rows)."""
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


def tensor_batch_loader(
    dataset: TensorBatchDataset,
    sampler: Sampler[int],
    *,
    batch_size: int,
    num_workers: int = 0,
    pin_memory: bool | str | None = "auto",
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> DataLoader[Batch]:
    """Return a DataLoader of whole batches: ``sampler``'s order cut into index tensors.

    ``pin_memory`` is ``true``, ``false`` or ``auto`` (pinned only where a CUDA GPU is
    visible); worker processes, when asked for, stay alive between epochs and are seeded.
    """
    batches = TensorBatchSampler(sampler, batch_size, drop_last=drop_last)  # type: ignore[arg-type]
    return DataLoader(
        dataset,
        # torch's annotation asks for lists of indices; the dataset takes index tensors.
        batch_sampler=batches,  # type: ignore[arg-type]
        generator=generator,
        collate_fn=keep_batch,
        num_workers=num_workers,
        pin_memory=resolve_pin_memory(pin_memory),
        persistent_workers=num_workers > 0,
        worker_init_fn=worker_init_fn if num_workers > 0 else None,
    )


def shuffled_loader(
    dataset: TensorBatchDataset,
    *,
    seed: int,
    trainer: Trainer | None,
    batch_size: int,
    num_workers: int = 0,
    pin_memory: bool | str | None = "auto",
) -> DataLoader[Batch]:
    """Return training batches in an order that is a function of ``(seed, epoch)`` only.

    ``trainer`` (the datamodule's) tells which epoch a resumed run starts at.
    """
    shuffle_seed = derive_seed(seed, "shuffle")
    sampler = EpochRandomSampler(dataset, shuffle_seed, epoch=next_epoch(trainer))
    return tensor_batch_loader(
        dataset,
        sampler,
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=pin_memory,
        generator=make_generator(shuffle_seed),
    )


def ordered_loader(
    dataset: TensorBatchDataset,
    *,
    batch_size: int,
    num_workers: int = 0,
    pin_memory: bool | str | None = "auto",
) -> DataLoader[Batch]:
    """Return evaluation batches in the dataset's own, fixed order."""
    return tensor_batch_loader(
        dataset,
        SequentialSampler(dataset),
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )
