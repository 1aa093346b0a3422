"""Resuming a run: find the checkpoint to resume from, and keep logging into the same run.

``ckpt_path=last`` resumes the newest checkpoint of *this* run directory, which is the one
Hydra uses: resume an earlier run with ``ckpt_path=last hydra.run.dir=<that run's directory>``.
``ckpt_path=auto`` does the same when there is a checkpoint and starts from scratch when there
is none, for jobs that a scheduler may start again in the same directory.
Resumed in its own directory, a run keeps its logger versions, so the CSV metrics of both
parts land in one file (and TensorBoard shows one run).
"""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import DictConfig, open_dict

from ..errors import MissingCheckpointError

LAST = "last"
AUTO = "auto"
CHECKPOINT_DIR = "checkpoints"
# Loggers whose runs are folders <save_dir>/<name>/version_<n>: resuming reuses the newest.
VERSIONED_LOGGERS = ("CSVLogger", "TensorBoardLogger")
VERSION_DIR = re.compile(r"version_(\d+)")


def resolve_ckpt_path(ckpt_path: str | None, output_dir: str | Path) -> Path | None:
    """Turn the ``ckpt_path`` setting into a checkpoint file (None: start from scratch).

    ``last`` means the newest ``*.ckpt`` in ``<output_dir>/checkpoints`` (``last.ckpt`` wins
    a tie), ``auto`` the same or None when there is none; any other value must be a file.
    """
    if not ckpt_path:
        return None
    directory = Path(output_dir) / CHECKPOINT_DIR
    if str(ckpt_path) == AUTO:
        return newest_checkpoint(directory) if any(directory.glob("*.ckpt")) else None
    if str(ckpt_path) == LAST:
        return newest_checkpoint(directory)
    path = Path(str(ckpt_path))
    if not path.is_file():
        raise MissingCheckpointError(f"ckpt_path={str(ckpt_path)!r} is not a file")
    return path


def newest_checkpoint(directory: Path) -> Path:
    """Return the most recently written checkpoint in ``directory``; raise if there is none."""
    candidates = sorted(directory.glob("*.ckpt")) if directory.is_dir() else []
    if not candidates:
        raise MissingCheckpointError(
            f"ckpt_path=last: no checkpoint in {directory}. It looks in this run's directory: "
            "pick the run to resume with hydra.run.dir=<its directory>"
        )
    return max(candidates, key=lambda path: (path.stat().st_mtime, path.stem == LAST))


def is_inside(path: Path, directory: str | Path) -> bool:
    """Tell whether ``path`` lies in ``directory`` (both resolved)."""
    return Path(directory).resolve() in path.resolve().parents


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
