"""Train, validation and test splits that depend only on a seed, stratified when asked.

Stratified, each class is split in the same proportions, so a rare class is in every split
it can be in; the result is a pure function of the labels, the fractions and the seed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .seeding import derive_seed, make_generator

SPLITS = ("train", "val", "test")


def split_indices(
    n: int,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    labels: Tensor | None = None,
) -> dict[str, Tensor]:
    """Return the sorted indices of the three splits of ``n`` samples (stratified by labels)."""
    generator = make_generator(derive_seed(seed, "split"))
    if labels is None:
        groups = [torch.arange(n)]
    else:
        groups = [torch.nonzero(labels == value).flatten() for value in labels.unique(sorted=True)]
    parts: dict[str, list[Tensor]] = {name: [] for name in SPLITS}
    for group in groups:
        order = group[torch.randperm(len(group), generator=generator)]
        n_val = round(len(group) * val_fraction)
        n_test = round(len(group) * test_fraction)
        if n_val + n_test >= len(group):  # keep at least one sample of each group for training
            n_val, n_test = min(n_val, max(0, len(group) - 1)), 0
        parts["val"].append(order[:n_val])
        parts["test"].append(order[n_val : n_val + n_test])
        parts["train"].append(order[n_val + n_test :])
    return {name: torch.cat(chunks).sort().values for name, chunks in parts.items()}
