"""The starters: file-backed examples picked at generation (``starters``), beside the synthetic
example, each user-owned once rendered.

``extensions/starters.toml`` lists what each starter renders; the template's
starter-conditional files must be exactly those. An empty selection renders the synthetic
example alone; a project with every starter installs on the user's path and passes its own
suite (each starter's tests train it on files written at test time); ``copier update --data
starters=...`` adds a starter to an existing project and leaves the user's files alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import copier
import pytest
import torch_template
from conftest import DEFAULT_ANSWERS, TEMPLATE_ROOT, render, render_answers
from template_repo import commit_all, commit_release, init_repo, write_snapshot

PKG = DEFAULT_ANSWERS["package_name"]
STARTERS = list(torch_template.load_starters())
CONDITION = re.compile(
    r"\{% if '(?P<starter>\w+)' in starters_selected %\}(?P<name>[^{]+)\{% endif %\}"
)
# The project's own suite, on 2 cores (issue: 30 s); a wide margin, against regressions only.
SUITE_GUARD_S = 120


def starter_files_in_the_template() -> dict[str, set[str]]:
    """Each starter's files, from the template's conditional file names."""
    found: dict[str, set[str]] = {name: set() for name in STARTERS}
    for path in (TEMPLATE_ROOT / "template").rglob("*"):
        relative = path.relative_to(TEMPLATE_ROOT / "template").as_posix()
        match = CONDITION.search(relative)
        if match and path.is_file():
            rendered = CONDITION.sub(r"\g<name>", relative).removesuffix(".jinja")
            found[match["starter"]].add(rendered.replace("{{package_name}}", "{package}"))
    return found


def test_the_table_lists_exactly_each_starters_files() -> None:
    table = {
        name: set(starter["files"]) for name, starter in torch_template.load_starters().items()
    }
    assert starter_files_in_the_template() == table


def test_the_default_is_the_tabular_starter_and_every_choice_is_offered() -> None:
    import yaml

    question = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())["starters"]
    assert question["multiselect"] is True
    assert question["default"] == ["tabular"]
    assert (
        set(torch_template.starter_choices().values())
        == set(STARTERS)
        == {"tabular", "image", "text"}
    )


def test_no_starter_renders_the_synthetic_example_alone(tmp_path: Path) -> None:
    root = render(tmp_path / "p", starters=[])
    for name in STARTERS:
        for relative in torch_template.starter_files(name, PKG):
            assert not (root / relative).exists(), relative
    assert (root / "src" / PKG / "data" / "synthetic.py").is_file()
    pyproject = (root / "pyproject.toml").read_text()
    assert "pillow" not in pyproject
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout


def test_starters_bring_their_dependencies_in_pyproject_and_conda(tmp_path: Path) -> None:
    root = render(tmp_path / "p", starters=["image", "tabular"])
    pyproject = (root / "pyproject.toml").read_text()
    assert '"pillow>=10.1",' in pyproject
    assert "  - pillow>=10.1\n" in (root / "environment.yml").read_text()


@pytest.mark.slow
def test_a_project_with_every_starter_and_extra_passes_its_suite(uv_project) -> None:
    """Installed with uv (Pillow comes with the image starter) with the parquet and export
    extras, so every starter's Parquet and ONNX paths run against the real libraries (the
    default project proves the path without extras in test_user_path.py)."""
    extras = ("parquet", "export")
    project = uv_project("cpu", tuple(STARTERS), extras)
    start = time.perf_counter()
    proc = project.uv(
        "run",
        *(arg for extra in extras for arg in ("--extra", extra)),
        "pytest",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        check=False,
        label="uv run pytest (every starter)",
    )
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "needs the parquet extra" not in proc.stdout
    assert "needs the export extra" not in proc.stdout
    for name in STARTERS:
        assert f"tests/starters/test_{name}_starter.py" in proc.stdout or name == "tabular"
    assert seconds < SUITE_GUARD_S, f"the project's suite took {seconds:.0f} s"


@pytest.fixture(scope="module")
def template_with_starters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = init_repo(tmp_path_factory.mktemp("starters-template") / "torch-template")
    write_snapshot(repo)
    commit_release(repo, "0.2.0")
    return repo


def test_an_update_adds_a_starter_and_leaves_the_users_files(
    template_with_starters: Path, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    render_answers(
        root,
        {**DEFAULT_ANSWERS, "starters": ["tabular"]},
        vcs_ref="0.2.0",
        template=template_with_starters,
    )
    init_repo(root)
    tabular = root / "src" / PKG / "data" / "tabular.py"
    tabular.write_text(tabular.read_text() + "\n# my own change\n")
    commit_all(root, "Generated, then edited")
    for relative in torch_template.starter_files("image", PKG):
        assert not (root / relative).exists()
    copier.run_update(
        root,
        data={"starters": ["tabular", "image"]},
        vcs_ref=copier.VcsRef.CURRENT,
        defaults=True,
        overwrite=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
    )
    for relative in torch_template.starter_files("image", PKG):
        assert (root / relative).is_file(), relative
    assert tabular.read_text().endswith("# my own change\n")
    assert "- image" in (root / ".copier-answers.yml").read_text()
    assert '"pillow>=10.1",' in (root / "pyproject.toml").read_text()
    # The new datamodule is found without editing data/__init__.py (also the user's).
    code = (
        f"from {PKG}.registry import DATAMODULES, MODELS;"
        "print(DATAMODULES.available(), MODELS.available())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'images'" in proc.stdout
    assert "'small_cnn'" in proc.stdout
