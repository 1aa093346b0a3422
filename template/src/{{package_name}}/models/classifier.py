"""A LightningModule that trains a classifier network with cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch import Tensor, nn
from torchmetrics.classification import MulticlassAccuracy

from ..registry import MODELS
from .mlp import MLP

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("cosine", "none")

Batch = tuple[Tensor, Tensor]


@MODELS.register("mlp_classifier")
class ClassifierModule(LightningModule):
    """An MLP classifier with its loss, accuracy metrics, optimizer and LR schedule.

    Every argument is a plain number, string or list, saved with ``save_hyperparameters()``, so a
    checkpoint rebuilds the module with ``torch.load(..., weights_only=True)`` (no pickled
    objects). Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``, ``test/loss`` and
    ``test/acc``.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        hidden_dims: Sequence[int] = (128, 128),
        dropout: float = 0.1,
        lr: float = 3e-3,
        weight_decay: float = 1e-2,
        optimizer: str = "adamw",
        scheduler: str = "cosine",
    ) -> None:
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        if scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {scheduler!r}; valid: {', '.join(SCHEDULERS)}")
        # save_hyperparameters() reads the arguments' current values: store a plain list.
        hidden_dims = [int(width) for width in hidden_dims]
        self.save_hyperparameters()
        self.net = MLP(input_dim, hidden_dims, num_classes, dropout)
        self.criterion = nn.CrossEntropyLoss()
        self.train_acc = MulticlassAccuracy(num_classes)
        self.val_acc = MulticlassAccuracy(num_classes)
        self.test_acc = MulticlassAccuracy(num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Return class logits of shape ``(batch, num_classes)``."""
        return self.net(x)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Return the batch loss; log loss (step and epoch) and epoch accuracy."""
        x, y = batch
        logits = self(x)
        loss = self.criterion(logits, y)
        self.train_acc(logits, y)
        self.log("train/loss", loss, on_step=True, on_epoch=True)
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        """Log epoch-level ``val/loss`` and ``val/acc``."""
        self._evaluate(batch, "val", self.val_acc)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        """Log epoch-level ``test/loss`` and ``test/acc``."""
        self._evaluate(batch, "test", self.test_acc)

    def _evaluate(self, batch: Batch, stage: str, accuracy: MulticlassAccuracy) -> None:
        x, y = batch
        logits = self(x)
        accuracy(logits, y)
        loss = self.criterion(logits, y)
        self.log(f"{stage}/loss", loss, on_epoch=True, prog_bar=True, sync_dist=True)
        self.log(f"{stage}/acc", accuracy, on_epoch=True, prog_bar=True)

    def configure_optimizers(self) -> Any:
        """Build the optimizer named by ``optimizer`` and, optionally, a cosine LR schedule."""
        hp = self.hparams
        params = self.parameters()
        optimizer: torch.optim.Optimizer
        if hp["optimizer"] == "sgd":
            optimizer = torch.optim.SGD(
                params, lr=hp["lr"], momentum=0.9, weight_decay=hp["weight_decay"], nesterov=True
            )
        elif hp["optimizer"] == "adam":
            optimizer = torch.optim.Adam(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
        else:
            optimizer = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
        if hp["scheduler"] == "none":
            return optimizer
        max_epochs = self.trainer.max_epochs or 0
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, max_epochs))
        schedule = {"scheduler": scheduler, "interval": "epoch"}
        return {"optimizer": optimizer, "lr_scheduler": schedule}
