"""Migrations (``migrations/``): what each does to a project, run as ``copier update`` runs it.

``rename_config_group.py`` is proven within a real update in ``test_update.py``; here, the
0.2.0 step that keeps a 0.1.x project's monitored metric, on small projects made for it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE_ROOT
from template_repo import commit_all, init_repo

SCRIPT = TEMPLATE_ROOT / "migrations" / "monitor_setting.py"
CONFIGS = Path("src/pkg/configs")
# What 0.1.0 rendered, and what a user may have changed in it.
OLD_CHECKPOINT = """model_checkpoint:
  _target_: lightning.pytorch.callbacks.ModelCheckpoint
  monitor: {metric}
  mode: {mode}
  save_top_k: 1
"""
OLD_MODEL = "name: mlp_classifier\nlr: 0.003\n"
# 0.2.0's train.yaml (the part the migration reads).
NEW_TRAIN = """seed: 42
# The metric that picks the best checkpoint...
monitor:
  metric: val/loss
  mode: min
"""
NEW_CHECKPOINT = OLD_CHECKPOINT.format(metric="${monitor.metric}", mode="${monitor.mode}")


def project_before_update(root: Path, metric: str = "val/acc", mode: str = "max") -> Path:
    """A committed 0.1.x project, then the files an update to 0.2.0 leaves (uncommitted)."""
    init_repo(root)
    (root / CONFIGS / "callbacks").mkdir(parents=True)
    (root / CONFIGS / "model").mkdir()
    (root / CONFIGS / "callbacks" / "model_checkpoint.yaml").write_text(
        OLD_CHECKPOINT.format(metric=metric, mode=mode)
    )
    (root / CONFIGS / "model" / "mlp.yaml").write_text(OLD_MODEL)
    (root / CONFIGS / "train.yaml").write_text("seed: 42\noptimized_metric: val/acc\n")
    commit_all(root, "0.1.0 project")
    (root / CONFIGS / "callbacks" / "model_checkpoint.yaml").write_text(NEW_CHECKPOINT)
    (root / CONFIGS / "train.yaml").write_text(NEW_TRAIN)
    return root


def migrate(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=root, capture_output=True, text=True, check=True
    )


def train_yaml(root: Path) -> str:
    return (root / CONFIGS / "train.yaml").read_text()


@pytest.mark.parametrize(("metric", "mode"), [("val/acc", "max"), ("val/f1", "max")])
def test_keeps_the_metric_the_checkpoints_were_picked_by(
    tmp_path: Path, metric: str, mode: str
) -> None:
    root = project_before_update(tmp_path / "p", metric, mode)
    proc = migrate(root)
    assert f"monitor:\n  metric: {metric}\n  mode: {mode}\n" in train_yaml(root)
    assert f"monitor set to {metric} ({mode})" in proc.stdout
    assert train_yaml(root).startswith("seed: 42\n# The metric")  # the rest is untouched


def test_is_idempotent(tmp_path: Path) -> None:
    root = project_before_update(tmp_path / "p")
    migrate(root)
    once = train_yaml(root)
    assert migrate(root).stdout == ""
    assert train_yaml(root) == once


def test_leaves_a_model_config_that_sets_monitor_alone(tmp_path: Path) -> None:
    root = project_before_update(tmp_path / "p")
    (root / CONFIGS / "model" / "mine.yaml").write_text(
        "# @package _global_\nmodel:\n  name: mine\nmonitor:\n  metric: val/f1\n  mode: max\n"
    )
    migrate(root)
    assert train_yaml(root) == NEW_TRAIN


def test_does_nothing_without_history_or_an_old_setting(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / CONFIGS).mkdir(parents=True)
    (plain / CONFIGS / "train.yaml").write_text(NEW_TRAIN)
    assert migrate(plain).stdout == ""
    assert train_yaml(plain) == NEW_TRAIN
    # A project already on the one setting (its HEAD interpolates it): nothing to carry over.
    current = project_before_update(tmp_path / "current", "${monitor.metric}", "min")
    migrate(current)
    assert train_yaml(current) == NEW_TRAIN
