"""A user replaces the example with their own task; the template's half of the project stays
proven, before and after a ``copier update``.

The user of this test generates a project, deletes the example (its model, datamodule, their
configs, its experiment and search space, its tests; the starters with their tests), writes a
different task (noisy waves of three frequencies, a 1-D convolution, other constructor
arguments and sizes, another monitored metric, SGD with a step schedule), makes it the default
in ``train.yaml`` and commits. The
project's own suite then passes, and its contract tests train the new model. A newer template
release (a template-owned change and a new template-owned test) is then merged in with
``copier update``: the suite passes again, new test included.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest
from conftest import DEFAULT_ANSWERS, InstalledProject, install_project, render_answers
from template_repo import commit_all, commit_release, init_repo, write_snapshot

PKG = DEFAULT_ANSWERS["package_name"]
SRC = Path("src") / PKG
FIRST, SECOND = "0.2.0", "0.2.0.post1"
# The newer release: a template-owned module changed, and a template-owned test added.
NEW_TEMPLATE_TEST = "tests/test_added_by_the_update.py"
NEW_TEMPLATE_TEST_TEXT = '''"""Added by a newer template release."""

from {pkg}.run.services import MONITOR_MODES


def test_monitor_modes_are_known() -> None:
    assert MONITOR_MODES == ("min", "max")
'''

MY_MODELS_INIT = '''"""My models; importing this package registers them."""

from .wave_conv import WaveClassifier

__all__ = ["WaveClassifier"]
'''
MY_MODEL = '''"""A 1-D convolutional classifier of time series."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch import Tensor, nn

from ..registry import MODELS


