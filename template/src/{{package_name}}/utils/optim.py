"""Optimizers and learning-rate schedules chosen by name, as plain config values.

``configure(...)`` returns what ``LightningModule.configure_optimizers`` returns. The cosine
schedule anneals over ``trainer.max_epochs``; a run resumed with a larger ``max_epochs``
follows the new length from where it stopped, without the learning rate climbing back
(``run.callbacks.ScheduleFollowsMaxEpochs`` re-plans it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from ..validation import non_negative, one_of, positive_number

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("cosine", "none")


def check(optimizer: str, scheduler: str, lr: Any, weight_decay: Any) -> dict[str, Any]:
    """Validate the settings (``InvalidValueError`` names the bad one); return them typed."""
    return {
        "optimizer": one_of("optimizer", optimizer, OPTIMIZERS),
        "scheduler": one_of("scheduler", scheduler, SCHEDULERS),
        "lr": positive_number("lr", lr),
        "weight_decay": non_negative("weight_decay", weight_decay),
    }


def make_optimizer(
    name: str, params: Iterable[nn.Parameter], lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    """Build AdamW, Adam, or SGD with Nesterov momentum 0.9."""
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=0.9, weight_decay=weight_decay, nesterov=True
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def configure(
    params: Iterable[nn.Parameter],
    *,
    optimizer: str,
    scheduler: str,
    lr: float,
    weight_decay: float,
    max_epochs: int | None,
) -> Any:
    """Build the optimizer and, for ``scheduler="cosine"``, a cosine over ``max_epochs``."""
    built = make_optimizer(optimizer, params, lr, weight_decay)
    if scheduler == "none":
        return built
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(built, T_max=max(1, max_epochs or 0))
    return {"optimizer": built, "lr_scheduler": {"scheduler": cosine, "interval": "epoch"}}
