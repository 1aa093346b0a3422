"""Predictions on new files: the datamodule hooks ``predict`` calls, and the output files.

A datamodule supports ``python -m <package>.predict`` with three methods:

``predict_inputs(self, path: str) -> dict[str, list]``
    Read the inputs at ``path`` in the datamodule's own format, without a label column or
    field, and preprocess them exactly as training did, from ``self.hparams`` alone (so a
    checkpoint's saved hyperparameters are enough, without the training files). Keep them for
    ``predict_dataloader`` and return the columns that identify each input, in order: file
    names, row numbers, identifier columns. They head the output.
``predict_dataloader(self)``
    Lightning's hook: batches of the kept inputs, in order (``prediction_loader`` makes one).
``prediction_columns(self, outputs: Tensor) -> dict[str, list]``
    Turn the model's ``predict_step`` outputs, concatenated over the batches, into output
    columns: ``class_columns`` for class probabilities, ``value_columns`` for regression.

Prediction batches look like training batches, ``(inputs, labels)`` with every label ``-1``
(unknown), so a datamodule's batch hooks (``on_after_batch_transfer``) apply unchanged.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from ..errors import ConfigError, DataFileError
from .batches import Batch, TensorBatchDataset, ordered_loader
from .files import Table

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")
UNKNOWN_LABEL = -1


class PredictionHooks(Protocol):
    """What a datamodule implements to read prediction inputs (see the module's docstring)."""

    def predict_inputs(self, path: str) -> dict[str, list[Any]]:
        """Read and keep the inputs at ``path``; return the columns that identify them."""
        ...

    def predict_dataloader(self) -> Any:
        """Return batches of the kept inputs, in order."""
        ...

    def prediction_columns(self, outputs: Tensor) -> dict[str, list[Any]]:
        """Turn the model's outputs into output columns."""
        ...


def fitted_preprocessing(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """Return the preprocessing fitted at training (``hparams["preprocessing"]``), or fail."""
    fitted = hparams.get("preprocessing")
    if not fitted:
        raise ConfigError(
            "the datamodule has no fitted preprocessing: predict with a checkpoint it trained "
            "(its saved hyperparameters hold the preprocessing)"
        )
    return dict(fitted)


def require_columns(table: Table, columns: Sequence[str]) -> None:
    """``DataFileError`` naming the first of ``columns`` (the model's inputs) a table lacks."""
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise DataFileError(
            table.source,
            f"there is no column {missing[0]!r}, an input the model was trained with",
            f"add it (the inputs: {', '.join(columns)})",
        )


def prediction_loader(
    inputs: Tensor,
    *,
    batch_size: int,
    num_workers: int = 0,
    pin_memory: bool | str | None = "auto",
) -> DataLoader[Batch]:
    """Batches of ``inputs`` in order, each with unknown labels (``-1``)."""
    labels = torch.full((len(inputs),), UNKNOWN_LABEL, dtype=torch.long)
    return ordered_loader(
        TensorBatchDataset(inputs, labels),
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )


def class_columns(probabilities: Tensor, classes: Sequence[str]) -> dict[str, list[Any]]:
    """``prediction`` (class name), its ``probability``, and ``p_<class>`` for every class."""
    probabilities = probabilities.detach().float().cpu()
    if probabilities.ndim != 2 or probabilities.shape[1] != len(classes):
        raise ValueError(
            f"expected probabilities of shape (inputs, {len(classes)}), got "
            f"{tuple(probabilities.shape)}"
        )
    best, index = probabilities.max(dim=1)
    columns: dict[str, list[Any]] = {
        "prediction": [str(classes[i]) for i in index.tolist()],
        "probability": best.tolist(),
    }
    for position, name in enumerate(classes):
        columns[f"p_{name}"] = probabilities[:, position].tolist()
    return columns


def value_columns(values: Tensor, *, mean: float = 0.0, std: float = 1.0) -> dict[str, list[Any]]:
    """``prediction``: regression outputs mapped back to the target's units (``* std + mean``)."""
    flat = values.detach().double().cpu().reshape(len(values), -1)
    if flat.shape[1] != 1:
        raise ValueError(f"expected one value per input, got shape {tuple(values.shape)}")
    return {"prediction": (flat[:, 0] * std + mean).tolist()}


def row_numbers(count: int) -> dict[str, list[Any]]:
    """Return an identifying ``row`` column: 1, 2, ... (the inputs' order in their file)."""
    return {"row": list(range(1, count + 1))}


def output_format(path: str | Path) -> str:
    """Return the format an output path asks for (its suffix); ``ConfigError`` for another one."""
    suffix = Path(str(path)).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(
            f"output={str(path)!r}: predictions are written as {', '.join(OUTPUT_SUFFIXES)}; "
            "end the path with one of them"
        )
    return suffix[1:]


def write_predictions(path: str | Path, columns: Mapping[str, Sequence[Any]]) -> Path:
    """Write ``columns`` (equal lengths) as CSV, JSONL or Parquet, chosen by the suffix.

    The file is written beside its final name and renamed into place: an interrupted or
    failed write leaves no partial file.
    """
    target = Path(str(path))
    kind = output_format(target)
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns of different lengths: {lengths}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if kind == "parquet":
            _write_parquet(partial, columns, target)
        else:
            rows = [
                dict(zip(columns, values, strict=True))
                for values in zip(*columns.values(), strict=True)
            ]
            with partial.open("w", newline="", encoding="utf-8") as handle:
                if kind == "jsonl":
                    for row in rows:
                        handle.write(json.dumps(_plain(row), ensure_ascii=False) + "\n")
                else:
                    writer = csv.DictWriter(handle, fieldnames=list(columns))
                    writer.writeheader()
                    writer.writerows(rows)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _write_parquet(path: Path, columns: Mapping[str, Sequence[Any]], target: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ConfigError(
            f"output={str(target)!r}: writing Parquet needs the parquet extra: "
            "uv sync --extra parquet (or pip install pyarrow)"
        ) from error
    pq.write_table(pa.table({name: list(values) for name, values in columns.items()}), path)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: non-finite numbers become null."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in row.items()
    }
