"""Shared fixtures: render each answer set once per session; install it once, on the user's path.

``uv_project(backend)`` is a project as a user gets it: ``copier copy`` with its tasks (``uv
lock`` against the torch stand-in index, ``git init``), then ``uv sync --locked``, in a shell
without this session's packages. ``installed_project`` is the default one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier
import pytest
import torch_template  # the extension (extensions/ is on pytest's pythonpath)
import yaml
from local_project import (
    RUNNING_PYTHON,
    SMOKE_ANSWERS,
    TEMPLATE_ROOT,
    import_file,
    install_editable,
)
from local_project import render as render_answers
from user_path import Shell, TorchStandIn, tools_dir, user_environment, uv_settings

__all__ = ["RUNNING_PYTHON", "import_file"]  # re-exported for the test modules

BACKENDS = torch_template.backend_names()
# Copies that run their tasks lock with uv only where a test asks for it (``uv_project``):
# elsewhere the lock would reach for the real, unreachable PyTorch index.
DEFAULT_ANSWERS: dict[str, Any] = {**SMOKE_ANSWERS, "lock_dependencies": False}


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


# The questions that choose the project's parts, and their defaults (copier.yml's).
COPIER_YML = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
CHOICES = ("tracker", "containers", "conda_env", "ci")
CHOICE_DEFAULTS: dict[str, Any] = {name: COPIER_YML[name]["default"] for name in CHOICES}


def render_label(backend: str, choices: dict[str, Any]) -> str:
    """A short name for an answer set: ``cpu``, ``cu126-mlflow-no-ci``."""
    words = [backend]
    for name, value in choices.items():
        words.append(str(value) if isinstance(value, str) else f"{'' if value else 'no-'}{name}")
    return "-".join(words)


@pytest.fixture(scope="session")
def render_variant(tmp_path_factory: pytest.TempPathFactory):
    """Factory: the rendered project for a backend and choices, rendered once per session.

    ``render_variant("cu126", tracker="mlflow", ci=False)``; choices equal to their defaults
    are dropped, so the default project of a backend is rendered once whoever asks for it.
    """
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], Path] = {}

    def _render(backend: str = "cpu", **choices: Any) -> Path:
        unknown = set(choices) - set(CHOICES)
        assert not unknown, f"render_variant: {sorted(unknown)} are not among {CHOICES}"
        chosen = {k: v for k, v in choices.items() if v != CHOICE_DEFAULTS[k]}
        key = (backend, tuple(sorted(chosen.items())))
        if key not in cache:
            label = render_label(backend, dict(key[1]))
            dst = tmp_path_factory.mktemp(f"render-{label}") / "smoke-project"
            cache[key] = render(dst, torch_backend=backend, **chosen)
        return cache[key]

    return _render


@pytest.fixture(scope="session", params=BACKENDS)
def variant_project(request: pytest.FixtureRequest, render_variant) -> Path:
    """Each backend's rendered project (parametrized over the data table)."""
    return render_variant(request.param)


@dataclass(frozen=True)
class InstalledProject:
    """A rendered project installed in its own environment, and how to start its Python.

    ``launcher`` starts the project's Python: ``uv run python`` for a project uv installed (as
    its README says), the venv's interpreter for one linked to this environment. ``env`` is the
    environment commands run with.
    """

    root: Path
    python: Path
    package: str
    launcher: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def run(
        self,
        *args: str,
        timeout: float = 600,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python ARGS`` in the project root with the project's environment."""
        proc = subprocess.run(
            [*(self.launcher or (str(self.python),)), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**self.env, **(env or {})},
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"python {' '.join(args)} exited {proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
            )
        return proc


def install_project(root: Path, venv_dir: Path, package: str) -> InstalledProject:
    """Editable install with no dependency resolution: torch & co come from this environment."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return InstalledProject(
        root=root, python=install_editable(root, venv_dir), package=package, env=env
    )


@contextlib.contextmanager
def environ(env: dict[str, str]) -> Iterator[None]:
    """Replace the whole process environment for a block, Copier's tasks included.

    Copier starts its tasks with plumbum's ``local.env``, a copy of the environment taken when
    plumbum was imported, so that copy is replaced too.
    """
    from plumbum import local

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with local.env():
            local.env.clear()
            local.env.update(env)
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass(frozen=True)
class UvProject(InstalledProject):
    """A project as a user gets it: copied with its tasks, then ``uv sync --locked``."""

    shell: Shell = field(default_factory=lambda: Shell(Path(), {}))
    backend: str = "cpu"

    def uv(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run ``uv ARGS`` in the project, in the user's shell."""
        return self.shell.run("uv", *args, **kwargs)


# Wall times of the user's path per answer set, printed at the end of the session.
USER_PATH_TIMINGS: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="session")
def torch_stand_in(tmp_path_factory: pytest.TempPathFactory) -> TorchStandIn:
    """The local index that stands in for the PyTorch wheel index (CPU torch, this version)."""
    return TorchStandIn.build(tmp_path_factory.mktemp("torch-stand-in"))


