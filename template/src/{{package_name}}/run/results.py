"""A run's metrics as plain floats: collected from Lightning, kept in ``metrics.json``.

``metrics.json`` holds every final metric of a run; a run resumed in its own directory starts
from what the file already holds, so nothing an earlier attempt measured is lost.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError

FILENAME = "metrics.json"


def to_floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Convert Lightning's metric tensors (``trainer.callback_metrics``) to floats."""
    return {str(name): float(value) for name, value in metrics.items()}


def save_metrics(metrics: Mapping[str, float], path: str | Path) -> Path:
    """Write ``metrics`` as sorted JSON to ``path`` (parents created) and return the path.

    Written to a temporary file first and renamed: an interrupted write never leaves half a
    file behind.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".tmp")
    partial.write_text(json.dumps(dict(metrics), indent=2, sort_keys=True) + "\n")
    partial.replace(target)
    return target


def load_metrics(path: str | Path) -> dict[str, float]:
    """Return the metrics saved at ``path``; empty when there is no such readable file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def metric_value(metrics: Mapping[str, float], name: str | None) -> float | None:
    """Return metric ``name`` (None when no name is set); ``ConfigError`` if it was not logged."""
    if not name:
        return None
    if name not in metrics:
        logged = ", ".join(sorted(metrics)) or "(none)"
        raise ConfigError(f"monitor.metric={name!r} was not logged; logged metrics: {logged}")
    value = metrics[name]
    if math.isnan(value):
        raise ConfigError(f"monitor.metric={name!r} is NaN")
    return value
