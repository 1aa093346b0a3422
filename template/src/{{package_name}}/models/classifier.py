"""A LightningModule that trains a classifier network with cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lightning.pytorch import LightningModule
from torch import Tensor, nn

from ..registry import MODELS
from ..utils import optim
from ..utils.epoch_metrics import MacroAccuracy, WeightedMean
from ..utils.step_logging import loggers_write_this_step
from ..validation import fraction, int_list, positive_int
from .mlp import MLP

Batch = tuple[Tensor, Tensor]


@MODELS.register("mlp_classifier")
class ClassifierModule(LightningModule):
    """An MLP classifier with its loss, accuracy metrics, optimizer and LR schedule.

    Every argument is a plain number, string or list, saved with ``save_hyperparameters()``, so a
    checkpoint rebuilds the module with ``torch.load(..., weights_only=True)`` (no pickled
    objects). Logs the epoch metrics ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``,
    ``test/loss`` and ``test/acc``, and ``train/loss_step`` every ``log_every_n_steps`` steps.
    No step waits for the GPU: metrics accumulate on the device and are computed once per epoch.
    A bad argument raises ``InvalidValueError`` naming it (``model.lr``, one line at the CLI).
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
        input_dim = positive_int("input_dim", input_dim)
        num_classes = positive_int("num_classes", num_classes)
        # save_hyperparameters() reads the arguments' current values: store plain, checked ones.
        hidden_dims = int_list("hidden_dims", hidden_dims)
        dropout = fraction("dropout", dropout, open_high=True)
        settings = optim.check(optimizer, scheduler, lr, weight_decay)
        lr, weight_decay = settings["lr"], settings["weight_decay"]
        self.save_hyperparameters()
        self.net = MLP(input_dim, hidden_dims, num_classes, dropout)
        self.criterion = nn.CrossEntropyLoss()
        # Epoch metrics: updated every step on the model's device, logged once per epoch.
        self.train_loss = WeightedMean()
        self.val_loss = WeightedMean()
        self.test_loss = WeightedMean()
        self.train_acc = MacroAccuracy(num_classes)
        self.val_acc = MacroAccuracy(num_classes)
        self.test_acc = MacroAccuracy(num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Return class logits of shape ``(batch, num_classes)``."""
        return self.net(x)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Return the batch loss; log it as ``train/loss_step`` on the steps loggers write."""
        x, y = batch
        logits = self(x)
        loss = self.criterion(logits, y)
        self.train_loss.update(loss, len(y))
        self.train_acc.update(logits, y)
        if loggers_write_this_step(self.trainer, self.global_step):
            self.log("train/loss_step", loss, batch_size=len(y))
        return loss

    def on_train_epoch_end(self) -> None:
        """Log the epoch's ``train/loss`` (mean over samples) and ``train/acc``."""
        self.log("train/loss", self.train_loss)
        self.log("train/acc", self.train_acc)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        """Accumulate the batch's loss and accuracy for ``val/loss`` and ``val/acc``."""
        self._evaluate(batch, self.val_loss, self.val_acc)

    def on_validation_epoch_end(self) -> None:
        """Log ``val/loss`` and ``val/acc`` over the whole validation set."""
        self.log("val/loss", self.val_loss, prog_bar=True)
        self.log("val/acc", self.val_acc, prog_bar=True)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        """Accumulate the batch's loss and accuracy for ``test/loss`` and ``test/acc``."""
        self._evaluate(batch, self.test_loss, self.test_acc)

    def on_test_epoch_end(self) -> None:
        """Log ``test/loss`` and ``test/acc`` over the whole test set."""
        self.log("test/loss", self.test_loss, prog_bar=True)
        self.log("test/acc", self.test_acc, prog_bar=True)

    def _evaluate(self, batch: Batch, loss: WeightedMean, accuracy: MacroAccuracy) -> None:
        x, y = batch
        logits = self(x)
        loss.update(self.criterion(logits, y), len(y))
        accuracy.update(logits, y)

    def configure_optimizers(self) -> Any:
        """Build the optimizer named by ``optimizer`` and, optionally, a cosine LR schedule."""
        hp = self.hparams
        return optim.configure(
            self.parameters(),
            optimizer=hp["optimizer"],
            scheduler=hp["scheduler"],
            lr=hp["lr"],
            weight_decay=hp["weight_decay"],
            max_epochs=self.trainer.max_epochs,
        )
