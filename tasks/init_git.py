"""Copier task: make a freshly copied project a git repository with one initial commit.

Run by ``copier copy`` (never on update) in the new project's root, with Copier's own Python,
so it works the same on Linux, macOS and Windows. It never downloads anything. When the
destination is already inside a git work tree, or git is missing or fails, it changes nothing
and says so: a failed task would make Copier delete the whole new project.

Usage: python init_git.py AUTHOR_NAME AUTHOR_EMAIL
"""

from __future__ import annotations

import shutil
import subprocess
import sys

MESSAGE = "Initial commit from torch-template"


def git(*args: str) -> subprocess.CompletedProcess[str]:
    """Run one git command in the current directory, capturing its output."""
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def configured(key: str) -> bool:
    """Whether git already has a value for ``key`` (user.name, user.email)."""
    return git("config", key).returncode == 0


def main(author_name: str, author_email: str) -> int:
    """Initialise and commit; always exit 0 so Copier keeps the project."""
    if shutil.which("git") is None:
        print("torch-template: git not found; run 'git init' yourself.", file=sys.stderr)
        return 0
    if git("rev-parse", "--is-inside-work-tree").returncode == 0:
        return 0
    identity = []
    if not configured("user.name"):
        identity += ["-c", f"user.name={author_name}"]
    if not configured("user.email"):
        identity += ["-c", f"user.email={author_email}"]
    for step in (
        ("init", "--quiet"),
        ("add", "--all"),
        (
            *identity,
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            MESSAGE,
        ),
    ):
        result = git(*step)
        if result.returncode != 0:
            print(
                f"torch-template: 'git {' '.join(step)}' failed ({result.stderr.strip()}); "
                "finish the git setup yourself.",
                file=sys.stderr,
            )
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
