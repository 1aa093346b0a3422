"""The project's parts as chosen: every pair of answers renders a complete, lint-clean project.

The questions ``tracker``, ``containers``, ``conda_env`` and ``ci`` and a backend of each kind
(CPU, CUDA, ROCm, XPU) are rendered as a covering array (``covering.all_pairs``): every pair of
values of two of them occurs in some row, in 17 projects instead of 128. The first rows are the
backends' default projects, which ``test_variants.py`` renders anyway. Each validator runs once
over all rows (hadolint, the vendored JSON schemas, ``docker compose config``, actionlint,
zizmor, pre-commit, validate-pyproject, ruff and ruff format, the rendered consistency tests).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CHOICE_DEFAULTS, CHOICES, render_label, torch_template
from covering import all_pairs, all_pairs_needed, pairs_of
from test_variants import (
    WORKFLOWS,
    actionlint,
    output,
    run_consistency_suite,
    run_tool,
    zizmor,
)

PKG = "smoke_project"


def representative_backends() -> list[str]:
    """The first backend of each kind in the table (cpu, a CUDA, a ROCm and the XPU one)."""
    firsts: dict[str, str] = {}
    for name, row in torch_template.load_table()["backends"].items():
        firsts.setdefault(row["kind"], name)
    return list(firsts.values())


FACTORS: dict[str, list[Any]] = {
    "torch_backend": representative_backends(),
    "tracker": list(torch_template.TRACKERS),
    "containers": [True, False],
    "conda_env": [True, False],
    "ci": [True, False],
}
DEFAULT_ROWS = [{"torch_backend": b, **CHOICE_DEFAULTS} for b in FACTORS["torch_backend"]]
ROWS = all_pairs(FACTORS, DEFAULT_ROWS)


def label(row: dict[str, Any]) -> str:
    return render_label(row["torch_backend"], {k: row[k] for k in CHOICES})


def part_files(row: dict[str, Any], backend: dict[str, Any]) -> dict[str, bool]:
    """Each file of an optional part, and whether the row's answers render it."""
    containers, conda, ci = row["containers"], row["conda_env"], row["ci"]
    return {
        "Dockerfile": containers,
        ".dockerignore": containers,
        "compose.yaml": containers,
        ".devcontainer/devcontainer.json": containers,
        "environment.yml": conda,
        ".github/workflows/ci.yml": ci,
        ".github/workflows/update-template.yml": ci,
        ".github/scripts/no-conflict-markers.sh": ci,
        ".github/scripts/template_release.py": ci,
        ".github/workflows/docker.yml": ci and containers,
        ".github/workflows/gpu.yml": ci and backend["is_gpu"],
        ".github/actionlint.yaml": ci and bool(backend["custom_runner_labels"]),
        # Dependabot keeps uv.lock fresh whatever else was chosen.
        ".github/dependabot.yml": True,
    }


# What mentions a part, in any file outside it: its files, its tools, its commands.
MENTIONS = {
    "containers": re.compile(
        r"dockerfile|compose\.yaml|devcontainer|dockerignore|docker\.yml|"
        r"docker (?:compose|build|run)\b|hadolint",
        re.IGNORECASE,
    ),
    "conda_env": re.compile(r"environment\.yml|\bconda\b|conda-forge", re.IGNORECASE),
    # Case-sensitive: `ci=true` (the question) is not a mention of the workflows.
    "ci": re.compile(
        r"\.github/(?:workflows|scripts)|GitHub Actions|\bCI\b|"
        r"\b(?:ci|gpu|docker|update-template)\.yml\b|actionlint|check-github-workflows|"
        r"template-update"
    ),
}


@pytest.fixture(scope="module")
def renders(render_variant) -> dict[str, Path]:
    """Each row of the covering array, rendered once (the default rows are shared)."""
    return {
        label(row): render_variant(row["torch_backend"], **{k: row[k] for k in CHOICES})
        for row in ROWS
    }


def rows_with(renders: dict[str, Path], **wanted: Any) -> Iterator[tuple[dict, Path]]:
    """The rows (and their projects) whose answers include ``wanted``."""
    for row in ROWS:
        if all(row[key] == value for key, value in wanted.items()):
            yield row, renders[label(row)]


