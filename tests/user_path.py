"""The user's path: install and run a rendered project exactly as its README and its CI say.

The template's own environment has every extra and tool installed, so a project installed into
it can pass where a user's fresh install fails. These helpers install the way users do:

- ``TorchStandIn``: the PyTorch wheel index is unreachable here (and in CI), so a PEP 503
  simple index is built at test time from the CPU torch wheel that ``pip download`` returns
  for the torch version installed here, plus torch's own dependencies (the real index hosts
  those too). It replaces the project's named index through uv's environment
  (``UV_INDEX=<name>=file://...``) and pip's ``--index-url``; everything else comes from PyPI.
- ``user_environment``: the environment of a user's shell: no variables of this session's
  uv, pip, pytest or Hydra, only ``uv`` on PATH beside the system's tools, and the stand-in.
- ``workflow_steps``/``run_workflow_job``: a job of a rendered GitHub workflow, its ``run``
  steps executed as the runner would, read from the file rather than copied.
- ``markdown_commands``: the shell commands of one section of a rendered README.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

BIN = Path(sys.executable).parent
# The interpreter this environment was made from: what a user's machine would have installed.
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
# What a user's shell would not have: this session's own settings for these tools.
FOREIGN_ENV_PREFIXES = ("UV_", "PIP_", "PYTEST_", "HYDRA_", "VIRTUAL_ENV", "CONDA_", "PYTHON")
# Kept from this session: where downloads are cached (as on a user's machine, reused).
KEPT_ENV = ("UV_CACHE_DIR",)
# GitHub's runners run `run:` steps with this shell (jobs.<id>.defaults.run.shell: bash).
RUNNER_SHELL = ("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c")
HASH_FILES_IF = re.compile(r"^hashFiles\('([^']+)'\) != ''$")
MATRIX_EXPRESSION = re.compile(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}")


def pep503_name(name: str) -> str:
    """The normalised project name a simple index uses as folder name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_project(filename: str) -> str:
    """The project a wheel file belongs to (``torch-2.13.0+cpu-cp311-...whl`` -> ``torch``)."""
    return pep503_name(filename.split("-", 1)[0])


def is_cuda_wheel(wheel: Path) -> bool:
    """Whether a torch wheel is a CUDA build (it ships libtorch_cuda or depends on nvidia-*)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        if any("libtorch_cuda" in name for name in names):
            return True
        metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
    return bool(re.search(r"^Requires-Dist: nvidia-", text, flags=re.MULTILINE))


def pip(*args: str, cwd: Path | None = None, timeout: float = 600) -> str:
    """Run this environment's pip (with the machine's pip configuration); return its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr}")
    return proc.stdout


