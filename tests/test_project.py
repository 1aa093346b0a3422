"""End to end: the rendered project keeps its command contract (train, resume, evaluate,
readable errors, console scripts), run with ``uv run`` in the project the user's path installed.

The project's own suite, ``make lint`` and the install itself are proven in
``test_user_path.py``; ruff on every variant in ``test_variants.py``. One smoke training per
session feeds the tests that need a run's outputs.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import BACKENDS, TEMPLATE_ROOT, InstalledProject, Run, render, torch_template

# Every name a template file can read: the questions and the derived values.
QUESTIONS = [
    key
    for key in yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    if not key.startswith("_")
]
DERIVED = list(
    torch_template.derive({"torch_backend": "cpu", "python_version": "3.12", "project_name": "X"})
)
# A Jinja expression over one of those names, or any Jinja statement or comment. This spares
# GitHub Actions' `${{ ... }}` and docker/metadata-action's `{{version}}` patterns.
JINJA_LEFTOVER = re.compile(
    r"\{%|\{#-?\s|(?<!\$)\{\{-?\s*(?:_copier_\w+|"
    + "|".join(re.escape(name) for name in [*QUESTIONS, *DERIVED])
    + r")\b"
)
SMOKE_CLASSES = 4
MIN_ACCURACY = 0.8  # chance is 1 / SMOKE_CLASSES


def run(project: InstalledProject, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the project's python, with the outer pytest's options kept away from inner ones."""
    env = {"PYTEST_ADDOPTS": "", "HYDRA_FULL_ERROR": "0"}
    return project.run(*args, env=env, check=check)


def rendered_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts]


def last_value(metrics_csv: Path, column: str) -> float:
    """The last logged value of a column of a Lightning CSVLogger metrics file."""
    with metrics_csv.open() as handle:
        values = [row[column] for row in csv.DictReader(handle) if row.get(column)]
    assert values, f"{column} never logged in {metrics_csv}"
    return float(values[-1])


def epochs_with(metrics_csv: Path, column: str) -> set[int]:
    """The epochs in which a column of a Lightning CSVLogger metrics file was logged."""
    with metrics_csv.open() as handle:
        return {int(row["epoch"]) for row in csv.DictReader(handle) if row.get(column)}


def column(metrics_csv: Path, name: str) -> list[float]:
    """Every value of a column of a Lightning CSVLogger metrics file, in order."""
    with metrics_csv.open() as handle:
        return [float(row[name]) for row in csv.DictReader(handle) if row.get(name)]


def ckpt_epoch(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])


@pytest.fixture(scope="session")
def smoke(smoke_run) -> Run:
    """``uv run python -m <pkg>.train experiment=smoke`` in the default project, once."""
    result: Run = smoke_run("cpu")
    return result


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_template_syntax_left(render_variant, backend: str) -> None:
    root = render_variant(backend)
    leftovers = []
    for path in rendered_files(root):
        relative = path.relative_to(root).as_posix()
        if "{{" in relative or "{%" in relative or relative.endswith(".jinja"):
            leftovers.append(relative)
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        leftovers += [
            f"{relative}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
            for m in JINJA_LEFTOVER.finditer(text)
        ]
    assert not leftovers, "unrendered template syntax:\n" + "\n".join(leftovers)


@pytest.mark.parametrize(
    ("license_answer", "phrases"),
    [
        ("MIT", ["MIT License", "Permission is hereby granted, free of charge"]),
        ("Apache-2.0", ["Apache License", "Version 2.0, January 2004", "END OF TERMS"]),
        ("BSD-3-Clause", ["BSD 3-Clause License", "Neither the name of the copyright holder"]),
        ("Proprietary", ["All rights reserved.", "prior written"]),
    ],
)
def test_license_text_follows_the_answer(
    tmp_path: Path, license_answer: str, phrases: list[str]
) -> None:
    root = render(tmp_path / "p", license=license_answer, author_name="Ada Lovelace")
    text = (root / "LICENSE").read_text()
    for phrase in phrases:
        assert phrase in text
    assert f"{time.localtime().tm_year}" in text
    assert "Ada Lovelace" in text
    assert text == text.strip("\n") + "\n"  # no stray blank lines around the text
    others = {"MIT License", "Apache License", "BSD 3-Clause License", "All rights reserved."}
    assert sum(other in text for other in others) == 1


