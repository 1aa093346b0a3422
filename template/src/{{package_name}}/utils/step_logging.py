"""Which training steps Lightning writes to the loggers, so a step logs only when it is kept.

``self.log`` in a training step costs about as much as a small model's forward pass; calling
it only on the steps the loggers keep (every ``trainer.log_every_n_steps``) saves that cost
on every other step.
"""

from __future__ import annotations

from typing import Any


def loggers_write_this_step(trainer: Any, global_step: int) -> bool:
    """Tell whether Lightning writes the values logged in this training step.

    Lightning's rule: every ``log_every_n_steps`` optimizer steps, and every step of a
    ``fast_dev_run``. Lightning sets both on the trainer at run time; without a trainer, every
    step is logged.
    """
    if getattr(trainer, "fast_dev_run", False):
        return True
    every = int(getattr(trainer, "log_every_n_steps", 1))
    return every > 0 and (global_step + 1) % every == 0
