"""The ownership line between the user's files and the template's.

User-owned paths (the example's models, data, their configs and tests) are rendered once and
then belong to the user: ``copier update`` never touches them. Everything else is
template-owned and updated in place, so it must never depend on the example: a user who
replaces the example keeps a project whose template-owned code and tests still work
(``test_bring_your_own.py`` plays that user).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml
from conftest import DEFAULT_ANSWERS, TEMPLATE_ROOT
from pathspec import PathSpec

COPIER_YML = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
PKG = DEFAULT_ANSWERS["package_name"]
UPDATE_ONLY = re.compile(r"^\{% if _copier_operation == 'update' %\}(?P<path>.+)\{% endif %\}$")
TARGET = re.compile(r"^\s*_target_:\s*(?P<target>[\w.]+)\s*$", re.MULTILINE)


def user_owned_patterns() -> list[str]:
    """``_skip_if_exists``: the user-owned paths, for this package name."""
    return [p.replace("{{ package_name }}", PKG) for p in COPIER_YML["_skip_if_exists"]]


def is_user_owned(relative: str) -> bool:
    return PathSpec.from_lines("gitignore", user_owned_patterns()).match_file(relative)


def module_path(root: Path, module: str) -> str | None:
    """The rendered file (relative) of a module of the project's package, if it is one."""
    parts = module.split(".")
    if parts[0] != PKG:
        return None
    base = root / "src" / Path(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(root).as_posix()
    return None


def imported_modules(path: Path, module: str) -> list[str]:
    """Every module ``path`` imports (``from . import x`` resolved against ``module``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.append(prefix)
            found += [f"{prefix}.{alias.name}" for alias in node.names]
    return found


def module_name(root: Path, path: Path) -> str:
    """The import name of a rendered Python file (tests: their file name, as pytest does)."""
    relative = path.relative_to(root)
    if relative.parts[0] == "src":
        return ".".join(relative.with_suffix("").parts[1:]).removesuffix(".__init__")
    return path.stem


def violations(root: Path) -> list[str]:
    """Template-owned files that import a user-owned module or target one in a config."""
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or is_user_owned(relative) or ".git" in path.parts:
            continue
        if path.suffix == ".py":
            references = imported_modules(path, module_name(root, path))
        elif path.suffix == ".yaml":
            references = [m["target"] for m in TARGET.finditer(path.read_text(encoding="utf-8"))]
        else:
            continue
        for reference in references:
            target = module_path(root, reference)
            if target is not None and is_user_owned(target):
                found.append(f"{relative} -> {reference} ({target})")
    return sorted(set(found))


def test_exclude_and_skip_if_exists_name_the_same_user_owned_paths() -> None:
    on_update = []
    for pattern in COPIER_YML["_exclude"]:
        match = UPDATE_ONLY.match(pattern)
        if match and not match["path"].startswith("{{"):  # not the starters' re-inclusions
            on_update.append(match["path"])
    assert sorted(on_update) == sorted(COPIER_YML["_skip_if_exists"])


def test_the_example_is_user_owned_and_nothing_else_is(render_variant) -> None:
    root = render_variant("cpu")
    owned = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and is_user_owned(p.relative_to(root).as_posix())
    )
    example = {
        f"src/{PKG}/models/classifier.py",
        f"src/{PKG}/data/synthetic.py",
        f"src/{PKG}/configs/model/mlp.yaml",
        f"src/{PKG}/configs/data/synthetic.yaml",
        f"src/{PKG}/configs/experiment/smoke.yaml",
        "tests/example/test_example_training.py",
    }
    assert example <= set(owned)
    for path in owned:
        assert path.startswith(
            (
                f"src/{PKG}/models/",
                f"src/{PKG}/data/",
                f"src/{PKG}/configs/",
                "tests/example/",
                "tests/starters/",
                ".env",
            )
        ), path
    # Generic plumbing lives on the template's side.
    for generic in (
        "utils/batches.py",
        "utils/epoch_metrics.py",
        "utils/sampling.py",
        "utils/optim.py",
        "utils/layers.py",
        "utils/supervised.py",
        "utils/files.py",
        "utils/processed.py",
        "utils/splits.py",
    ):
        assert (root / "src" / PKG / generic).is_file()
        assert not is_user_owned(f"src/{PKG}/{generic}")


def test_template_owned_files_never_import_user_owned_ones(render_variant) -> None:
    """Parsed imports (and configs' ``_target_``s) of every template-owned file of a render.

    The registry's lazy import of the built-in entries goes by name (``importlib``), not by an
    import statement: the one allowed exception.
    """
    root = render_variant("cpu")
    assert violations(root) == []


def test_the_check_finds_an_import_of_the_example(render_variant, tmp_path: Path) -> None:
    """Positive control: the check above can fail."""
    import shutil

    root = shutil.copytree(render_variant("cpu"), tmp_path / "project")
    (root / "src" / PKG / "run" / "leaky.py").write_text(
        "from ..models.classifier import ClassifierModule\nimport smoke_project.data\n"
    )
    (root / "tests" / "test_leaky.py").write_text("from smoke_project.models import mlp\n")
    found = violations(root)
    assert any("run/leaky.py -> smoke_project.models.classifier" in f for f in found), found
    assert any("leaky.py -> smoke_project.data" in f for f in found), found
    assert any("tests/test_leaky.py" in f for f in found), found


def test_the_registry_reaches_the_example_by_name_only(render_variant) -> None:
    text = (render_variant("cpu") / "src" / PKG / "registry.py").read_text()
    assert 'builtins=f"{PACKAGE}.models"' in text
    assert 'builtins=f"{PACKAGE}.data"' in text