@pytest.mark.slow
def test_smoke_training_writes_a_checkpoint(smoke: Run) -> None:
    assert smoke.seconds < 60, f"smoke training took {smoke.seconds:.0f} s (target: seconds)"
    assert (smoke.dir / "checkpoints" / "last.ckpt").is_file()
    assert ckpt_epoch(smoke.dir / "checkpoints" / "last.ckpt") == 4  # 5 epochs
    assert (smoke.dir / ".hydra" / "config.yaml").is_file()


@pytest.mark.slow
def test_smoke_training_learns(smoke: Run) -> None:
    metrics = smoke.dir / "csv" / "version_0" / "metrics.csv"
    assert last_value(metrics, "val/acc") >= MIN_ACCURACY > 1 / SMOKE_CLASSES
    assert last_value(metrics, "test/acc") >= MIN_ACCURACY


@pytest.mark.slow
def test_smoke_training_writes_a_single_run_dir(
    smoke: Run, installed_project: InstalledProject
) -> None:
    # Outputs go to hydra.run.dir only: nothing lands in the project's default logs/.
    assert not (installed_project.root / "logs").exists()
    assert not (installed_project.root / "lightning_logs").exists()


@pytest.mark.slow
def test_resume_with_overrides(
    installed_project: InstalledProject, smoke: Run, tmp_path: Path
) -> None:
    resumed = tmp_path / "resumed"
    run(
        installed_project,
        "-m",
        f"{installed_project.package}.train",
        "experiment=smoke",
        f"ckpt_path={smoke.dir / 'checkpoints' / 'last.ckpt'}",
        "trainer.max_epochs=7",
        "seed=7",
        f"hydra.run.dir={resumed}",
    )
    assert ckpt_epoch(resumed / "checkpoints" / "last.ckpt") == 6
    assert epochs_with(resumed / "csv" / "version_0" / "metrics.csv", "val/acc") == {5, 6}
    config = yaml.safe_load((resumed / ".hydra" / "config.yaml").read_text())
    assert config["seed"] == 7
    assert config["trainer"]["max_epochs"] == 7
    # Training further: the cosine schedule goes on falling over the two added epochs.
    before = column(smoke.dir / "csv" / "version_0" / "metrics.csv", "lr-AdamW")
    after = column(resumed / "csv" / "version_0" / "metrics.csv", "lr-AdamW")
    assert len(after) == 2
    assert before[-1] >= after[0] > after[1] >= 0, (before, after)


@pytest.mark.slow
def test_a_finished_run_started_again_exits_0_and_keeps_its_metrics(
    installed_project: InstalledProject, smoke: Run, tmp_path: Path
) -> None:
    """What a scheduler does when it requeues a job that had finished."""
    run_dir = shutil.copytree(smoke.dir, tmp_path / "requeued")
    before = (run_dir / "metrics.json").read_text()
    proc = run(
        installed_project,
        "-m",
        f"{installed_project.package}.train",
        "experiment=smoke",
        "ckpt_path=auto",
        f"hydra.run.dir={run_dir}",
    )
    assert "Nothing left to train" in proc.stdout + proc.stderr
    assert (run_dir / "metrics.json").read_text() == before