def text_files(root: Path) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every rendered text file."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            try:
                yield path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


# --- the array itself -------------------------------------------------------------------------


def test_the_rows_cover_every_pair_of_answers() -> None:
    covered = set().union(*(pairs_of(row, list(FACTORS)) for row in ROWS))
    assert all_pairs_needed(FACTORS) <= covered
    assert len(ROWS) < 24, "a covering array, not the full product"
    assert {
        torch_template.load_table()["backends"][b]["kind"] for b in FACTORS["torch_backend"]
    } == (set(torch_template.KINDS))


def test_covering_array_of_a_small_product() -> None:
    """Three yes/no questions: 4 rows cover every pair (the full product has 8)."""
    factors = {name: [True, False] for name in ("a", "b", "c")}
    rows = all_pairs(factors)
    assert len(rows) <= 5
    covered = set().union(*(pairs_of(row, list(factors)) for row in rows))
    assert covered == all_pairs_needed(factors)
    assert all_pairs(factors) == rows, "the same array every run"


# --- what is rendered, and what is not ---------------------------------------------------------


def test_only_the_chosen_parts_are_rendered(renders: dict[str, Path]) -> None:
    wrong = []
    for row in ROWS:
        root = renders[label(row)]
        backend = torch_template.derive(
            {"torch_backend": row["torch_backend"], "python_version": "3.12"}
        )["backend"]
        for relative, wanted in part_files(row, backend).items():
            if (root / relative).is_file() != wanted:
                wrong.append(f"{label(row)}: {relative} {'missing' if wanted else 'rendered'}")
    assert not wrong, "\n".join(wrong)


def test_nothing_mentions_a_part_that_was_not_chosen(renders: dict[str, Path]) -> None:
    found = []
    for row in ROWS:
        root = renders[label(row)]
        unchosen = [part for part in MENTIONS if not row[part]]
        for relative, text in text_files(root):
            if relative == ".copier-answers.yml":
                continue
            for part in unchosen:
                for match in MENTIONS[part].finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{label(row)}: {relative}:{line} mentions {match.group()!r}")
    assert not found, "\n".join(found[:40])


def test_the_default_logger_and_its_package_follow_the_tracker(renders: dict[str, Path]) -> None:
    for row in ROWS:
        root = renders[label(row)]
        tracker = torch_template.TRACKERS[row["tracker"]]
        train = yaml.safe_load((root / "src" / PKG / "configs" / "train.yaml").read_text())
        assert {"logger": row["tracker"]} in train["defaults"], label(row)
        pyproject = tomllib.loads((root / "pyproject.toml").read_text())
        dependencies = pyproject["project"]["dependencies"]
        extras = pyproject["project"]["optional-dependencies"]
        for name, other in torch_template.TRACKERS.items():
            if not other["pip"]:
                continue
            chosen = name == row["tracker"]
            assert (other["pip"] in dependencies) == chosen, f"{label(row)}: {name}"
            assert (extras.get(name) == [other["pip"]]) != chosen, f"{label(row)}: extra {name}"
        if row["conda_env"] and tracker["pip"]:
            conda = yaml.safe_load((root / "environment.yml").read_text())["dependencies"]
            has_conda_build = any(isinstance(dep, dict) for dep in conda)
            assert (tracker["pip"] in conda) == has_conda_build, label(row)


def test_compose_serves_mlflow_exactly_when_both_are_chosen(renders: dict[str, Path]) -> None:
    store = f"logs/{torch_template.MLFLOW_STORE}"
    for row, root in rows_with(renders, containers=True):
        proc = run_tool(
            "docker-compose", "-f", "compose.yaml", "config", "--format", "json", cwd=root
        )
        assert proc.returncode == 0, f"{label(row)}: {output(proc)}"
        services = json.loads(proc.stdout)["services"]
        assert ("mlflow" in services) == (row["tracker"] == "mlflow"), label(row)
        if "mlflow" not in services:
            continue
        mlflow = services["mlflow"]
        assert mlflow["entrypoint"] == ["mlflow", "server"]
        assert f"--backend-store-uri=sqlite:////app/{store}" in mlflow["command"]
        assert [p["host_ip"] for p in mlflow["ports"]] == ["127.0.0.1"], "loopback only"
        logs = [v["target"] for v in mlflow["volumes"] if v["source"] == "logs"]
        train = [v["target"] for v in services["train"]["volumes"] if v["source"] == "logs"]
        assert logs == train == ["/app/logs"], "the server reads the store training writes"
        mlflow_config = root / "src" / PKG / "configs" / "logger" / "mlflow.yaml"
        assert f"store: ${{paths.log_dir}}/{torch_template.MLFLOW_STORE}" in (
            mlflow_config.read_text()
        )


