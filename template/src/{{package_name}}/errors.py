"""Errors in what the user asked for (a config value, a path), as opposed to bugs.

The command-line entry points print these as one line and exit with status 1, without a
traceback; any other exception keeps Hydra's usual report.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A run's config asks for something that does not exist or cannot work."""


class MissingCheckpointError(ConfigError, FileNotFoundError):
    """``ckpt_path`` does not point to a file."""
