"""Render this template and install the result offline, reusing this environment's CPU torch.

Shared by the tests (tests/conftest.py), the benchmarks and the demo. The installed project
gets a venv whose site-packages link to this environment's (torch, lightning, hydra, ...), and
an editable install of the project with no dependency resolution, so nothing is downloaded.

Command line (what ``scripts/demo.sh`` runs)::

    python scripts/local_project.py demo DEST   # render the default project, train its smoke model
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path
from types import ModuleType
from typing import Any

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
RUNNING_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
# The answers of the project the tests and benchmarks render: the defaults, a fixed name, and
# the Python running them (so that installs are honest).
SMOKE_ANSWERS: dict[str, Any] = {
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


def render(
    dst: Path, answers: dict[str, Any], *, vcs_ref: str = "HEAD", template: Path = TEMPLATE_ROOT
) -> Path:
    """Render ``template`` at git ``vcs_ref`` (HEAD includes uncommitted changes) into ``dst``.

    Defaults for unanswered questions, trusted (the extensions), tasks skipped, quiet.
    """
    import copier

    copier.run_copy(
        str(template),
        dst,
        data=answers,
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    return dst


def linked_venv(venv_dir: Path) -> Path:
    """A venv that sees this environment's packages; returns its python.

    ``--system-site-packages`` would expose the base interpreter's packages, not this
    environment's, so a ``.pth`` file links this environment's site-packages in.
    """
    venv.create(venv_dir, system_site_packages=True, with_pip=False)
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(venv_dir), "platbase": str(venv_dir)})
    )
    parents = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (site / "_torch_template_parent_env.pth").write_text("".join(f"{p}\n" for p in parents))
    return venv_dir / ("Scripts" if sys.platform == "win32" else "bin") / "python"


def install_editable(project: Path, venv_dir: Path) -> Path:
    """Editable install of ``project`` into a linked venv, offline; returns the venv's python."""
    python = linked_venv(venv_dir)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-build-isolation",
            "--no-deps",
            "--no-index",
            "-e",
            str(project),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return python


def demo(dst: Path) -> int:
    """Render the default project into ``dst``, install it and train its smoke model."""
    if dst.exists():
        print(f"error: {dst} already exists; remove it or pass another folder", file=sys.stderr)
        return 1
    # The default answers, except that the project targets the Python running this demo.
    render(dst, {"project_name": "Demo Project", "python_version": RUNNING_PYTHON})
    python = install_editable(dst, dst / ".venv")
    command = [
        str(python),
        "-m",
        "demo_project.train",
        "experiment=smoke",
        "hydra.run.dir=logs/smoke",
    ]
    print("$", " ".join(command[1:]), f"(in {dst})", flush=True)
    code = subprocess.run(command, cwd=dst, check=False).returncode
    if code == 0:
        print(f"Checkpoint: {dst / 'logs/smoke/checkpoints/last.ckpt'}")
    return code


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo_parser = sub.add_parser("demo", help="render the default project and train it")
    demo_parser.add_argument("dst", type=Path, nargs="?", default=Path("demo"))
    args = parser.parse_args(argv)
    return demo(args.dst.resolve())


if __name__ == "__main__":
    sys.exit(main())