@MODELS.register("wave_conv")
class WaveClassifier(LightningModule):
    """Conv1d, ReLU, average pooling, then a linear layer over the pooled channels."""

    def __init__(
        self, length: int, n_classes: int, channels: int = 8, kernel_size: int = 5, lr: float = 0.1
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(8),
            nn.Flatten(),
            nn.Linear(channels * 8, n_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Logits of a batch of series of shape (batch, length)."""
        return self.net(x.unsqueeze(1))

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """Cross-entropy of the batch."""
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Loss and error rate of the batch."""
        self._score(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Loss and error rate of the batch."""
        self._score(batch, "test")

    def _score(self, batch: tuple[Tensor, Tensor], split: str) -> None:
        x, y = batch
        logits = self(x)
        self.log(f"{split}/loss", nn.functional.cross_entropy(logits, y))
        self.log(f"{split}/error", (logits.argmax(dim=1) != y).float().mean())

    def configure_optimizers(self) -> Any:
        """SGD with momentum; the rate shrinks by a fifth every epoch."""
        optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams["lr"], momentum=0.9)
        schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.8)
        return {"optimizer": optimizer, "lr_scheduler": schedule}
'''
MY_DATA_INIT = '''"""My datamodules; importing this package registers them."""

from .waves import WaveDataModule

__all__ = ["WaveDataModule"]
'''
MY_DATA = '''"""Noisy sine waves whose frequency is the class."""

from __future__ import annotations

import math

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from ..registry import DATAMODULES
from ..utils.batches import Batch, TensorBatchDataset, ordered_loader, shuffled_loader


@DATAMODULES.register("waves")
class WaveDataModule(LightningDataModule):
    """``n_series`` waves of ``length`` samples: class k oscillates k + 1 times per series."""

    def __init__(
        self,
        n_series: int = 600,
        length: int = 64,
        n_classes: int = 3,
        noise: float = 0.3,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.splits: dict[str, TensorBatchDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        """Generate the series and split them 70/15/15."""
        if self.splits:
            return
        hp = self.hparams
        generator = torch.Generator().manual_seed(hp["seed"])
        labels = torch.randint(hp["n_classes"], (hp["n_series"],), generator=generator)
        time = torch.linspace(0.0, 1.0, hp["length"])
        phase = torch.rand(hp["n_series"], 1, generator=generator) * 2 * math.pi
        frequency = (labels + 1).float().unsqueeze(1) * 2 * math.pi
        noise = hp["noise"] * torch.randn(hp["n_series"], hp["length"], generator=generator)
        series = torch.sin(frequency * time + phase) + noise
        n_train, n_val = int(0.7 * hp["n_series"]), int(0.15 * hp["n_series"])
        bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val)}
        bounds["test"] = (n_train + n_val, hp["n_series"])
        for split, (start, stop) in bounds.items():
            self.splits[split] = TensorBatchDataset(series[start:stop], labels[start:stop])

    def train_dataloader(self) -> DataLoader[Batch]:
        """Shuffled batches, in an order that depends on the seed and the epoch only."""
        return shuffled_loader(
            self.splits["train"],
            seed=self.hparams["seed"],
            trainer=self.trainer,
            batch_size=self.hparams["batch_size"],
        )

    def val_dataloader(self) -> DataLoader[Batch]:
        """Validation batches in order."""
        return ordered_loader(self.splits["val"], batch_size=self.hparams["batch_size"])

    def test_dataloader(self) -> DataLoader[Batch]:
        """Test batches in order."""
        return ordered_loader(self.splits["test"], batch_size=self.hparams["batch_size"])
'''
MY_MODEL_CONFIG = """# @package _global_
model:
  name: wave_conv
  length: ${data.length}
  n_classes: ${data.n_classes}
  channels: 8
  kernel_size: 5
  lr: 0.05

monitor:
  metric: val/error
  mode: min
"""
MY_DATA_CONFIG = """name: waves
n_series: 600
length: 64
n_classes: 3
noise: 0.3
batch_size: 32
seed: 0
"""


def replace_the_example(project: Path) -> None:
    """What the user does: the example out, their own task in, made the default."""
    for path in ("models", "data", "configs/model", "configs/data", "configs/experiment"):
        shutil.rmtree(project / SRC / path)
    shutil.rmtree(project / SRC / "configs" / "hparams_search")
    for tests in ("example", "starters"):
        shutil.rmtree(project / "tests" / tests)
    files = {
        "models/__init__.py": MY_MODELS_INIT,
        "models/wave_conv.py": MY_MODEL,
        "data/__init__.py": MY_DATA_INIT,
        "data/waves.py": MY_DATA,
        "configs/model/wave_conv.yaml": MY_MODEL_CONFIG,
        "configs/data/waves.yaml": MY_DATA_CONFIG,
    }
    for relative, text in files.items():
        path = project / SRC / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    train_yaml = project / SRC / "configs" / "train.yaml"
    text = train_yaml.read_text()
    for old, new in (
        ("  - data: synthetic\n", "  - data: waves\n"),
        ("  - model: mlp\n", "  - model: wave_conv\n"),
    ):
        assert old in text, f"train.yaml's defaults list has no {old.strip()!r}"
        text = text.replace(old, new)
    train_yaml.write_text(text)


def release_a_newer_template(repo: Path) -> None:
    """The next release: a template-owned module changes, a template-owned test is added."""
    services = repo / "template" / "src" / "{{package_name}}" / "run" / "services.py"
    services.write_text(services.read_text() + "\n# (changed in the newer release)\n")
    test = repo / "template" / f"{NEW_TEMPLATE_TEST}.jinja"
    test.write_text(NEW_TEMPLATE_TEST_TEXT.replace("{pkg}", "{{ package_name }}"))


@dataclass(frozen=True)
class SuiteResult:
    """The project's suite, run once: exit status, output and each test's outcome."""

    returncode: int
    output: str
    outcomes: dict[str, str]

    def failed(self) -> str:
        return self.output[-6000:]


def run_suite(project: InstalledProject, report: Path) -> SuiteResult:
    """The project's whole suite, as ``pytest`` in its root, with a JUnit report to read."""
    proc = project.run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        check=False,
        timeout=900,
        env={"PYTEST_ADDOPTS": ""},
    )
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcomes[name] = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
    return SuiteResult(proc.returncode, proc.stdout + proc.stderr, outcomes)


@dataclass(frozen=True)
class Journey:
    """The user's project after each step, and what its suite said."""

    project: InstalledProject
    before_update: SuiteResult
    after_update: SuiteResult
    update_changed: set[str]


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Journey:
    repo = init_repo(tmp_path_factory.mktemp("byo-template") / "torch-template")
    write_snapshot(repo)
    commit_release(repo, FIRST)
    release_a_newer_template(repo)
    commit_release(repo, SECOND)

    root = tmp_path_factory.mktemp("byo") / "my-project"
    render_answers(root, DEFAULT_ANSWERS, vcs_ref=FIRST, template=repo)
    init_repo(root)
    commit_all(root, "Generated")
    replace_the_example(root)
    commit_all(root, "My own model and data")
    project = install_project(root, tmp_path_factory.mktemp("byo-venv") / "venv", PKG)
    reports = tmp_path_factory.mktemp("byo-reports")
    before = run_suite(project, reports / "before.xml")

    copier.run_update(
        root,
        vcs_ref=SECOND,
        defaults=True,
        overwrite=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
    )
    changed = subprocess.run(
        ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    after = run_suite(project, reports / "after.xml")
    return Journey(project, before, after, {line[3:] for line in changed.splitlines()})


def contract_outcomes(result: SuiteResult) -> dict[str, str]:
    return {name: outcome for name, outcome in result.outcomes.items() if "test_contract" in name}


@pytest.mark.slow
def test_the_suite_passes_with_the_users_model(journey: Journey) -> None:
    assert journey.before_update.returncode == 0, journey.before_update.failed()
    contract = contract_outcomes(journey.before_update)
    assert contract, "the contract tests ran"
    assert {o for n, o in contract.items() if "gpu" not in n} == {"passed"}, contract
    assert not [n for n in journey.before_update.outcomes if "example" in n]


@pytest.mark.slow
def test_the_contract_trains_the_users_model(journey: Journey, tmp_path: Path) -> None:
    run_dir = tmp_path / "tiny"
    journey.project.run("-m", f"{PKG}.train", "debug=tiny", f"hydra.run.dir={run_dir}")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["model"]["name"] == "wave_conv"
    assert manifest["config"]["data"]["name"] == "waves"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"val/error", "test/error"} <= metrics.keys()


@pytest.mark.slow
def test_the_update_brings_the_template_and_leaves_the_users_files(journey: Journey) -> None:
    assert f"{SRC.as_posix()}/run/services.py" in journey.update_changed
    assert NEW_TEMPLATE_TEST in journey.update_changed
    root = journey.project.root
    assert (root / SRC / "models" / "wave_conv.py").read_text() == MY_MODEL
    assert not (root / SRC / "models" / "classifier.py").exists(), "the example stays deleted"
    assert not (root / "tests" / "example").exists()
    assert "  - model: wave_conv\n" in (root / SRC / "configs" / "train.yaml").read_text()


@pytest.mark.slow
def test_the_suite_still_passes_after_the_update(journey: Journey) -> None:
    assert journey.after_update.returncode == 0, journey.after_update.failed()
    added = [n for n, o in journey.after_update.outcomes.items() if "added_by_the_update" in n]
    assert added and all(journey.after_update.outcomes[n] == "passed" for n in added)
    contract = contract_outcomes(journey.after_update)
    assert {o for n, o in contract.items() if "gpu" not in n} == {"passed"}, contract
