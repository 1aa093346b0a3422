"""Which checkpoint a run resumes from: ``ckpt_path`` as a path, ``last`` or ``auto``.

``ckpt_path=last`` resumes the newest checkpoint of *this* run directory, which is the one
Hydra uses: resume an earlier run with ``ckpt_path=last hydra.run.dir=<that run's directory>``.
``ckpt_path=auto`` does the same when there is a checkpoint and starts from scratch when there
is none, for jobs that a scheduler may start again in the same directory.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MissingCheckpointError

LAST = "last"
AUTO = "auto"
CHECKPOINT_DIR = "checkpoints"


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
