"""Errors in what the user asked for (a config value, a path), as opposed to bugs.

The command-line entry points print a ``ConfigError`` as one line and exit with status 1,
without a traceback (``HYDRA_FULL_ERROR=1`` shows it); any other exception keeps Hydra's usual
report. Raise ``ConfigError`` (or ``InvalidValueError``) from your own models and datamodules
for values they cannot work with, and users get the same one-line answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
