"""Copier task: lock the project's dependencies with uv, so ``uv.lock`` is there from day one.

Run in the project's root with Copier's own Python, before the git task, so the lock file goes
into the initial commit. On a fresh copy it creates ``uv.lock``; on ``copier update`` it runs
only when the project already has a ``uv.lock``, which a changed ``pyproject.toml`` would
otherwise leave stale. ``uv lock`` resolves against PyPI and the torch index named in
``pyproject.toml`` (``UV_INDEX`` can point that index elsewhere, as the template's tests do).

It never fails the copy (Copier would delete the new project): when uv is missing, the machine
is offline or the lock fails, it prints the exact command to run later and exits 0.

Usage: python lock_dependencies.py copy|update
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

# uv gives up on an unreachable index long before this; a hung network must not hang Copier.
TIMEOUT_S = 600
PREFIX = "torch-template:"


def later(root: Path, why: str) -> int:
    """Say why there is no fresh lock and what to run once it can work; exit status 0."""
    print(
        f"{PREFIX} {why}. uv.lock was not written: run 'uv lock' in {root} "
        "(with uv installed and the package indexes reachable), then commit uv.lock.",
        file=sys.stderr,
    )
    return 0


def main(operation: str) -> int:
    """Lock on copy, re-lock on update when a lock exists; always exit 0."""
    root = Path.cwd()
    if not (root / "pyproject.toml").is_file():
        return 0
    if operation == "update" and not (root / "uv.lock").is_file():
        return 0
    uv = shutil.which("uv")
    if uv is None:
        return later(root, "uv is not on PATH")
    try:
        proc = subprocess.run(
            [uv, "lock"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return later(root, f"'uv lock' did not finish within {TIMEOUT_S} s")
    except OSError as error:
        return later(root, f"'uv lock' could not start ({error})")
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.strip()]
        reason = errors[0].strip() if errors else f"exit status {proc.returncode}"
        return later(root, f"'uv lock' failed: {reason}")
    print(f"{PREFIX} locked the dependencies in uv.lock.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "copy"))
