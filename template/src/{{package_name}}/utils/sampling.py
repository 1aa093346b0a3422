"""Samplers: shuffling that depends only on (seed, epoch), and batches as index tensors.

A DataLoader with ``shuffle=True`` draws each epoch's order from one generator that advances
from epoch to epoch: after a restart the generator is back at its start, and epoch 3 of the
resumed run would replay epoch 1's order. ``EpochRandomSampler`` recomputes the order from the
seed and the epoch number, which Lightning passes to ``set_epoch`` before every epoch.
``TensorBatchSampler`` groups any sampler's indices into batches without per-index Python work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import TYPE_CHECKING, Protocol

import torch
from torch import Tensor
from torch.utils.data import RandomSampler, Sampler

from ..validation import positive_int
from .seeding import derive_seed, make_generator

if TYPE_CHECKING:
    from lightning.pytorch import Trainer


class EpochRandomSampler(RandomSampler):
    """A random permutation of the dataset per epoch, a pure function of ``(seed, epoch)``.

    It is a ``RandomSampler``, so under DDP Lightning swaps it for a ``DistributedSampler``,
    whose order is likewise a function of the run's seed and the epoch.
    """

    def __init__(self, data_source: Sized, seed: int, epoch: int = 0) -> None:
        """Shuffle ``data_source`` with ``seed``, starting at epoch ``epoch``."""
        super().__init__(data_source)
        self.seed = int(seed)
        self.epoch = int(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration yields (Lightning calls this)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        """Yield the indices of the dataset in this epoch's order."""
        return iter(self.permutation().tolist())

    def permutation(self) -> Tensor:
        """Return this epoch's order as one tensor (what ``TensorBatchSampler`` slices)."""
        generator = make_generator(derive_seed(self.seed, "epoch", str(self.epoch)))
        return torch.randperm(len(self.data_source), generator=generator)


def next_epoch(trainer: Trainer | None) -> int:
    """Return the epoch a trainer runs next: 0 for a fresh fit, the resumed one after a restore.

    Loaders with worker processes start fetching when they are created, before Lightning calls
    ``set_epoch``, so a sampler built for a resumed run must know its first epoch up front.
    """
    if trainer is None:
        return 0
    # Lightning passes the same number to set_epoch (epochs processed so far).
    progress = trainer.fit_loop.epoch_progress.current
    return int(getattr(progress, "processed", trainer.current_epoch))


class SizedIndices(Protocol):
    """What ``TensorBatchSampler`` batches: a sampler (or a list) of indices with a length."""

    def __iter__(self) -> Iterator[int]: ...

    def __len__(self) -> int: ...


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
        self.sampler = sampler
        self.batch_size = positive_int("batch_size", batch_size)
        self.drop_last = bool(drop_last)

    def __len__(self) -> int:
        """Return the number of batches per epoch."""
        n_indices = len(self.sampler)
        if self.drop_last:
            return n_indices // self.batch_size
        return -(-n_indices // self.batch_size)

    def __iter__(self) -> Iterator[Tensor]:
        """Yield this epoch's batches of indices, as tensors.

        The epoch's order is read at the first batch, not when the iterator is made: a resumed
        run's first iterator is made before Lightning calls ``set_epoch`` on a
        ``DistributedSampler``, which would otherwise replay epoch 0's order.
        """
        permutation = getattr(self.sampler, "permutation", None)
        if callable(permutation):  # the whole order as a tensor: no list of Python ints
            order = permutation()
        else:
            order = torch.as_tensor(list(self.sampler), dtype=torch.long)
        if self.drop_last:
            order = order[: len(order) - len(order) % self.batch_size]
        yield from order.split(self.batch_size)
