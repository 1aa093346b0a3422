"""Shared fixtures: render each answer set once per session, install the default project once."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TEMPLATE_ROOT / "extensions"), str(TEMPLATE_ROOT / "scripts")]

import torch_template  # noqa: E402  (the extension, imported bare for tests)
from local_project import RUNNING_PYTHON, install_editable  # noqa: E402
from local_project import render as render_answers  # noqa: E402

BACKENDS = torch_template.backend_names()
# Rendered projects target the interpreter running the tests, so their installs are honest.
DEFAULT_ANSWERS: dict[str, Any] = {
    "project_name": "Smoke Project",
    "package_name": "smoke_project",
    "python_version": RUNNING_PYTHON,
}


def import_file(name: str, path: Path) -> ModuleType:
    """Import a script that is not part of a package (a MkDocs hook, a migration) as a module."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(dst: Path, **answers: Any) -> Path:
    """Render the template at git HEAD (plus uncommitted changes) into ``dst``; tasks skipped."""
    return render_answers(dst, {**DEFAULT_ANSWERS, **answers})


@pytest.fixture(scope="session", autouse=True)
def _isolated_copier_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An empty Copier settings file (a developer's own cannot leak in) and a git identity."""
    settings = tmp_path_factory.mktemp("copier-settings") / "settings.yml"
    settings.write_text("{}\n")
    isolated = {
        "COPIER_SETTINGS_PATH": str(settings),
        # Commits made by tests (update tests, the git-init task) need an identity on CI.
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "tests@torch-template.invalid",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "tests@torch-template.invalid",
    }
    saved = {key: os.environ.get(key) for key in isolated}
    os.environ.update(isolated)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def render_variant(tmp_path_factory: pytest.TempPathFactory):
    """Factory: the rendered project for a backend, rendered once per session."""
    cache: dict[str, Path] = {}

    def _render(backend: str = "cpu") -> Path:
        if backend not in cache:
            dst = tmp_path_factory.mktemp(f"render-{backend}") / "smoke-project"
            cache[backend] = render(dst, torch_backend=backend)
        return cache[backend]

    return _render


@pytest.fixture(scope="session", params=BACKENDS)
def variant_project(request: pytest.FixtureRequest, render_variant) -> Path:
    """Each backend's rendered project (parametrized over the data table)."""
    return render_variant(request.param)


@dataclass(frozen=True)
class InstalledProject:
    """A rendered project installed (editable) in a venv that reuses this env's CPU torch."""

    root: Path
    python: Path
    package: str

    def run(
        self,
        *args: str,
        timeout: float = 600,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python ARGS`` in the project root with the project's venv."""
        proc = subprocess.run(
            [str(self.python), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})},
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"python {' '.join(args)} exited {proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
            )
        return proc


def install_project(root: Path, venv_dir: Path, package: str) -> InstalledProject:
    """Editable install with no dependency resolution: torch & co come from this environment."""
    return InstalledProject(root=root, python=install_editable(root, venv_dir), package=package)


@pytest.fixture(scope="session")
def installed_project(render_variant, tmp_path_factory: pytest.TempPathFactory) -> InstalledProject:
    """The default (cpu) project, rendered and installed once per session."""
    root = render_variant("cpu")
    return install_project(root, tmp_path_factory.mktemp("venv-cpu") / "venv", "smoke_project")
