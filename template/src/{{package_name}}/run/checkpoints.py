"""Which checkpoint a run resumes from: ``ckpt_path`` as a path, ``last`` or ``auto``.

``ckpt_path=last`` resumes the newest checkpoint of *this* run directory, which is the one
Hydra uses: resume an earlier run with ``ckpt_path=last hydra.run.dir=<that run's directory>``.
``ckpt_path=auto`` does the same when there is a checkpoint and starts from scratch when there
is none, for jobs that a scheduler may start again in the same directory.

A checkpoint is a file, or, from sharded training (``trainer=fsdp``), a folder of the same name
holding one shard per process and the rest of the state in ``meta.pt``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..errors import MissingCheckpointError

LAST = "last"
AUTO = "auto"
CHECKPOINT_DIR = "checkpoints"
# What Lightning's ModelParallelStrategy writes beside the shards of a sharded checkpoint.
SHARDED_METADATA = "meta.pt"


def is_sharded(path: Path) -> bool:
    """Tell whether ``path`` is a sharded checkpoint folder."""
    return path.is_dir() and (path / SHARDED_METADATA).is_file()


def is_checkpoint(path: Path) -> bool:
    """Tell whether ``path`` is a checkpoint: a file, or a sharded checkpoint folder."""
    return path.is_file() or is_sharded(path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True``; a sharded one is consolidated.

    The shards are gathered into one state (``state_dict``, and ``optimizer_states`` in
    Lightning's layout) without a process group, so one process can evaluate or inspect it.
    """
    import torch

    if not is_sharded(path):
        loaded: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        return loaded
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    with tempfile.TemporaryDirectory() as scratch:
        merged = Path(scratch) / "merged.pt"
        dcp_to_torch_save(path, merged)
        shards: dict[str, Any] = torch.load(merged, map_location="cpu", weights_only=True)
    checkpoint: dict[str, Any] = torch.load(
        path / SHARDED_METADATA, map_location="cpu", weights_only=True
    )
    checkpoint["state_dict"] = shards.pop("state_dict")
    optimizers = sorted(key for key in shards if key.startswith("optimizer_"))
    checkpoint["optimizer_states"] = [shards[key] for key in optimizers]
    return checkpoint


def resolve_ckpt_path(ckpt_path: str | None, output_dir: str | Path) -> Path | None:
    """Turn the ``ckpt_path`` setting into a checkpoint path (None: start from scratch).

    ``last`` means the newest ``*.ckpt`` in ``<output_dir>/checkpoints`` (``last.ckpt`` wins
    a tie), ``auto`` the same or None when there is none; any other value must be a
    checkpoint (a file, or a sharded checkpoint folder).
    """
    if not ckpt_path:
        return None
    directory = Path(output_dir) / CHECKPOINT_DIR
    if str(ckpt_path) == AUTO:
        found = any(is_checkpoint(path) for path in directory.glob("*.ckpt"))
        return newest_checkpoint(directory) if found else None
    if str(ckpt_path) == LAST:
        return newest_checkpoint(directory)
    path = Path(str(ckpt_path))
    if not is_checkpoint(path):
        raise MissingCheckpointError(
            f"ckpt_path={str(ckpt_path)!r} is not a checkpoint file (or sharded checkpoint folder)"
        )
    return path


def newest_checkpoint(directory: Path) -> Path:
    """Return the most recently written checkpoint in ``directory``; raise if there is none."""
    found = sorted(directory.glob("*.ckpt")) if directory.is_dir() else []
    candidates = [path for path in found if is_checkpoint(path)]
    if not candidates:
        raise MissingCheckpointError(
            f"ckpt_path=last: no checkpoint in {directory}. It looks in this run's directory: "
            "pick the run to resume with hydra.run.dir=<its directory>"
        )
    return max(candidates, key=lambda path: (_written_at(path), path.stem == LAST))


def _written_at(path: Path) -> float:
    """When a checkpoint was last written (a sharded one: its newest file)."""
    if path.is_dir():
        return max(child.stat().st_mtime for child in path.iterdir())
    return path.stat().st_mtime


def is_inside(path: Path, directory: str | Path) -> bool:
    """Tell whether ``path`` lies in ``directory`` (both resolved)."""
    return Path(directory).resolve() in path.resolve().parents
