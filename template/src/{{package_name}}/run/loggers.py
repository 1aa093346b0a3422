"""Loggers across runs: a resumed run continues its logs; a tracker's run ends with the run.

``AppendingCSVLogger`` continues a resumed run's ``metrics.csv`` instead of replacing it, and
``continue_logger_versions`` makes versioned loggers (CSV, TensorBoard) reuse the run's newest
version, so both parts of a resumed run land in one file (and TensorBoard shows one run).
``finishing_tracker_runs`` ends W&B's run when the run ends, so that the next run started in
the same process (the next job of a ``--multirun`` sweep) gets its own.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from omegaconf import DictConfig, open_dict

# Loggers whose runs are folders <save_dir>/<name>/version_<n>: resuming reuses the newest.
VERSIONED_LOGGERS = ("CSVLogger", "TensorBoardLogger")
VERSION_DIR = re.compile(r"version_(\d+)")
# Rows are written to metrics.csv at most this often during training, and at the end.
FLUSH_SECONDS = 2.0


class AppendingExperimentWriter(ExperimentWriter):
    """Lightning's CSV writer, except that it appends to an existing ``metrics.csv``.

    Lightning's writer deletes the file of a version it reopens; this one keeps its rows and
    columns, and adds the new rows below them.
    """

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if path.is_file():
            with path.open(newline="") as handle:
                self.metrics_keys = sorted(next(csv.reader(handle), []))


class AppendingCSVLogger(CSVLogger):
    """``lightning.pytorch.loggers.CSVLogger`` that appends when its version already exists.

    A new run gets a new ``version_N`` folder as usual. A run resumed in its own directory
    (``ckpt_path=last``) is given its previous version, and its metrics continue that file.
    Rows reach the file at most every ``FLUSH_SECONDS`` while training, and all of them at the
    end.
    """

    # When save() last wrote the file; -inf: the next save writes.
    _flushed_at: float = float("-inf")

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        """The writer of ``<save_dir>/<name>/version_N/metrics.csv`` (created on first use)."""
        if isinstance(self._experiment, ExperimentWriter):
            return self._experiment
        self._fs.makedirs(self.root_dir, exist_ok=True)
        writer = AppendingExperimentWriter(log_dir=self.log_dir)
        self._experiment = writer
        return writer

    def save(self) -> None:
        """Write the rows logged so far to ``metrics.csv``, at most every ``FLUSH_SECONDS``.

        Lightning calls ``save`` after every logging step; opening and appending to the file
        each time costs a share of every step. ``finalize`` (the run's end, however it ends)
        writes what is left.
        """
        now = time.monotonic()
        if now - self._flushed_at < FLUSH_SECONDS:
            return
        self._flushed_at = now
        super().save()

    def finalize(self, status: str) -> None:
        """Write every row still held, whatever ``save`` deferred."""
        self._flushed_at = float("-inf")
        super().finalize(status)


def continue_logger_versions(logger_cfg: DictConfig | None) -> list[str]:
    """Make versioned loggers (CSV, TensorBoard) reuse their newest existing version.

    Loggers that already set ``version`` are left alone. Returns the loggers changed.
    """
    changed: list[str] = []
    if logger_cfg is None:
        return changed
    for key, node in logger_cfg.items():
        target = str(node.get("_target_", "")) if isinstance(node, DictConfig) else ""
        if not target.endswith(VERSIONED_LOGGERS) or node.get("version") is not None:
            continue
        version = latest_version(Path(str(node.save_dir)) / str(node.get("name") or ""))
        if version is not None:
            with open_dict(node):
                node.version = version
            changed.append(str(key))
    return changed


def latest_version(directory: Path) -> int | None:
    """Return the highest ``N`` of the ``version_N`` folders in ``directory`` (None: none)."""
    if not directory.is_dir():
        return None
    versions = [
        int(match.group(1))
        for child in directory.iterdir()
        if child.is_dir() and (match := VERSION_DIR.fullmatch(child.name))
    ]
    return max(versions, default=None)


@contextmanager
def finishing_tracker_runs(loggers: Iterable[Logger]) -> Iterator[None]:
    """End the W&B run of ``loggers`` when the block ends, with exit code 1 if it raised.

    W&B keeps one run per process until it is finished, and a ``WandbLogger`` made later
    reuses it: without this, every job of a ``--multirun`` sweep (the jobs run one after the
    other in one process) would log into the first job's run. Lightning ends the other
    trackers' runs itself when a stage ends.
    """
    exit_code = 1
    try:
        yield
        exit_code = 0
    finally:
        for logger in loggers:
            run = getattr(logger, "_experiment", None) if isinstance(logger, WandbLogger) else None
            if run is not None:  # None on ranks other than 0, and before anything was logged
                run.finish(exit_code=exit_code)
