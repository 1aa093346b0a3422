"""Errors in what the user asked for (a config value, a path), as opposed to bugs.

The command-line entry points print a ``ConfigError`` as one line and exit with status 1,
without a traceback (``HYDRA_FULL_ERROR=1`` shows it); any other exception keeps Hydra's usual
report. Raise ``ConfigError`` (or ``InvalidValueError``) from your own models and datamodules
for values they cannot work with, and users get the same one-line answer.

``TrainingDivergedError`` is not a config error but a run's outcome: the loss or the gradients
stopped being finite. The entry points print it as one line too and exit with status
``DIVERGED_EXIT`` (3).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

# The exit status of a run stopped because training diverged (1: config error; 128 + N: signal N).
DIVERGED_EXIT = 3


class ConfigError(Exception):
    """A run's config asks for something that does not exist or cannot work."""


class MissingCheckpointError(ConfigError, FileNotFoundError):
    """``ckpt_path`` does not point to a file."""


class InvalidValueError(ConfigError, ValueError):
    """A config value of the wrong type or range; the message names its key and what works.

    ``key`` is the value's dotted config key as far as the raiser knows it (``lr``); the
    builders prefix the node it came from (``model.lr``), see :meth:`under`.
    """

    def __init__(self, key: str, value: Any, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(f"{key}={value!r} is not valid: expected {expected}")

    def under(self, node: str) -> InvalidValueError:
        """Return the same error with ``key`` placed under the config node ``node``."""
        return InvalidValueError(f"{node}.{self.key}", self.value, self.expected)


class DataFileError(ConfigError):
    """A data file that cannot be used as it is: the message names the file, where, and the fix.

    ``where`` is a line or row (``line 7``) or a member of a folder; ``fix`` says what to do.
    """

    def __init__(self, path: str | Path, problem: str, fix: str, *, where: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        self.where = where
        location = f"{self.path}, {where}" if where else self.path
        super().__init__(f"{location}: {problem}: {fix}")


class TrainingDivergedError(Exception):
    """Training produced a non-finite loss, gradient norm or weight, and stopped there.

    ``what`` is ``loss``, ``gradient norm`` or ``weights``; ``step`` counts optimizer steps
    from 0; ``last_checkpoint`` is the newest checkpoint whose weights are all finite (None
    when no checkpoint had been saved); ``hint`` says what to try.
    """

    def __init__(
        self,
        *,
        epoch: int,
        step: int,
        what: str,
        value: float,
        last_checkpoint: str | None,
        hint: str,
    ) -> None:
        self.epoch = int(epoch)
        self.step = int(step)
        self.what = what
        self.value = float(value)
        self.last_checkpoint = last_checkpoint
        self.hint = hint
        found = "are not finite" if what == "weights" else f"is {self.value}"
        saved = last_checkpoint or "none saved yet"
        super().__init__(
            f"training diverged at epoch {self.epoch}, step {self.step}: the {what} {found}. "
            f"Last checkpoint with finite weights: {saved}. Try: {hint}"
        )

    def details(self) -> dict[str, Any]:
        """Return what the run manifest records: where, what, the value (as text if not finite)."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "what": self.what,
            "value": self.value if math.isfinite(self.value) else str(self.value),
            "last_finite_checkpoint": self.last_checkpoint,
        }
