"""Warm start (``init_from=PATH``): a new run that begins from another run's weights.

Only the model's weights are loaded: the optimizer, the learning-rate schedule, the epoch and
step counters and the random generators start fresh, as in any new run. This is fine-tuning,
or training further on other data or settings. ``ckpt_path`` is the other thing: an exact
resume of an interrupted or shorter run, optimizer state and counters included.

With ``init_strict: true`` (the default) every weight of the model must be in the checkpoint
with the same shape and nothing else may be there; with ``false`` the weights that match by
name and shape are loaded and the rest is reported: a new classification head, for instance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import ConfigError, MissingCheckpointError

log = logging.getLogger(__name__)
# How many key names a message lists before it says how many more there are.
LISTED = 5


@dataclass
class WarmStart:
    """What loading the weights did: the keys loaded, missing, unexpected or of another shape."""

    source: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return counts and the first keys of each kind, for the manifest."""
        return {
            "source": self.source,
            "loaded": len(self.loaded),
            "missing": self.missing,
            "unexpected": self.unexpected,
            "shape_mismatch": self.mismatched,
        }

    def problems(self) -> str:
        """Return the mismatches in one line (empty when there are none)."""
        parts = [
            f"{len(keys)} {kind} ({_listed(keys)})"
            for kind, keys in (
                ("missing from the checkpoint", self.missing),
                ("not in the model", self.unexpected),
                ("of another shape", self.mismatched),
            )
            if keys
        ]
        return "; ".join(parts)


def state_dict_of(path: str | Path) -> dict[str, Any]:
    """Return the weights a file holds: a Lightning checkpoint's ``state_dict``, or a bare one.

    A sharded checkpoint folder (FSDP) is consolidated first.
    """
    from .checkpoints import is_checkpoint, load_checkpoint

    source = Path(str(path))
    if not is_checkpoint(source):
        raise MissingCheckpointError(f"init_from={str(path)!r} is not a file")
    try:
        loaded = load_checkpoint(source)
    except Exception as error:
        raise ConfigError(
            f"init_from={str(path)!r} is not a readable checkpoint ({type(error).__name__})"
        ) from error
    weights = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(weights, dict) or not weights:
        raise ConfigError(f"init_from={str(path)!r} holds no model weights")
    return weights


def load_weights(model: nn.Module, path: str | Path, *, strict: bool = True) -> WarmStart:
    """Load the weights at ``path`` into ``model``; ``ConfigError`` on a mismatch when strict."""
    weights = state_dict_of(path)
    own = model.state_dict()
    result = WarmStart(str(path))
    result.unexpected = sorted(set(weights) - set(own))
    result.missing = sorted(set(own) - set(weights))
    result.mismatched = sorted(
        key for key in set(own) & set(weights) if tuple(own[key].shape) != tuple(weights[key].shape)
    )
    problems = result.problems()
    if strict and problems:
        raise ConfigError(
            f"init_from={str(path)!r} does not fit model {type(model).__name__}: {problems}; "
            "set init_strict=false to load the weights that fit"
        )
    usable = {
        key: value for key, value in weights.items() if key in own and key not in result.mismatched
    }
    model.load_state_dict(usable, strict=False)
    result.loaded = sorted(usable)
    log.info("Warm start from %s: %d weights loaded.", path, len(usable))
    if problems:
        log.warning("Warm start from %s: not loaded: %s", path, problems)
    return result


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:LISTED])
    return shown + (f", ... {len(keys) - LISTED} more" if len(keys) > LISTED else "")
