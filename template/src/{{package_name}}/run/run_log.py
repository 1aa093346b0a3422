"""What a run directory records, read back: its curves, final metrics and manifest.

The curves come from the CSV logger's ``csv/version_*/metrics.csv`` (every version, in order:
a resumed run appends to its own). Each metric is a series of ``(step, value)`` points; a step
logged twice (an attempt that was resumed from an earlier checkpoint) keeps its last value.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .results import FILENAME as METRICS_FILE

Series = list[tuple[int, float]]
# Columns of the CSV log that are axes, not metrics.
AXES = ("epoch", "step")


@dataclass
class RunRecord:
    """One run directory's records."""

    run_dir: Path
    curves: dict[str, Series] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short name for the run: its directory's name (with its parent's, for sweeps)."""
        parent = self.run_dir.parent.name
        return f"{parent}/{self.run_dir.name}" if self.run_dir.name.isdigit() else self.run_dir.name


def csv_logs(run_dir: Path) -> list[Path]:
    """Return the CSV logger's files in a run directory, oldest version first."""
    found = run_dir.glob("csv/version_*/metrics.csv")
    return sorted(found, key=lambda p: int(p.parent.name.removeprefix("version_") or 0))


def read_curves(paths: list[Path]) -> dict[str, Series]:
    """Every metric column of the CSV logs as ``(step, value)`` points, in step order."""
    points: dict[str, dict[int, float]] = {}
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                step = _number(row.get("step"))
                if step is None:
                    continue
                for name, text in row.items():
                    value = _number(text)
                    if name in AXES or name is None or value is None:
                        continue
                    points.setdefault(name, {})[int(step)] = value
    return {name: sorted(series.items()) for name, series in sorted(points.items())}


def read_run(run_dir: str | Path) -> RunRecord:
    """Read a run directory; ``FileNotFoundError`` when it is not one."""
    root = Path(run_dir)
    manifest_path = root / "manifest.json"
    logs = csv_logs(root)
    if not root.is_dir() or not (manifest_path.is_file() or logs):
        raise FileNotFoundError(f"{root} is not a run directory (no manifest.json, no CSV log)")
    return RunRecord(
        run_dir=root,
        curves=read_curves(logs),
        metrics=read_json(root / METRICS_FILE),
        manifest=read_json(manifest_path),
    )


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_json(path: Path) -> dict[str, Any]:
    """Return the JSON object in a file; empty when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
