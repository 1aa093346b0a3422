"""Reproducibility and environment checks of the rendered project, seen from the template.

The project's own suite (run by test_project.py) proves bit-identical reruns, exact resume,
the run manifest, the doctor's verdicts and DDP on the CPU for the default variant. Here:
every variant renders its backend facts into ``variant.py`` from the derived values, and each
variant's doctor judges this environment's CPU torch the way a user of that variant needs.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BACKENDS, DEFAULT_ANSWERS, InstalledProject, torch_template

PACKAGE = DEFAULT_ANSWERS["package_name"]


def variant_constants(root: Path) -> dict[str, object]:
    """The constants of a rendered ``variant.py``, read without importing it."""
    tree = ast.parse((root / "src" / PACKAGE / "variant.py").read_text())
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            assert isinstance(target, ast.Name) and node.value is not None
            found[target.id] = ast.literal_eval(node.value)
    return found


def doctor(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a rendered project's doctor from its source tree with this environment's torch."""
    return subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.doctor", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
        check=False,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_variant_module_holds_the_derived_backend_values(render_variant, backend: str) -> None:
    derived = torch_template.derive(
        {"torch_backend": backend, "python_version": DEFAULT_ANSWERS["python_version"]}
    )["backend"]
    constants = variant_constants(render_variant(backend))
    assert constants == {
        "BACKEND": derived["name"],
        "LABEL": derived["label"],
        "KIND": derived["kind"],
        "IS_CUDA": derived["is_cuda"],
        "CUDA_VERSION": derived["cuda_version"],
        "ROCM_VERSION": derived["rocm_version"],
        "MIN_DRIVER": derived["min_driver"],
        "GPU_ARCHS": tuple(derived["gpu_archs"]),
        "INDEX_URL": derived["index_url"],
        "TORCH_SPEC": derived["torch_spec"],
        "TORCH_MIN": derived["torch_min"],
        "TORCH_MAX_EXCLUSIVE": derived["torch_max_exclusive"],
        "PYTHON_MIN": DEFAULT_ANSWERS["python_version"],
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_doctor_judges_this_cpu_torch_per_variant(render_variant, backend: str) -> None:
    # This environment has a CPU build of torch and no GPU.
    root = render_variant(backend)
    proc = doctor(root, "--json")
    report = json.loads(proc.stdout)
    build = next(check for check in report["checks"] if check["name"] == "torch build")
    if backend == "cpu":
        assert proc.returncode == 0, proc.stdout
        assert report["healthy"] is True
        assert build["status"] == "ok"
    else:  # a GPU project with a CPU wheel: fails, naming the variant's wheel index
        derived = torch_template.derive({"torch_backend": backend, "python_version": "3.12"})
        assert proc.returncode == 1
        assert build["status"] == "fail"
        assert derived["backend"]["index_url"] in build["fix"]


@pytest.mark.slow
def test_doctor_console_script_and_make_target(installed_project: InstalledProject) -> None:
    script = installed_project.python.parent / "smoke-project-doctor"
    assert os.access(script, os.X_OK)
    proc = subprocess.run(
        [str(script), "--json"], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["variant"]["backend"] == "cpu"
    makefile = (installed_project.root / "Makefile").read_text()
    assert "doctor: ##" in makefile
    assert "python -m $(PACKAGE).doctor" in makefile