def write_simple_index(root: Path, files: list[Path]) -> Path:
    """Write a PEP 503 simple index of ``files`` (wheels in ``root/files``); return its root."""
    simple = root / "simple"
    projects: dict[str, list[Path]] = {}
    for path in files:
        projects.setdefault(wheel_project(path.name), []).append(path)
    for project, wheels in projects.items():
        page = simple / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="../../files/{quote(wheel.name)}">{html.escape(wheel.name)}</a><br>\n'
            for wheel in sorted(wheels)
        )
        page.write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    listing = "".join(f'<a href="{name}/">{name}</a><br>\n' for name in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{listing}</body></html>\n")
    return simple


@dataclass(frozen=True)
class TorchStandIn:
    """A local PEP 503 index standing in for a PyTorch wheel index (CPU torch only)."""

    root: Path
    torch_wheel: Path
    torch_version: str

    @property
    def url(self) -> str:
        """The index's URL, as uv and pip take it."""
        return (self.root / "simple").as_uri()

    @classmethod
    def build(cls, root: Path) -> TorchStandIn:
        """Download the CPU torch wheel of this environment's version and index it.

        ``pip download`` uses this machine's pip configuration (here: a local wheel folder;
        elsewhere: set ``PIP_FIND_LINKS`` or ``PIP_EXTRA_INDEX_URL`` to where the wheel is).
        """
        files = root / "files"
        files.mkdir(parents=True)
        torch_version = version("torch")
        pip("download", "--quiet", "--no-deps", f"torch=={torch_version}", "-d", str(files))
        (torch_wheel,) = files.glob("torch-*.whl")
        if is_cuda_wheel(torch_wheel):
            raise RuntimeError(f"{torch_wheel.name} is a CUDA build; the stand-in must be CPU")
        # torch's own requirements, as the real index serves them beside torch.
        pip("download", "--quiet", f"torch=={torch_version}", "-d", str(files))
        wheels = sorted(files.glob("*.whl"))
        not_wheels = sorted(p.name for p in files.iterdir() if p.suffix != ".whl")
        if not_wheels:
            raise RuntimeError(f"the stand-in holds wheels only; pip downloaded {not_wheels}")
        write_simple_index(root, wheels)
        return cls(root=root, torch_wheel=torch_wheel, torch_version=torch_version)


def user_environment(tools: Path, **extra: str) -> dict[str, str]:
    """A user's shell: this session's tool settings removed, ``tools`` first on PATH.

    ``tools`` holds only what a user installs by hand (uv); everything else comes from the
    system's PATH, never from the template's environment.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key in KEPT_ENV or not key.startswith(FOREIGN_ENV_PREFIXES)
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != BIN]
    env["PATH"] = os.pathsep.join([str(tools), *path])
    env.update(extra)
    return env


def tools_dir(root: Path) -> Path:
    """A folder holding only the tools a user installs: uv (from this environment)."""
    root.mkdir(parents=True, exist_ok=True)
    link = root / "uv"
    if not link.exists():
        link.symlink_to(BIN / "uv")
    return root


def uv_settings(stand_in: TorchStandIn, index_name: str) -> dict[str, str]:
    """uv's environment for a project: its torch index replaced by the stand-in.

    uv takes the interpreter the machine has (never one it would download), and reads no
    user or system ``uv.toml``.
    """
    return {
        "UV_INDEX": f"{index_name}={stand_in.url}",
        "UV_PYTHON": str(BASE_PYTHON),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_CONFIG": "1",
        "UV_NO_PROGRESS": "1",
        "NO_COLOR": "1",
    }


@dataclass
class Shell:
    """Commands run in one folder with one environment, each timed."""

    cwd: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def run(
        self, *args: str, timeout: float = 900, check: bool = True, label: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args``; with ``check``, raise with the output's tail unless it exits 0."""
        start = time.perf_counter()
        proc = subprocess.run(
            list(args),
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.timings[label or " ".join(args)] = time.perf_counter() - start
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {proc.returncode} in {self.cwd}\n"
                f"--- stdout ---\n{proc.stdout[-5000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"
            )
        return proc

    def bash(
        self, script: str, *, env: dict[str, str] | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        """Run a script as GitHub's runner runs a ``run:`` step (bash, -e, pipefail)."""
        start = time.perf_counter()
        proc = subprocess.run(
            [*RUNNER_SHELL, script],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.timings[script.strip().splitlines()[0]] = time.perf_counter() - start
        return proc


# --- GitHub workflows ------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowStep:
    """One step of a workflow job: a ``run`` script (or None for a ``uses`` action)."""

    name: str
    run: str | None
    uses: str | None
    env: dict[str, str]
    with_: dict[str, Any]
    condition: str | None


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow file, parsed (YAML 1.1 reads the key ``on`` as True; it is put back)."""
    workflow: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def workflow_steps(workflow: dict[str, Any], job: str) -> list[WorkflowStep]:
    """The steps of ``job``, in order."""
    steps = []
    for raw in workflow["jobs"][job]["steps"]:
        steps.append(
            WorkflowStep(
                name=str(raw.get("name") or raw.get("run") or raw.get("uses")),
                run=raw.get("run"),
                uses=raw.get("uses"),
                env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
                with_=dict(raw.get("with") or {}),
                condition=raw.get("if"),
            )
        )
    return steps


def step_applies(step: WorkflowStep, workspace: Path) -> bool:
    """Evaluate a step's ``if:``; only the forms the rendered workflows use are understood."""
    if step.condition is None:
        return True
    match = HASH_FILES_IF.match(step.condition.strip())
    if match is None:
        raise NotImplementedError(f"step {step.name!r}: cannot evaluate if: {step.condition!r}")
    return any(workspace.glob(match.group(1)))


def resolve_matrix(value: Any, matrix: dict[str, str]) -> str:
    """A step input with ``${{ matrix.<key> }}`` replaced by the chosen matrix entry."""

    def lookup(match: re.Match[str]) -> str:
        return matrix[match.group(1)]

    return MATRIX_EXPRESSION.sub(lookup, str(value))


def run_workflow_job(
    workflow: dict[str, Any],
    job: str,
    shell: Shell,
    *,
    actions: dict[str, Callable[[dict[str, str]], dict[str, str]]],
    overrides: dict[str, str],
    matrix: dict[str, str] | None = None,
) -> list[tuple[WorkflowStep, subprocess.CompletedProcess[str]]]:
    """Run ``job``'s ``run`` steps in ``shell.cwd`` (the checked-out repository), in order.

    ``actions`` maps an action (``owner/repo``) to a function of its step's inputs that returns
    the environment the action sets for later steps (its tools are on ``shell``'s PATH
    already); an action not listed fails the call. ``matrix`` is the job's matrix entry.
    ``overrides`` replace workflow variables (an unreachable index's URL). Stops at the first
    failing step, as the runner does.
    """
    base = {str(k): str(v) for k, v in (workflow.get("env") or {}).items()}
    base.update({str(k): str(v) for k, v in (workflow["jobs"][job].get("env") or {}).items()})
    done = []
    for step in workflow_steps(workflow, job):
        if step.uses is not None:
            action = step.uses.split("@", 1)[0]
            if action not in actions:
                raise NotImplementedError(f"job {job}: no stand-in for action {action}")
            inputs = {k: resolve_matrix(v, matrix or {}) for k, v in step.with_.items()}
            base.update(actions[action](inputs))
            continue
        if not step_applies(step, shell.cwd):
            continue
        assert step.run is not None
        proc = shell.bash(step.run, env={**base, **step.env, **overrides})
        done.append((step, proc))
        if proc.returncode != 0:
            break
    return done


# --- README sections -------------------------------------------------------------------------


def markdown_section(text: str, heading: str) -> str:
    """The body of the section titled ``heading`` (up to the next heading of any level)."""
    match = re.search(
        rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", text, flags=re.MULTILINE | re.DOTALL
    )
    if match is None:
        raise LookupError(f"no section {heading!r}")
    return match.group(1)


def markdown_commands(text: str) -> list[str]:
    """The commands of a Markdown text's ```bash blocks: one per line, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def copy_tree(source: Path, dst: Path) -> Path:
    """A copy of a rendered project (git history included)."""
    shutil.copytree(source, dst, symlinks=True)
    return dst