def test_rendered_text_is_clean(renders: dict[str, Path]) -> None:
    """What the pre-commit hooks would fix (trailing spaces, final newlines), and no Jinja."""
    dirty = []
    for name, root in renders.items():
        for relative, text in text_files(root):
            if relative.startswith(("src/", "tests/")):
                continue  # Python: ruff and ruff format judge it
            ends_well = text.endswith("\n") and not text.endswith("\n\n")
            if not ends_well or re.search(r"[ \t]+$", text, flags=re.MULTILINE):
                dirty.append(f"{name}: {relative}: trailing whitespace or final newline")
            if "{%" in text or "{#" in text:
                dirty.append(f"{name}: {relative}: Jinja left unrendered")
    assert not dirty, "\n".join(dirty)


# --- the validators, each once over every row ---------------------------------------------------


def paths_of(renders: dict[str, Path], relative: str, **wanted: Any) -> list[str]:
    return [
        str(root / relative)
        for row, root in rows_with(renders, **wanted)
        if (root / relative).is_file()
    ]


def test_every_row_passes_hadolint_and_the_schemas(renders: dict[str, Path], tmp_path) -> None:
    dockerfiles = paths_of(renders, "Dockerfile", containers=True)
    proc = run_tool("hadolint", "--no-color", *dockerfiles, cwd=tmp_path)
    assert proc.returncode == 0 and not proc.stdout.strip(), output(proc)
    workflows = [str(p) for root in renders.values() for p in (root / WORKFLOWS).glob("*.yml")]
    for schema, files in [
        ("vendor.compose-spec", paths_of(renders, "compose.yaml", containers=True)),
        ("vendor.github-workflows", workflows),
        ("vendor.dependabot", paths_of(renders, ".github/dependabot.yml")),
    ]:
        assert files, schema
        proc = run_tool("check-jsonschema", "--builtin-schema", schema, *files, cwd=tmp_path)
        assert proc.returncode == 0, output(proc)
    configs = paths_of(renders, ".pre-commit-config.yaml")
    proc = run_tool("pre-commit", "validate-config", *configs, cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    proc = run_tool("validate-pyproject", *paths_of(renders, "pyproject.toml"), cwd=tmp_path)
    assert proc.returncode == 0, output(proc)


def test_every_row_passes_actionlint_and_zizmor(renders: dict[str, Path], tmp_path) -> None:
    # actionlint reads one config (the GPU runner's labels) per call: one call per config.
    by_config: dict[Path | None, list[str]] = {}
    for _row, root in rows_with(renders, ci=True):
        config = root / ".github" / "actionlint.yaml"
        key = config if config.is_file() else None
        by_config.setdefault(key, []).extend(str(p) for p in (root / WORKFLOWS).glob("*.yml"))
    for config, workflows in by_config.items():
        problems = actionlint(*workflows, cwd=tmp_path, config=config)
        assert not problems, problems
    directories = [str(root / WORKFLOWS) for _row, root in rows_with(renders, ci=True)]
    assert zizmor(*directories, cwd=tmp_path) == []


def test_every_row_passes_ruff_and_ruff_format(renders: dict[str, Path], tmp_path) -> None:
    projects = [str(root) for root in renders.values()]
    check = run_tool("ruff", "check", "--no-cache", *projects, cwd=tmp_path)
    assert check.returncode == 0, output(check)
    fmt = run_tool("ruff", "format", "--no-cache", "--check", *projects, cwd=tmp_path)
    assert fmt.returncode == 0, output(fmt)


def test_every_row_passes_its_consistency_tests(renders: dict[str, Path]) -> None:
    """The rendered tests/test_consistency.py of every row, in one pytest run."""
    proc = run_consistency_suite(*renders.values())
    assert proc.returncode == 0, output(proc)
