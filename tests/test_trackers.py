"""Every tracker a project can choose, tested against the real thing in the template's suite.

The rendered project's ``tests/test_trackers.py`` trains tiny runs with each tracker's logger
config and reads what was logged back with the tracker's own reader: MLflow's client (from a
real ``mlflow server`` and from the project's SQLite store), TensorBoard's event reader and
W&B's offline run file. In a project installed without the extras those tests skip; here the
default project is installed against this environment, which has every tracker's package
(the ``test`` dependency group), so none of them may skip.
"""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import DEFAULT_ANSWERS, install_project, torch_template

PKG = DEFAULT_ANSWERS["package_name"]
TESTS = "tests/test_trackers.py"


@pytest.mark.slow
def test_every_tracker_logs_what_its_own_reader_reads_back(
    render_variant, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A copy: the project's run writes bytecode, and other tests compare the shared render.
    root = tmp_path_factory.mktemp("trackers") / "smoke-project"
    shutil.copytree(render_variant("cpu"), root)
    loggers = {p.stem for p in (root / "src" / PKG / "configs" / "logger").glob("*.yaml")}
    assert loggers == set(torch_template.TRACKERS), "a logger config per tracker, no other"
    project = install_project(root, tmp_path_factory.mktemp("venv-trackers") / "venv", PKG)
    proc = project.run(
        "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", TESTS,
        env={"PYTEST_ADDOPTS": ""},
        check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert " SKIPPED" not in output, output[-3000:]
    passed = re.findall(rf"^{TESTS}::(\w+) PASSED", output, re.MULTILINE)
    # csv is every other run's logger (debug=tiny); each other tracker has a test of its own.
    untested = {name for name in loggers - {"csv"} if not any(name in t for t in passed)}
    assert not untested, f"no passing test in {TESTS} names {sorted(untested)}"
