"""This repository's own workflows (``.github/workflows/``): validated with the tools and rules
the rendered projects' workflows pass (``test_variants.py``), and the release notes they publish.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TEMPLATE_ROOT, torch_template
from release_notes import (
    UNRELEASED,
    changelog_releases,
    release_notes,
    section_lines,
    section_notes,
    unreleased_entries,
)
from test_variants import PINNED_ACTION_RE, WORKFLOWS, actionlint, assert_schema, zizmor

CHANGELOG = (TEMPLATE_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
FILES = sorted((TEMPLATE_ROOT / WORKFLOWS).glob("*.yml"))
RELATIVE = [str(p.relative_to(TEMPLATE_ROOT)) for p in FILES]
# copier-template-extensions, which renders this template, needs Python 3.11 or newer.
OLDEST_COPIER_PYTHON = (3, 11)


def load(name: str) -> dict[str, Any]:
    """A workflow as data (YAML reads its ``on`` key as ``True``: put back as ``on``)."""
    workflow: dict[str, Any] = yaml.safe_load((TEMPLATE_ROOT / WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def commands(job: dict[str, Any]) -> str:
    """Every ``run`` of a job, one after the other."""
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_the_repository_has_its_ci_and_release_workflows() -> None:
    assert RELATIVE == [".github/workflows/ci.yml", ".github/workflows/release.yml"]


def test_workflows_match_the_github_schema() -> None:
    assert_schema(TEMPLATE_ROOT, "vendor.github-workflows", *RELATIVE)


def test_workflows_pass_zizmor() -> None:
    assert zizmor(*RELATIVE, cwd=TEMPLATE_ROOT) == []


def test_workflows_pass_actionlint() -> None:
    problems = actionlint(*RELATIVE, cwd=TEMPLATE_ROOT)
    assert not problems, problems


def rendered_pins() -> set[str]:
    """Every ``uses:`` line of the template's own rendered workflows."""
    lines = set()
    for path in (TEMPLATE_ROOT / "template" / WORKFLOWS).iterdir():
        lines |= {line.strip().removeprefix("- ") for line in path.read_text().splitlines()}
    return {line for line in lines if line.startswith("uses:")}


@pytest.mark.parametrize("path", FILES, ids=RELATIVE)
def test_actions_are_pinned_as_in_the_rendered_workflows(path: Path) -> None:
    """By commit, the release beside it, and the same commit the rendered workflows use."""
    pins = rendered_pins()
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert uses, path.name
    for line in uses:
        assert PINNED_ACTION_RE.match(line), f"{path.name}: not pinned by SHA: {line.strip()}"
        assert line.strip().removeprefix("- ") in pins, f"{path.name}: another pin: {line}"


@pytest.mark.parametrize("path", FILES, ids=RELATIVE)
def test_least_privilege_and_bounded_jobs(path: Path) -> None:
    """Nothing at the top, each job its own permissions: only the release may write."""
    workflow = load(path.name)
    assert workflow["permissions"] == {}, path.name
    for name, job in workflow["jobs"].items():
        allowed = {"contents": "write"} if name == "release" else {"contents": "read"}
        assert job["permissions"] == allowed, f"{path.name}: {name}"
        assert job["timeout-minutes"] <= 60, f"{path.name}: {name}"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{path.name}: {name}"


def test_ci_runs_the_suite_and_the_portable_tests_on_macos_and_windows() -> None:
    jobs = load("ci.yml")["jobs"]
    assert "bash .ci/run" in commands(jobs["suite"])
    assert jobs["suite"]["runs-on"].startswith("ubuntu")
    systems = jobs["portable"]["strategy"]["matrix"]["os"]
    assert {os.split("-")[0] for os in systems} == {"macos", "windows"}
    run = commands(jobs["portable"])
    assert "tests/test_extension.py tests/test_questions.py" in run
    assert "--group portable" in run


def test_ci_renders_a_project_for_every_python_a_project_may_target() -> None:
    render = load("ci.yml")["jobs"]["render"]
    rows = render["strategy"]["matrix"]["include"]
    assert [row["python"] for row in rows] == torch_template.python_choices()
    for row in rows:
        version = tuple(int(part) for part in row["python"].split("."))
        copier_python = max(version, OLDEST_COPIER_PYTHON)
        assert row["copier-python"] == ".".join(map(str, copier_python)), row
    assert "copier copy --trust --defaults" in commands(render)


def test_the_release_publishes_the_notes_of_the_pushed_tag() -> None:
    workflow = load("release.yml")
    assert workflow["on"] == {"push": {"tags": ["[0-9]*"]}}, "bare versions: 0.2.0, not v0.2.0"
    run = commands(workflow["jobs"]["release"])
    assert 'scripts/release_notes.py "$VERSION" > "$RUNNER_TEMP/release-notes.md"' in run
    assert '--notes-file "$RUNNER_TEMP/release-notes.md"' in run


# --- scripts/release_notes.py: what the release workflow publishes ---------------------------

RELEASES = [name for name in changelog_releases(CHANGELOG) if name != UNRELEASED]
# The CHANGELOG as on a release commit: nothing under Unreleased.
RELEASED = "\n".join(
    line for line in CHANGELOG.splitlines() if line not in set(unreleased_entries(CHANGELOG))
)


@pytest.mark.parametrize("version", RELEASES)
def test_release_notes_are_the_versions_changelog_section(version: str) -> None:
    notes = section_notes(CHANGELOG, version)
    assert notes == "\n".join(section_lines(CHANGELOG, version)).strip() + "\n"
    assert "\n## " not in notes, "one section, not the next ones"
    assert notes.strip(), version


def test_the_script_prints_the_notes_as_the_workflow_runs_it(tmp_path: Path) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(RELEASED, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "scripts/release_notes.py", RELEASES[0], "--changelog", str(changelog)],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout == release_notes(RELEASED, RELEASES[0]) == section_notes(CHANGELOG, RELEASES[0])
    )


@pytest.mark.parametrize(
    ("text", "version", "problem"),
    [
        (RELEASED, "99.0.0", "no '## 99.0.0' section"),
        (RELEASED, f"v{RELEASES[-1]}", f"no '## v{RELEASES[-1]}' section"),
        ("## Unreleased\n\n## 1.0.0 - 2026-01-01\n\n## 0.9.0\n\n- x\n", "1.0.0", "is empty"),
        ("## Unreleased\n\n- a fix\n\n## 1.0.0 - 2026-01-01\n\n- x\n", "1.0.0", "Unreleased"),
    ],
    ids=["missing", "v-prefixed", "empty", "unreleased-entries"],
)
def test_a_version_that_cannot_be_released_fails_in_one_line(
    tmp_path: Path, text: str, version: str, problem: str
) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "scripts/release_notes.py", version, "--changelog", str(changelog)],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: CHANGELOG.md"), proc.stderr
    assert problem in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
