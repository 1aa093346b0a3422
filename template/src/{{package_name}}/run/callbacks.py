"""Callbacks every training run gets, whatever its config: exact resumes and early errors.

- ``RngStateCheckpoint`` stores the global random generators in every checkpoint and restores
  them on resume (Lightning restores the model, optimizer, LR schedule, loops and callbacks).
- ``RegistryNamesCheckpoint`` records the registry names of the model and the datamodule, so
  a checkpoint alone rebuilds both (``evaluate``, and any later use of the checkpoint).
- ``MonitoredMetricCheck`` stops the run with one line at the first validation that does not
  log the monitored metric, naming the metrics that were logged.
- ``ScheduleFollowsMaxEpochs``: a run resumed with another ``max_epochs`` re-plans the
  learning-rate schedules that end with training, from the current learning rate over the
  epochs left, so the rate never climbs back up.
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from torch.optim.lr_scheduler import CosineAnnealingLR

from ..errors import ConfigError
from ..utils.seeding import rng_state, set_rng_state


class RngStateCheckpoint(Callback):
    """Save the global random generators' state in checkpoints; restore it on resume."""

    def state_dict(self) -> dict[str, Any]:
        """Return the generators' state (Lightning stores it in the checkpoint)."""
        return rng_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the generators from a checkpoint's state."""
        if state_dict:
            set_rng_state(state_dict)


class RegistryNamesCheckpoint(Callback):
    """Record in every checkpoint the registry names its model and datamodule were built from."""

    KEY = "registry_names"

    def __init__(self, model: str, datamodule: str) -> None:
        """Record ``model`` (``model.name``) and ``datamodule`` (``data.name``)."""
        self.names = {"model": str(model), "datamodule": str(datamodule)}

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Add the names under ``checkpoint["registry_names"]`` (plain strings)."""
        checkpoint[self.KEY] = dict(self.names)


def registry_names(checkpoint: dict[str, Any]) -> dict[str, str]:
    """Return the names a checkpoint records (empty for checkpoints made before they were)."""
    names = checkpoint.get(RegistryNamesCheckpoint.KEY)
    return dict(names) if isinstance(names, dict) else {}


class MonitoredMetricCheck(Callback):
    """Fail at the first real validation when the model does not log the monitored metric.

    Without it, the checkpoint and early-stopping callbacks fail with their own messages, or
    a sweep finds out only at the end. Place it before them in the callback list.
    """

    def __init__(self, metric: str) -> None:
        """Check that ``metric`` (``monitor.metric``) is logged."""
        self.metric = metric
        self._checked = False

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Raise ``ConfigError`` naming the logged metrics when the monitored one is missing."""
        if trainer.sanity_checking or self._checked:
            return
        self._checked = True
        if self.metric not in trainer.callback_metrics:
            logged = ", ".join(sorted(trainer.callback_metrics)) or "(none)"
            raise ConfigError(
                f"monitor.metric={self.metric!r} is not among the metrics the model logs "
                f"({logged}): set monitor.metric and monitor.mode in the model or experiment "
                "config"
            )


class ScheduleFollowsMaxEpochs(Callback):
    """Re-plan epoch schedules that end with training when a resume changes ``max_epochs``.

    The checkpoint records the ``max_epochs`` it was trained towards. When a run resumes with
    another value, every per-epoch ``CosineAnnealingLR`` that was planned to end then is
    re-planned: it starts from the current learning rate and anneals over the epochs left, so
    training further never restarts the schedule. A scheduler of your own can take part by
    defining ``follow_max_epochs(epochs_done, max_epochs)``. Per-step schedules sized by the
    number of steps (``OneCycleLR``) are left alone: warm-start a new run instead.
    """

    def __init__(self) -> None:
        """Start with nothing restored."""
        self._max_epochs: int | None = None
        self._restored_max_epochs: int | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Remember the ``max_epochs`` this run trains towards (saved in its checkpoints)."""
        self._max_epochs = trainer.max_epochs

    def state_dict(self) -> dict[str, Any]:
        """Return the ``max_epochs`` the checkpoint's schedule was planned for."""
        return {"max_epochs": self._max_epochs}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Keep the checkpoint's ``max_epochs`` to compare with this run's."""
        self._restored_max_epochs = state_dict.get("max_epochs")

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """After the checkpoint is restored: re-plan when ``max_epochs`` changed."""
        before, now = self._restored_max_epochs, trainer.max_epochs
        if before is None or now is None or now < 0 or before == now:
            return
        done = trainer.current_epoch
        for config in trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            follow = getattr(scheduler, "follow_max_epochs", None)
            if callable(follow):
                follow(done, now)
            elif isinstance(scheduler, CosineAnnealingLR) and config.interval == "epoch":
                _replan_cosine(scheduler, done, before, now)


def _replan_cosine(scheduler: CosineAnnealingLR, done: int, before: int, now: int) -> None:
    """Re-plan a cosine that was to end at epoch ``before`` so that it ends at ``now``.

    The new cosine starts from the rate the last trained epoch used (after a finished
    schedule the optimizer already holds its final rate, usually 0) and anneals from there to
    ``eta_min`` over the epochs left, so every added epoch trains a little slower than the one
    before it.
    """
    planned_end = done - scheduler.last_epoch + scheduler.T_max
    if planned_end != before or now <= done or scheduler.last_epoch < 1:
        return
    low, length = scheduler.eta_min, now - done + 1
    # The rates of the last trained epoch: the cosine's closed form one step back.
    step = math.cos(math.pi * (scheduler.last_epoch - 1) / scheduler.T_max)
    anchors = [low + (base - low) * (1 + step) / 2 for base in scheduler.base_lrs]
    scheduler.base_lrs = anchors
    scheduler.T_max = length
    scheduler.last_epoch = 1  # the anchor is epoch 0 of the new cosine; the next epoch is 1
    following = [low + (a - low) * (1 + math.cos(math.pi / length)) / 2 for a in anchors]
    for group, rate in zip(scheduler.optimizer.param_groups, following, strict=True):
        group["lr"] = rate
    scheduler._last_lr = list(following)  # what get_last_lr() reports until the next step
