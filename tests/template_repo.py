"""Throwaway git repositories of this template, and the rules its release tags follow.

Update tests need the template at two tagged versions. ``write_snapshot`` copies what Copier
would render from this checkout (tracked files plus untracked, non-ignored ones: the same set
Copier takes from a dirty local template) into a scratch repository; ``commit_release`` commits
and tags it. ``release_tag_problems`` checks the tags of a repository against its CHANGELOG.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from packaging.version import InvalidVersion, Version
from release_notes import UNRELEASED, changelog_releases, unreleased_entries

__all__ = ["changelog_releases", "unreleased_entries"]  # re-exported for the test modules

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
# What a template release consists of (everything Copier reads; docs and tests are not needed).
SNAPSHOT_PATHS = ("copier.yml", "extensions", "template", "migrations", "tasks")


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; return stdout, raise with stderr on failure."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}:\n{proc.stderr}")
    return proc.stdout


def template_files(root: Path = TEMPLATE_ROOT) -> list[str]:
    """Relative paths of the template's files as Copier sees them in this checkout."""
    out = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--")
    wanted = [p for p in out.split("\0") if p and p.split("/", 1)[0] in SNAPSHOT_PATHS]
    return sorted(p for p in set(wanted) if (root / p).is_file())


def clear_tree(repo: Path) -> None:
    """Delete everything in ``repo`` but its .git folder (create ``repo`` if missing)."""
    repo.mkdir(parents=True, exist_ok=True)
    for child in repo.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def write_snapshot(repo: Path, root: Path = TEMPLATE_ROOT) -> None:
    """Make ``repo``'s working tree (all but .git) a copy of the template's current files."""
    clear_tree(repo)
    for rel in template_files(root):
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)


def init_repo(repo: Path) -> Path:
    """A new, empty git repository at ``repo`` (commits need GIT_AUTHOR_*/GIT_COMMITTER_*)."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "config", "tag.gpgsign", "false")
    return repo


def commit_all(repo: Path, message: str) -> str:
    """Stage everything, commit (even when nothing changed); return the commit hash."""
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def commit_release(repo: Path, version: str) -> str:
    """Commit the working tree as release ``version`` with an annotated tag; return the hash."""
    commit = commit_all(repo, f"Release {version}")
    git(repo, "tag", "--annotate", version, "-m", f"Release {version}")
    return commit


def changelog_problems(text: str) -> list[str]:
    """What is wrong with a CHANGELOG's structure: one line per problem, empty when fine."""
    names = changelog_releases(text)
    if not names or names[0] != UNRELEASED:
        return [f"the first section must be '## {UNRELEASED}'"]
    problems = []
    versions = []
    for name in names[1:]:
        try:
            version = Version(name)
        except InvalidVersion:
            problems.append(f"release heading {name!r} is not a PEP 440 version")
            continue
        if str(version) != name:
            problems.append(f"release heading {name!r} is not in canonical form {version}")
        versions.append(version)
    if versions != sorted(versions, reverse=True) or len(set(versions)) != len(versions):
        problems.append("releases are not listed newest first, each once")
    return problems


def release_tag_problems(repo: Path) -> list[str]:
    """Problems with ``repo``'s release tags; empty when each tag is where its release is.

    A release tag is the bare PEP 440 version (``0.1.0``, no ``v``), on the commit whose
    CHANGELOG.md lists that version as its newest release with nothing under Unreleased.
    Projects record the tag in ``.copier-answers.yml`` and ``copier update`` re-renders their
    old version from it: a tag moved to another commit changes that base and the update
    misattributes the difference (silently reverting or conflicting with the template).
    """
    problems = []
    for tag in git(repo, "tag", "--list").split():
        try:
            canonical = str(Version(tag))
        except InvalidVersion:
            continue  # not a release tag
        if canonical != tag:
            problems.append(f"tag {tag!r}: release tags are bare canonical versions ({canonical})")
            continue
        proc = subprocess.run(
            ["git", "show", f"{tag}^{{commit}}:CHANGELOG.md"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            problems.append(f"tag {tag}: its commit has no CHANGELOG.md")
            continue
        releases = [n for n in changelog_releases(proc.stdout) if n != UNRELEASED]
        if not releases or releases[0] != tag:
            newest = releases[0] if releases else "none"
            problems.append(
                f"tag {tag}: its commit's newest CHANGELOG release is {newest}; "
                "the tag points at the wrong commit (moved?)"
            )
        elif unreleased_entries(proc.stdout):
            problems.append(
                f"tag {tag}: its commit has entries under Unreleased; "
                "the tag points past its release commit (moved?)"
            )
    return problems


def newest_release_tag(repo: Path = TEMPLATE_ROOT) -> str | None:
    """The newest release tag (a bare canonical version) in the history of ``repo``'s HEAD."""
    versions = []
    for tag in git(repo, "tag", "--list", "--merged", "HEAD").split():
        try:
            version = Version(tag)
        except InvalidVersion:
            continue  # not a release tag
        if str(version) == tag:
            versions.append(version)
    return str(max(versions)) if versions else None


def write_release(repo: Path, source: Path, tag: str) -> None:
    """Make ``repo``'s working tree (all but .git) the files of ``source`` at release ``tag``."""
    clear_tree(repo)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", tag], cwd=source, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(repo, filter="data")
