"""Copier migration: rename a Hydra config group in a generated project (OLD -> NEW).

Run by ``copier update`` (see ``_migrations`` in copier.yml) in the project root, in the
``before`` stage, with Copier's own interpreter; usable by hand too::

    python migrations/rename_config_group.py datamodule data

It moves ``src/*/configs/OLD/`` to ``src/*/configs/NEW/`` and rewrites the references to the
group in the project's tracked YAML configs (defaults-list entries, ``override /OLD``,
``${OLD.x}`` interpolations, ``# @package OLD`` headers, the ``OLD:`` key of ``_global_``
configs). The template never updates user-owned configs (experiments, data, models), so without
this step they would keep pointing at a group that no longer exists.

- Renames are staged (``git mv``): Copier computes the user's changes from the git index, and
  an unstaged move would bring the old files back. Rewrites stay unstaged: in template-owned
  files the update's own merge makes the same change, and a staged copy of it would show up as
  a spurious conflict (``--conflict rej``); in the user's files nothing else touches them.
- Idempotent: a second run finds nothing to move or rewrite and changes nothing.
- Refuses (exit 1, nothing changed) when a file exists under both names; never overwrites.
- Stdlib only, no network: it runs under whatever Python runs Copier (3.9+).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CONFIG_DIRS_GLOB = "src/*/configs"


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def in_git_work_tree() -> bool:
    """True when the current directory is inside a git work tree."""
    proc = _git("rev-parse", "--is-inside-work-tree")
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def is_tracked(path: Path) -> bool:
    """True when git tracks ``path``."""
    return _git("ls-files", "--error-unmatch", "--", str(path)).returncode == 0


def planned_moves(root: Path, old: str, new: str) -> list[tuple[Path, Path]]:
    """Every file under ``configs/OLD/`` with its destination under ``configs/NEW/``."""
    moves = []
    for configs in sorted(root.glob(CONFIG_DIRS_GLOB)):
        source_dir = configs / old
        if not source_dir.is_dir():
            continue
        for source in sorted(p for p in source_dir.rglob("*") if p.is_file()):
            moves.append((source, configs / new / source.relative_to(source_dir)))
    return moves


def rewrite_references(text: str, old: str, new: str) -> str:
    """``text`` (a YAML config) with every reference to group ``old`` pointing at ``new``."""
    name = re.escape(old)
    # Defaults-list entries: "- data: x", "- override /data: x", "- optional data/sub@k: x".
    text = re.sub(
        rf"(?m)^(\s*-\s*(?:(?:override|optional)\s+)*/?){name}(?=(?:/[\w/]*)?(?:@[\w.]*)?\s*:)",
        rf"\g<1>{new}",
        text,
    )
    # Interpolations: ${data.batch_size}, ${data}.
    text = re.sub(rf"\$\{{{name}(?=[.}}])", f"${{{new}", text)
    # Package headers: "# @package data" (not "_global_" / "_group_").
    text = re.sub(rf"(?m)^(#\s*@package\s+){name}\b", rf"\g<1>{new}", text)
    # The group's node in global configs (experiments): a top-level "data:" key.
    if re.search(r"(?m)^#\s*@package\s+_global_\b", text):
        text = re.sub(rf"(?m)^{name}(?=\s*:)", new, text)
    return text


def tracked_configs(root: Path) -> list[Path]:
    """The YAML files under ``src/*/configs`` (the git-tracked ones inside a repository)."""
    files = sorted(
        p
        for configs in root.glob(CONFIG_DIRS_GLOB)
        for p in configs.rglob("*")
        if p.is_file() and p.suffix in {".yaml", ".yml"}
    )
    if in_git_work_tree():
        files = [p for p in files if is_tracked(p)]
    return files


def migrate(root: Path, old: str, new: str) -> list[str]:
    """Rename group ``old`` to ``new`` under ``root``; return what was done, one line each."""
    use_git = in_git_work_tree()
    moves = planned_moves(root, old, new)
    clashes = [dst for _, dst in moves if dst.exists()]
    if clashes:
        names = ", ".join(str(p.relative_to(root)) for p in clashes)
        raise SystemExit(
            f"rename_config_group: {names} already exist(s); merge the files of "
            f"configs/{old}/ into configs/{new}/ by hand, delete configs/{old}/, then rerun."
        )
    done = []
    for source, target in moves:
        target.parent.mkdir(parents=True, exist_ok=True)
        if use_git and is_tracked(source):
            subprocess.run(["git", "mv", "--", str(source), str(target)], check=True)
        else:
            source.rename(target)
        done.append(f"moved {source.relative_to(root)} -> {target.relative_to(root)}")
    for configs in root.glob(CONFIG_DIRS_GLOB):
        source_dir = configs / old
        if source_dir.is_dir():
            directories = [d for d in source_dir.rglob("*") if d.is_dir()] + [source_dir]
            for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
                if not any(directory.iterdir()):
                    directory.rmdir()
    for path in tracked_configs(root):
        text = path.read_text(encoding="utf-8")
        rewritten = rewrite_references(text, old, new)
        if rewritten != text:
            path.write_text(rewritten, encoding="utf-8")
            done.append(f"rewrote {path.relative_to(root)}")
    return done


def main(argv: list[str]) -> int:
    """Command line: ``rename_config_group.py OLD NEW`` in the project root."""
    if len(argv) != 2:
        print("usage: rename_config_group.py OLD_GROUP NEW_GROUP", file=sys.stderr)
        return 2
    old, new = argv
    for line in migrate(Path.cwd(), old, new):
        print(f"rename_config_group: {line}", file=sys.stderr)
    leftovers = [
        str(p)
        for p in sorted(Path.cwd().glob("src/*/**/*.py"))
        if re.search(rf"\b(cfg|config)\.{re.escape(old)}\b", p.read_text(encoding="utf-8"))
    ]
    if leftovers:
        print(
            f"rename_config_group: these files still read the '{old}' config node; "
            f"change them to '{new}': {', '.join(leftovers)}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
