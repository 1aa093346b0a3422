"""A processed copy of raw data files, built once and reused while files and settings hold.

``ProcessedCache`` keeps tensors in ``<cache_dir>/<name>-<key>/`` where the key is a SHA-256 of
the raw files (their paths relative to the data's root, sizes and modification times) and of
the preprocessing settings. Editing a file or changing a setting makes a new key, so a stale
cache is rebuilt, never reused. A build writes into a temporary folder that is renamed into
place when complete: an interrupted or failed build leaves nothing half-written. A file lock
makes processes that start together (DDP ranks, parallel jobs) build it once; the others wait
and read it. Tensors load memory-mapped, so a large cache costs no memory until it is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from torch import Tensor

TENSORS = "tensors.pt"
META = "meta.json"
# A fingerprint changes with any of these; content is not read (a data folder can be large).
Fingerprinted = tuple[str, int, int]


def fingerprint(root: Path, files: Iterable[Path], settings: Mapping[str, Any]) -> str:
    """Return the cache key of ``files`` (below ``root``) preprocessed with ``settings``."""
    digest = hashlib.sha256()
    described: list[Fingerprinted] = []
    for path in sorted(files):
        stat = path.stat()
        relative = path.relative_to(root).as_posix() if path != root else path.name
        described.append((relative, stat.st_size, stat.st_mtime_ns))
    digest.update(json.dumps(described).encode())
    digest.update(json.dumps(dict(settings), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


Built = tuple[dict[str, Tensor], dict[str, Any]]


class ProcessedCache:
    """Tensors and metadata derived from raw files, in their own keyed folder."""

    def __init__(
        self,
        cache_dir: str | Path,
        name: str,
        root: Path,
        files: Iterable[Path],
        settings: Mapping[str, Any],
    ) -> None:
        """Key the cache ``name`` by ``files`` (below ``root``) and ``settings``."""
        self.cache_dir = Path(cache_dir)
        self.key = fingerprint(root, files, settings)
        self.path = self.cache_dir / f"{name}-{self.key}"

    def exists(self) -> bool:
        """Whether a complete cache for these files and settings is on disk."""
        return (self.path / META).is_file()

    def get_or_build(self, build: Callable[[], Built]) -> Built:
        """Return the cached tensors and metadata, calling ``build`` once if there are none."""
        if not self.exists():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.path) + ".lock"):
                if not self.exists():  # another process may have built it meanwhile
                    self._write(*build())
        return self.load()

    def load(self) -> Built:
        """Read the cache: tensors memory-mapped, metadata as plain values."""
        tensors = torch.load(self.path / TENSORS, mmap=True, weights_only=True)
        meta = json.loads((self.path / META).read_text(encoding="utf-8"))
        return tensors, meta

    def _write(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        partial = self.path.with_name(f".{self.path.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            torch.save({k: v.contiguous() for k, v in tensors.items()}, partial / TENSORS)
            (partial / META).write_text(json.dumps(meta), encoding="utf-8")  # order kept
            partial.replace(self.path)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