@pytest.mark.slow
def test_evaluate_prints_test_metrics(
    installed_project: InstalledProject, smoke: Run, tmp_path: Path
) -> None:
    proc = run(
        installed_project,
        "-m",
        f"{installed_project.package}.evaluate",
        f"ckpt_path={smoke.dir / 'checkpoints' / 'last.ckpt'}",
        f"hydra.run.dir={tmp_path / 'eval'}",
    )
    output = proc.stdout + proc.stderr
    match = re.search(r"test/acc=([0-9.]+)", output)
    assert match, output[-3000:]
    assert float(match.group(1)) >= MIN_ACCURACY


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer=nonexistent", ["Could not find 'trainer/nonexistent'", "cpu", "ddp_cpu"]),
        ("model.name=nope", ["Error: unknown model name 'nope'", "valid names: mlp_classifier"]),
        ("seed=-5", ["Error: seed=-5 is not valid: expected an integer in [0, 4294967295]"]),
        ("cpu_threads=0", ["Error: cpu_threads=0 is not valid: expected a positive integer"]),
        ("data.batch_size=0", ["Error: data.batch_size=0 is not valid: expected a positive"]),
        ("model.lr=abc", ["Error: model.lr='abc' is not valid: expected a number > 0.0"]),
        ("ckpt_path=missing.ckpt", ["Error: ckpt_path='missing.ckpt' is not a checkpoint file"]),
    ],
)
def test_bad_override_fails_readably(
    installed_project: InstalledProject, tmp_path: Path, override: str, expected: list[str]
) -> None:
    proc = run(
        installed_project,
        "-m",
        f"{installed_project.package}.train",
        override,
        f"hydra.run.dir={tmp_path}",
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for text in expected:
        assert text in output, output[-3000:]
    assert "Traceback" not in output  # one line, not a stack trace


@pytest.mark.slow
def test_a_diverging_run_fails_loudly_with_its_own_exit_status(
    installed_project: InstalledProject, tmp_path: Path
) -> None:
    """The new user's first experiment: a learning rate far too high (issue: it exited 0)."""
    proc = run(
        installed_project,
        "-m",
        f"{installed_project.package}.train",
        "experiment=smoke",
        "model.lr=1e9",
        f"hydra.run.dir={tmp_path}",
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, output[-3000:]
    assert errors[0].startswith("Error: training diverged at epoch 0, step ")
    assert "lower model.lr (now 1e+09)" in errors[0]
    assert "Traceback" not in output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "diverged"
    assert not (tmp_path / "metrics.json").exists()
    assert not list(tmp_path.glob("checkpoints/*.ckpt"))


@pytest.mark.slow
def test_hydra_full_error_shows_where_a_bad_value_was_refused(
    installed_project: InstalledProject, tmp_path: Path
) -> None:
    proc = installed_project.run(
        "-m",
        f"{installed_project.package}.train",
        "data.batch_size=0",
        f"hydra.run.dir={tmp_path}",
        check=False,
        env={"HYDRA_FULL_ERROR": "1"},
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "InvalidValueError: data.batch_size=0 is not valid" in proc.stderr


@pytest.mark.slow
def test_console_scripts_are_installed(installed_project: InstalledProject) -> None:
    bin_dir = installed_project.python.parent
    commands = ("train", "eval", "predict", "export", "report", "doctor")
    for script in (f"smoke-project-{command}" for command in commands):
        assert os.access(bin_dir / script, os.X_OK), script
    proc = subprocess.run(
        [str(bin_dir / "smoke-project-train"), "--help"],
        cwd=installed_project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "trainer: cpu, ddp, ddp_cpu, default, fsdp, fsdp_cpu, gpu, mps, xpu" in proc.stdout
    assert "experiment: smoke" in proc.stdout


@pytest.mark.slow
def test_compile_trains_with_inductor_and_its_checkpoint_loads_without_it(
    installed_project: InstalledProject, tmp_path: Path
) -> None:
    """``compile=true`` on the CPU: inductor writes compiled kernels (the C compiler builds
    them); the checkpoint's weights keep their names and ``evaluate`` loads them uncompiled."""
    cache = tmp_path / "inductor-cache"
    run_dir = tmp_path / "compiled"
    proc = installed_project.run(
        "-m",
        f"{installed_project.package}.train",
        "debug=tiny",
        "compile=true",
        "report=false",
        f"hydra.run.dir={run_dir}",
        env={"PYTEST_ADDOPTS": "", "TORCHINDUCTOR_CACHE_DIR": str(cache)},
    )
    assert "test/" in proc.stdout + proc.stderr
    kernels = [p for p in cache.rglob("*") if p.suffix in (".so", ".py")]
    assert kernels, f"inductor compiled nothing into {cache}"
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    weights = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    assert not [key for key in weights if "_orig_mod" in key]
    run(
        installed_project,
        "-m",
        f"{installed_project.package}.evaluate",
        f"ckpt_path={ckpt}",
        f"hydra.run.dir={tmp_path / 'eval'}",
    )
