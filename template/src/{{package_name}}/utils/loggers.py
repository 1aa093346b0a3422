"""A CSV logger that continues a resumed run's metrics file instead of replacing it."""

from __future__ import annotations

import csv
from pathlib import Path

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


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
    """

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
