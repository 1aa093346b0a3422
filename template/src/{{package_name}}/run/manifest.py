"""``manifest.json``: what a run was, where and with what, and how it ended.

Written into the run directory when the run starts (``status: running``) and rewritten when
it ends: ``completed`` with the final metrics, ``failed`` with the error, ``diverged`` (a
non-finite loss, gradient norm or weight stopped training; ``divergence`` says where, what
and the value), or ``interrupted`` (a signal or Ctrl-C). Only the rank-0 process writes it.
A run resumed in the same directory keeps the earlier attempts' summaries under
``previous_attempts``.

``stages`` records how far the run got (``fit``, ``test``: running, completed, failed or
interrupted, with what a later attempt needs to know), carried over from the manifest already
in the directory: a finished run started again in its own directory sees that nothing is left
to do, and a run stopped while testing tests again without training again.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..errors import TrainingDivergedError
from .environment import (
    determinism_env,
    distribution_versions,
    git_state,
    host_info,
    process_rank,
    python_info,
    torch_info,
)

log = logging.getLogger(__name__)

FILENAME = "manifest.json"
SCHEMA_VERSION = 1
PACKAGE = __name__.split(".")[0]
# What an earlier attempt's entry keeps when a run is resumed in the same directory.
ATTEMPT_KEYS = ("status", "start_time", "end_time", "command", "resumed_from", "error")
COMPLETED = "completed"
TRACEBACK_LINES = 30


class RunManifest:
    """Context manager that writes ``<output_dir>/manifest.json`` at the start and end of a run.

    Usage::

        with RunManifest(cfg, task="train") as manifest:
            metrics = ...
            manifest.finish(metrics)
    """

    def __init__(self, cfg: DictConfig, *, task: str) -> None:
        """Describe a run of ``task`` with config ``cfg`` (its ``paths.output_dir`` is the run)."""
        self.cfg = cfg
        self.path = Path(str(cfg.paths.output_dir)) / FILENAME
        self.enabled = process_rank() == 0
        self.data: dict[str, Any] = {}
        self._task = task
        # Every process reads the stages, before rank 0 rewrites the file: they decide alike.
        previous = _read(self.path) or {}
        self.stages: dict[str, Any] = dict(previous.get("stages") or {})

    def __enter__(self) -> RunManifest:
        """Write the manifest with ``status: running``."""
        if self.enabled:
            self.data = self._start()
            self._write()
        return self

    def update(self, **fields: Any) -> None:
        """Add or replace top-level fields (written with the next status change)."""
        self.data.update(fields)

    def stage_completed(self, name: str, **expected: Any) -> bool:
        """Tell whether stage ``name`` completed, with each of ``expected``'s values as given."""
        stage = self.stages.get(name) or {}
        return stage.get("status") == COMPLETED and all(
            stage.get(key) == value for key, value in expected.items()
        )

    def stage(self, name: str) -> dict[str, Any]:
        """Return what the manifest holds about stage ``name`` (empty when it never ran)."""
        return dict(self.stages.get(name) or {})

    def begin_stage(self, name: str, **info: Any) -> None:
        """Record that stage ``name`` is running; a new ``fit`` makes any earlier test stale."""
        if name == "fit":
            self.stages.pop("test", None)
        self.stages[name] = {"status": "running", **info}
        self._write_if_enabled()

    def end_stage(self, name: str, **info: Any) -> None:
        """Record that stage ``name`` completed, with ``info`` for later attempts."""
        self.stages[name] = {**self.stages.get(name, {}), "status": COMPLETED, **info}
        self._write_if_enabled()

    def finish(self, metrics: dict[str, float]) -> None:
        """Record the final metrics (the run's status is set when the block ends)."""
        self.data["metrics"] = dict(metrics)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Write the final status; an exception is recorded and then propagates."""
        if not self.enabled:
            return
        self.data["end_time"] = _now()
        self.data["status"] = _status(exc)
        for stage in self.stages.values():
            if stage.get("status") == "running":
                stage["status"] = self.data["status"]
        self.data["torch"] = torch_info()  # with the GPUs, now that the run is over
        if exc is not None:
            self.data["error"] = {
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": traceback.format_exception(exc_type, exc, tb)[-TRACEBACK_LINES:],
            }
        if isinstance(exc, TrainingDivergedError):
            self.data["divergence"] = exc.details()
        self._write()

    def _start(self) -> dict[str, Any]:
        previous = _read(self.path)
        return {
            "schema_version": SCHEMA_VERSION,
            "task": self._task,
            "status": "running",
            "start_time": _now(),
            "end_time": None,
            "run_dir": str(self.path.parent.resolve()),
            "command": [sys.executable, *sys.argv],
            "cwd": os.getcwd(),
            "seeds": seeds(self.cfg),
            "deterministic": bool(self.cfg.get("deterministic", False)),
            "resumed_from": None,
            "git": git_state(Path(__file__).parent),
            "versions": {
                "python": python_info()["version"],
                PACKAGE: _own_version(),
                **distribution_versions(),
            },
            "python": python_info(),
            "torch": torch_info(devices=False),
            "host": host_info(),
            "environment": determinism_env(),
            "config": _config(self.cfg),
            "metrics": None,
            "error": None,
            "stages": self.stages,
            "previous_attempts": _attempts(previous),
        }

    def _write_if_enabled(self) -> None:
        if self.enabled and self.data:
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".json.tmp")
        partial.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        partial.replace(self.path)


def seeds(cfg: DictConfig) -> dict[str, Any]:
    """Every config value whose key names a seed, by dotted path (``seed``, ``data.seed``, ...)."""
    found: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                path = f"{prefix}{key}"
                if "seed" in str(key).lower() and not isinstance(value, dict | list):
                    found[path] = value
                walk(value, path + ".")

    walk(_config(cfg), "")
    return found


def _config(cfg: DictConfig) -> Any:
    """Return the config as plain data, resolved where every interpolation resolves."""
    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an interpolation that cannot resolve here: keep it as written
        return OmegaConf.to_container(cfg, resolve=False)


def _status(exc: BaseException | None) -> str:
    if exc is None:
        return "completed"
    if isinstance(exc, TrainingDivergedError):
        return "diverged"
    if isinstance(exc, Exception):
        return "failed"
    return "interrupted"  # KeyboardInterrupt, SystemExit, a signal


def _attempts(previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not previous:
        return []
    earlier = list(previous.get("previous_attempts") or [])
    return [*earlier, {key: previous.get(key) for key in ATTEMPT_KEYS}]


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except OSError:
        return None
    except ValueError:  # not JSON
        return None
    return data if isinstance(data, dict) else None


def _own_version() -> str:
    from .. import __version__

    return __version__


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
