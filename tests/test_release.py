"""Releases of this template: a well-formed CHANGELOG, and tags that stay where they were put.

``copier update`` re-renders a project's old version from its release tag: a tag moved to
another commit, or named other than the bare version, corrupts that base.
"""

from __future__ import annotations

from pathlib import Path

from conftest import TEMPLATE_ROOT
from template_repo import (
    changelog_problems,
    commit_all,
    commit_release,
    git,
    init_repo,
    release_tag_problems,
)

CHANGELOG = (TEMPLATE_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_changelog_is_well_formed() -> None:
    assert changelog_problems(CHANGELOG) == []


def test_release_tags_of_this_repository_sit_on_their_release_commits() -> None:
    assert release_tag_problems(TEMPLATE_ROOT) == []


def test_a_moved_or_prefixed_tag_is_reported(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    changelog = repo / "CHANGELOG.md"
    changelog.write_text("# Changelog\n\n## Unreleased\n\n## 0.1.0 - 2026-01-01\n\n- First.\n")
    commit_release(repo, "0.1.0")
    assert release_tag_problems(repo) == []
    text = changelog.read_text().replace("## Unreleased\n", "## Unreleased\n\n- A fix.\n")
    changelog.write_text(text)
    later = commit_all(repo, "A fix")
    git(repo, "tag", "--force", "0.1.0", later)  # re-pointing a published tag
    git(repo, "tag", "v0.2.0", later)
    problems = release_tag_problems(repo)
    assert any(p.startswith("tag 0.1.0:") and "moved" in p for p in problems), problems
    assert any(p.startswith("tag 'v0.2.0'") for p in problems), problems
