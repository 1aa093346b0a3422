"""A learnable classification task generated in-process: no download, no files.

To predict, give a table (CSV, JSONL or Parquet) of ``n_features`` numeric columns, ``x0`` to
``x<n_features-1>``, and optionally an ``id`` column: ``predict ckpt_path=... input=rows.csv``.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from ..errors import InvalidValueError
from ..registry import DATAMODULES
from ..utils.batches import Batch, TensorBatchDataset, ordered_loader, shuffled_loader
from ..utils.files import numeric_columns, read_table
from ..utils.predictions import class_columns, prediction_loader, require_columns, row_numbers
from ..utils.seeding import derive_seed, make_generator
from ..validation import fraction, integer, one_of, positive_int


def make_classification(
    n_samples: int,
    n_features: int,
    n_classes: int,
    *,
    clusters_per_class: int = 2,
    class_sep: float = 1.0,
    label_noise: float = 0.0,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Sample Gaussian clusters, ``clusters_per_class`` per class, as ``(features, labels)``.

    Cluster centres are drawn from ``N(0, class_sep**2)``; each sample is its centre plus unit
    Gaussian noise. A fraction ``label_noise`` of labels is replaced by a random class. The
    result is a pure function of the arguments (float32 features, int64 labels).
    """
    if n_classes < 2 or clusters_per_class < 1 or n_samples < 1 or n_features < 1:
        raise ValueError("need n_samples, n_features, clusters_per_class >= 1 and n_classes >= 2")
    if not 0.0 <= label_noise <= 1.0:
        raise ValueError(f"label_noise must be in [0, 1], got {label_noise}")
    generator = make_generator(seed)
    n_clusters = n_classes * clusters_per_class
    centres = torch.randn(n_clusters, n_features, generator=generator) * class_sep
    cluster = torch.randint(n_clusters, (n_samples,), generator=generator)
    features = centres[cluster] + torch.randn(n_samples, n_features, generator=generator)
    labels = cluster % n_classes
    flip = torch.rand(n_samples, generator=generator) < label_noise
    random_labels = torch.randint(n_classes, (n_samples,), generator=generator)
    labels = torch.where(flip, random_labels, labels)
    return features, labels


@DATAMODULES.register("synthetic")
class SyntheticClassificationDataModule(LightningDataModule):
    """Train/val/test splits of a :func:`make_classification` task.

    The data and the split depend only on ``seed``; the training order depends only on
    ``shuffle_seed`` (the run's seed by default), so runs with different seeds see the same data.
    A bad argument raises ``InvalidValueError`` naming it (``data.batch_size``).
    """

    def __init__(
        self,
        n_samples: int = 10_000,
        n_features: int = 32,
        n_classes: int = 8,
        clusters_per_class: int = 2,
        class_sep: float = 1.0,
        label_noise: float = 0.02,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 256,
        num_workers: int = 0,
        pin_memory: bool | str = "auto",
        seed: int = 1234,
        shuffle_seed: int = 0,
    ) -> None:
        super().__init__()
        positive_int("n_samples", n_samples)
        positive_int("n_features", n_features)
        integer("n_classes", n_classes, minimum=2)
        positive_int("clusters_per_class", clusters_per_class)
        fraction("label_noise", label_noise)
        fraction("val_fraction", val_fraction, open_low=True, open_high=True)
        fraction("test_fraction", test_fraction, open_low=True, open_high=True)
        if val_fraction + test_fraction >= 1:
            raise InvalidValueError(
                "test_fraction",
                test_fraction,
                f"a fraction below 1 - val_fraction ({val_fraction})",
            )
        positive_int("batch_size", batch_size)
        integer("num_workers", num_workers, minimum=0)
        one_of("pin_memory", pin_memory, (True, False, "auto"))
        self.save_hyperparameters()
        self.train_set: TensorBatchDataset | None = None
        self.val_set: TensorBatchDataset | None = None
        self.test_set: TensorBatchDataset | None = None
        self.prediction_set: Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        """Generate the data and split it (once; later calls reuse it)."""
        if self.train_set is not None:
            return
        hp = self.hparams
        features, labels = make_classification(
            hp["n_samples"],
            hp["n_features"],
            hp["n_classes"],
            clusters_per_class=hp["clusters_per_class"],
            class_sep=hp["class_sep"],
            label_noise=hp["label_noise"],
            seed=derive_seed(hp["seed"], "data"),
        )
        split_generator = make_generator(derive_seed(hp["seed"], "split"))
        order = torch.randperm(hp["n_samples"], generator=split_generator)
        n_val = max(1, round(hp["n_samples"] * hp["val_fraction"]))
        n_test = max(1, round(hp["n_samples"] * hp["test_fraction"]))
        val, test, train = order[:n_val], order[n_val : n_val + n_test], order[n_val + n_test :]
        self.train_set = TensorBatchDataset(features[train], labels[train])
        self.val_set = TensorBatchDataset(features[val], labels[val])
        self.test_set = TensorBatchDataset(features[test], labels[test])

    def train_dataloader(self) -> DataLoader[Batch]:
        """Return shuffled training batches; each epoch's order depends on ``shuffle_seed`` only.

        The order of epoch ``e`` is a function of ``(shuffle_seed, e)``, so a run resumed from a
        checkpoint trains on the same batches as one that was never interrupted.
        """
        return shuffled_loader(
            self._split(self.train_set),
            seed=self.hparams["shuffle_seed"],
            trainer=self.trainer,
            **self._loading(),
        )

    def val_dataloader(self) -> DataLoader[Batch]:
        """Return validation batches in a fixed order."""
        return ordered_loader(self._split(self.val_set), **self._loading())

    def test_dataloader(self) -> DataLoader[Batch]:
        """Return test batches in a fixed order."""
        return ordered_loader(self._split(self.test_set), **self._loading())

    def feature_names(self) -> list[str]:
        """Return the names prediction inputs give the features: ``x0``, ``x1``, ..."""
        return [f"x{i}" for i in range(self.hparams["n_features"])]

    def predict_inputs(self, path: str) -> dict[str, list[Any]]:
        """Read rows of features (``x0``, ``x1``, ...) for ``predict``; ``id`` is carried over."""
        table = read_table(path, key="input")
        require_columns(table, self.feature_names())
        self.prediction_set = numeric_columns(table, self.feature_names()).float()
        carried = {"id": table.column("id")} if "id" in table.columns else {}
        return {**row_numbers(len(table.rows)), **carried}

    def predict_dataloader(self) -> DataLoader[Batch]:
        """Return the rows ``predict_inputs`` read, in order."""
        if self.prediction_set is None:
            raise RuntimeError("call predict_inputs(path) before predicting")
        return prediction_loader(self.prediction_set, **self._loading())

    def prediction_columns(self, outputs: Tensor) -> dict[str, list[Any]]:
        """Return the predicted class (``class_<k>``), its probability and every class's."""
        classes = [f"class_{k}" for k in range(self.hparams["n_classes"])]
        return class_columns(outputs, classes)

    def _loading(self) -> dict[str, Any]:
        keys = ("batch_size", "num_workers", "pin_memory")
        return {key: self.hparams[key] for key in keys}

    def _split(self, dataset: TensorBatchDataset | None) -> TensorBatchDataset:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        return dataset
