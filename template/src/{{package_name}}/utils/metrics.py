"""Collect, save and select run metrics as plain floats."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def to_floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Convert Lightning's metric tensors (``trainer.callback_metrics``) to floats."""
    return {str(name): float(value) for name, value in metrics.items()}


def save_metrics(metrics: Mapping[str, float], path: str | Path) -> Path:
    """Write ``metrics`` as sorted JSON to ``path`` (parents created) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(dict(metrics), indent=2, sort_keys=True) + "\n")
    return target


def metric_value(metrics: Mapping[str, float], name: str | None) -> float | None:
    """Return metric ``name`` (None when no name is set); raise if the run did not log it."""
    if not name:
        return None
    if name not in metrics:
        logged = ", ".join(sorted(metrics)) or "(none)"
        raise ValueError(f"optimized_metric {name!r} was not logged; logged metrics: {logged}")
    value = metrics[name]
    if math.isnan(value):
        raise ValueError(f"optimized_metric {name!r} is NaN")
    return value