@pytest.fixture(scope="session")
def user_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of tools a user installs by hand (uv), for the front of PATH."""
    return tools_dir(tmp_path_factory.mktemp("user-tools"))


@pytest.fixture(scope="session")
def uv_project(torch_stand_in: TorchStandIn, user_tools: Path, tmp_path_factory):
    """Factory: the project for a backend, copied and installed with uv once per session.

    ``copier copy`` runs the template's tasks (``uv lock`` against the stand-in, ``git
    init``), then ``uv sync --locked`` installs what the lock pins: no extras, as the README
    says, unless ``extras`` names some (``uv sync --locked --extra NAME``). A CUDA variant locks
    the stand-in's CPU wheel under its own index name.
    """
    cache: dict[tuple[str, tuple[str, ...] | None, tuple[str, ...]], UvProject] = {}

    def _make(
        backend: str = "cpu",
        starters: tuple[str, ...] | None = None,
        extras: tuple[str, ...] = (),
    ) -> UvProject:
        key = (backend, starters, extras)
        if key in cache:
            return cache[key]
        answers = {**DEFAULT_ANSWERS, "torch_backend": backend, "lock_dependencies": True}
        if starters is not None:
            answers["starters"] = list(starters)
        index = torch_template.derive(answers)["backend"]["index_name"]
        label = backend if starters is None else f"{backend}-{'-'.join(starters) or 'none'}"
        label += "".join(f"+{extra}" for extra in extras)
        root = tmp_path_factory.mktemp(f"uv-{label}") / "smoke-project"
        shell = Shell(root, user_environment(user_tools, **uv_settings(torch_stand_in, index)))
        start = time.perf_counter()
        with environ(shell.env):
            copier.run_copy(
                str(TEMPLATE_ROOT),
                root,
                data=answers,
                defaults=True,
                unsafe=True,
                skip_tasks=False,
                vcs_ref="HEAD",
                quiet=True,
            )
        shell.timings["copier copy + tasks (uv lock, git init)"] = time.perf_counter() - start
        with_extras = [arg for extra in extras for arg in ("--extra", extra)]
        shell.run("uv", "sync", "--locked", *with_extras, label="uv sync --locked")
        USER_PATH_TIMINGS[label] = shell.timings
        cache[key] = UvProject(
            root=root,
            python=root / ".venv" / "bin" / "python",
            package=DEFAULT_ANSWERS["package_name"],
            launcher=("uv", "run", "python"),
            env=shell.env,
            shell=shell,
            backend=backend,
        )
        return cache[key]

    return _make


@pytest.fixture(scope="session")
def installed_project(uv_project) -> InstalledProject:
    """The default (cpu) project, copied and installed the way its README says, once."""
    project: InstalledProject = uv_project("cpu")
    return project


@dataclass(frozen=True)
class Run:
    """A finished command: its run directory, output and wall time."""

    dir: Path
    proc: subprocess.CompletedProcess[str]
    seconds: float

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


@pytest.fixture(scope="session")
def smoke_run(uv_project, tmp_path_factory: pytest.TempPathFactory):
    """Factory: ``uv run python -m <pkg>.train experiment=smoke`` per backend, once a session."""
    runs: dict[str, Run] = {}

    def _run(backend: str = "cpu") -> Run:
        if backend not in runs:
            project: UvProject = uv_project(backend)
            run_dir = tmp_path_factory.mktemp(f"smoke-{backend}") / "smoke"
            start = time.perf_counter()
            proc = project.uv(
                "run",
                "python",
                "-m",
                f"{project.package}.train",
                "experiment=smoke",
                f"hydra.run.dir={run_dir}",
                label="uv run python -m <pkg>.train experiment=smoke",
            )
            runs[backend] = Run(run_dir, proc, time.perf_counter() - start)
        return runs[backend]

    return _run


# Files whose tests take minutes (installs, whole rendered suites) are collected first, so that
# pytest-xdist (scripts/test.sh, a file per worker) starts them first and both workers finish
# at about the same time, instead of one running the longest file alone at the end.
LONGEST_FILES = (
    "test_bring_your_own.py",
    "test_user_path.py",
    "test_starters.py",
    "test_update.py",
    "test_trackers.py",
    "test_choices.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the longest files' tests first (a stable sort: order within a file is kept)."""
    rank = {name: index for index, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the wall times of the user's path (lock, sync, the project's commands)."""
    if not USER_PATH_TIMINGS:
        return
    terminalreporter.section("the user's path: wall times")
    for backend, timings in USER_PATH_TIMINGS.items():
        for step, seconds in timings.items():
            terminalreporter.write_line(f"{backend:>18}  {seconds:7.1f} s  {step[:80]}")
