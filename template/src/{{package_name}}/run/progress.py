"""A Rich progress bar that redraws by the clock, not on every batch.

Lightning's ``RichProgressBar`` updates its task, collects the progress-bar metrics and asks
Rich to refresh at the end of every batch, whatever ``refresh_rate`` is (that only sets how
often Rich's own thread redraws). For a small model that work is a measurable share of a
training step. ``TimedRichProgressBar`` passes a batch's update on only when ``1 /
refresh_rate`` seconds have gone by since the last one, and always at the last batch of a
loop, so the bar looks the same and costs a clock reading per batch.
"""

from __future__ import annotations

import math
import time
from typing import Any

from lightning.pytorch.callbacks import RichProgressBar


class TimedRichProgressBar(RichProgressBar):
    """``RichProgressBar`` whose per-batch updates come at most ``refresh_rate`` times a second."""

    def __init__(self, refresh_rate: int = 4, **kwargs: Any) -> None:
        """Redraw at most ``refresh_rate`` times a second (``kwargs``: ``RichProgressBar``'s)."""
        super().__init__(refresh_rate=refresh_rate, **kwargs)
        self._next_update = 0.0

    def _due(self, batch_idx: int, total: float | int) -> bool:
        """Tell whether this batch's update is shown: time has come, or it is the last one."""
        now = time.monotonic()
        last = math.isfinite(total) and batch_idx + 1 >= total
        if now < self._next_update and not last:
            return False
        self._next_update = now + 1.0 / max(self.refresh_rate, 1)
        return True

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        """Update the training bar and its metrics when due."""
        if self._due(batch_index(args, kwargs), self.total_train_batches):
            super().on_train_batch_end(*args, **kwargs)

    def on_validation_batch_end(self, *args: Any, **kwargs: Any) -> None:
        """Update the validation bar when due."""
        total = self.total_val_batches_current_dataloader
        if self._due(batch_index(args, kwargs), total):
            super().on_validation_batch_end(*args, **kwargs)

    def on_test_batch_end(self, *args: Any, **kwargs: Any) -> None:
        """Update the test bar when due."""
        total = self.total_test_batches_current_dataloader
        if self._due(batch_index(args, kwargs), total):
            super().on_test_batch_end(*args, **kwargs)

    def on_predict_batch_end(self, *args: Any, **kwargs: Any) -> None:
        """Update the prediction bar when due."""
        total = self.total_predict_batches_current_dataloader
        if self._due(batch_index(args, kwargs), total):
            super().on_predict_batch_end(*args, **kwargs)


def batch_index(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """Return the ``batch_idx`` a ``*_batch_end`` hook was called with.

    Lightning passes it fifth: ``(trainer, module, outputs, batch, batch_idx, ...)``.
    """
    return int(kwargs["batch_idx"] if "batch_idx" in kwargs else args[4])
