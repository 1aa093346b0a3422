"""Hyperparameters go to the loggers once per run, under names that cannot collide.

Lightning logs the model's and the datamodule's saved hyperparameters merged into one flat
namespace when each stage starts (fit, then test): a name both define with different values
stops the run, and so does a tracker that refuses to change a value it has logged (MLflow:
"Changing param values is not allowed") when a later stage logs another. Here they are logged
once, when the run's first stage starts: the run's ``seed``, the model's under
``model/<name>`` and the datamodule's under ``data/<name>`` (``data/seed`` is the dataset's own
seed). Lightning's own logging of them is turned off; a module saved with
``save_hyperparameters(logger=False)`` keeps its hyperparameters out of the loggers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightning.pytorch import Callback, LightningDataModule, LightningModule, Trainer

MODEL_PREFIX = "model"
DATA_PREFIX = "data"


def run_hyperparameters(
    seed: int | None, model: Mapping[str, Any], data: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the run's hyperparameters under names that cannot collide."""
    params: dict[str, Any] = {"seed": seed}
    params.update({f"{MODEL_PREFIX}/{key}": value for key, value in model.items()})
    params.update({f"{DATA_PREFIX}/{key}": value for key, value in data.items()})
    return params


def _loggable(module: LightningModule | LightningDataModule | None) -> dict[str, Any]:
    """Return what a module saved for the loggers, and stop Lightning from logging it itself."""
    if module is None or not getattr(module, "_log_hyperparams", True):
        return {}
    module._log_hyperparams = False
    return dict(module.hparams_initial)


class LogHyperparametersOnce(Callback):
    """Log the run's hyperparameters to every logger when the first stage starts, once."""

    def __init__(self, seed: int | None) -> None:
        """Log ``seed`` (the run's, ``cfg.seed``) beside the model's and the data's."""
        self.seed = seed
        self.logged = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Log the hyperparameters before Lightning would (it logs after ``setup``)."""
        # Lightning sets trainer.datamodule while fitting (it declares no such attribute).
        model, data = _loggable(pl_module), _loggable(getattr(trainer, "datamodule", None))
        if self.logged or not trainer.loggers:
            return
        params = run_hyperparameters(self.seed, model, data)
        for logger in trainer.loggers:
            logger.log_hyperparams(params)
        self.logged = True
