"""What a supervised model needs besides its network: loss, epoch metrics, logging, optimizer.

Subclass ``SupervisedModule``, call ``super().__init__(...)`` with the task and the optimizer
settings, then ``self.save_hyperparameters()`` and build ``self.net``; ``forward`` maps a
batch's inputs to outputs: class logits ``(batch, classes)`` for classification, values
``(batch,)`` or ``(batch, 1)`` for regression. Batches are ``(inputs, targets)``.

Logged, once per epoch, computed on the device without waiting for it at every step:
``{train,val,test}/loss`` (cross-entropy or mean squared error) and ``{train,val,test}/acc``
(classes' mean accuracy) or ``{train,val,test}/mae``; ``train/loss_step`` on the steps the
loggers keep.
"""

from __future__ import annotations

from typing import Any, cast

from lightning.pytorch import LightningModule
from torch import Tensor, nn

from ..validation import one_of, positive_int
from . import optim
from .epoch_metrics import MacroAccuracy, WeightedMean
from .step_logging import loggers_write_this_step

TASKS = ("classification", "regression")
STAGES = ("train", "val", "test")


class SupervisedModule(LightningModule):
    """Loss, metrics and optimization around ``self.net``, for classification or regression."""

    net: nn.Module

    def __init__(
        self,
        *,
        task: str,
        num_outputs: int,
        lr: Any,
        weight_decay: Any,
        optimizer: str,
        scheduler: str,
    ) -> None:
        """Check the settings (``InvalidValueError`` names a bad one) and make the metrics."""
        super().__init__()
        self.task = one_of("task", task, TASKS)
        self.num_outputs = positive_int("num_classes", num_outputs)
        self.optim_settings = optim.check(optimizer, scheduler, lr, weight_decay)
        self.criterion: nn.Module = (
            nn.CrossEntropyLoss() if self.task == "classification" else nn.MSELoss()
        )
        # Keyed "<stage>_loss": a ModuleDict key cannot be "train" (a method of nn.Module).
        self.losses = nn.ModuleDict({f"{stage}_loss": WeightedMean() for stage in STAGES})
        self.scores = nn.ModuleDict(
            {
                f"{stage}_score": MacroAccuracy(self.num_outputs)
                if self.task == "classification"
                else WeightedMean()
                for stage in STAGES
            }
        )
        self.score_name = "acc" if self.task == "classification" else "mae"

    def outputs(self, inputs: Any) -> Tensor:
        """Return the network's outputs; regression outputs flattened to ``(batch,)``."""
        out: Tensor = self(inputs)
        return out.squeeze(-1) if self.task == "regression" else out

    def training_step(self, batch: tuple[Any, Tensor], batch_idx: int) -> Tensor:
        """Return the batch loss; log it as ``train/loss_step`` on the steps loggers write."""
        loss = self._step(batch, "train")
        if loggers_write_this_step(self.trainer, self.global_step):
            self.log("train/loss_step", loss, batch_size=len(batch[1]))
        return loss

    def validation_step(self, batch: tuple[Any, Tensor], batch_idx: int) -> None:
        """Accumulate the batch into ``val/loss`` and the validation score."""
        self._step(batch, "val")

    def test_step(self, batch: tuple[Any, Tensor], batch_idx: int) -> None:
        """Accumulate the batch into ``test/loss`` and the test score."""
        self._step(batch, "test")

    def predict_step(self, batch: Any, batch_idx: int) -> Tensor:
        """Class probabilities (classification) or values (regression) of a batch's inputs."""
        inputs = batch[0] if isinstance(batch, tuple | list) else batch
        out = self.outputs(inputs)
        return out.softmax(dim=-1) if self.task == "classification" else out

    def on_train_epoch_end(self) -> None:
        """Log the epoch's ``train/loss`` and training score."""
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        """Log ``val/loss`` and the validation score over the whole validation set."""
        self._log_epoch("val", prog_bar=True)

    def on_test_epoch_end(self) -> None:
        """Log ``test/loss`` and the test score over the whole test set."""
        self._log_epoch("test", prog_bar=True)

    def configure_optimizers(self) -> Any:
        """Build the optimizer and, optionally, a cosine LR schedule over ``max_epochs``."""
        return optim.configure(
            self.parameters(), max_epochs=self.trainer.max_epochs, **self.optim_settings
        )

    def _step(self, batch: tuple[Any, Tensor], stage: str) -> Tensor:
        inputs, targets = batch
        out = self.outputs(inputs)
        if self.task == "regression":
            targets = targets.to(out.dtype)
        loss: Tensor = self.criterion(out, targets)
        self._loss(stage).update(loss, len(targets))
        score = self._score(stage)
        if isinstance(score, MacroAccuracy):
            score.update(out, targets)
        else:
            score.update((out.detach() - targets).abs().mean(), len(targets))
        return loss

    def _log_epoch(self, stage: str, prog_bar: bool = False) -> None:
        self.log(f"{stage}/loss", self._loss(stage), prog_bar=prog_bar)
        self.log(f"{stage}/{self.score_name}", self._score(stage), prog_bar=prog_bar)

    def _loss(self, stage: str) -> WeightedMean:
        return cast(WeightedMean, self.losses[f"{stage}_loss"])

    def _score(self, stage: str) -> MacroAccuracy | WeightedMean:
        return cast(MacroAccuracy | WeightedMean, self.scores[f"{stage}_score"])
