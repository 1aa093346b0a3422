"""Jinja extensions of torch-template: answer validation and every variant-dependent value.

Copier loads this file through ``copier_template_extensions.TemplateExtensionLoader`` (see
``copier.yml``). It reads the one data table ``backends.toml`` beside it and exposes:

- globals for the questions' choices (``tt_backend_choices``, ``tt_python_choices``);
- filters that validate answers and return a one-line message, empty when the answer is good;
- a context hook that adds the derived values (``backend``, ``env_vars``, ...) that template
  files read. Template files never re-derive them.

The module is importable on its own (no Copier needed) so tests can exercise it directly.
"""

from __future__ import annotations

import keyword
import re
import sys
import tomllib
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

TABLE_PATH = Path(__file__).with_name("backends.toml")
STARTERS_PATH = Path(__file__).with_name("starters.toml")

# Top-level modules the rendered project imports (or whose names would confuse it).
RESERVED_PACKAGE_NAMES = frozenset(
    {
        "torch",
        "torchvision",
        "torchaudio",
        "torchmetrics",
        "lightning",
        "pytorch_lightning",
        "lightning_fabric",
        "lightning_utilities",
        "hydra",
        "omegaconf",
        "numpy",
        "rich",
        "yaml",
        "pytest",
        "mypy",
        "ruff",
        "tensorboard",
        "mlflow",
        "wandb",
        "optuna",
        "submitit",
        "triton",
        "sympy",
        "typing_extensions",
        "setuptools",
        "pip",
        "test",
        "tests",
        "src",
        "configs",
        "copier",
    }
)
PACKAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Plain ASCII addresses: no quotes, spaces or backslashes (they land in TOML strings).
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
MAX_NAME_LENGTH = 40
MAX_PROJECT_NAME_LENGTH = 80

# SPDX expressions for the license question's answers (pyproject's ``license`` field).
LICENSE_EXPRESSIONS = {
    "MIT": "MIT",
    "Apache-2.0": "Apache-2.0",
    "BSD-3-Clause": "BSD-3-Clause",
    "Proprietary": "LicenseRef-Proprietary",
}

# The uv release every rendered file runs (the Dockerfile's image, the workflows' setup-uv) and
# the template's tests install (pyproject.toml's test group pins the same version).
UV_VERSION = "0.13.9"
# Container paths of the named cache volumes; compose, Dockerfile and devcontainer share them.
CACHE_ROOT = "/cache"
# Labels of the self-hosted runner of the GPU workflow: GitHub's own, then the project's.
GITHUB_RUNNER_LABELS = ("self-hosted", "linux")
GPU_RUNNER_LABELS = ("gpu",)
# Their mode in the image: any uid may write (the devcontainer remaps the user's uid), and the
# sticky bit keeps users from deleting each other's files.
CACHE_DIR_MODE = "1777"


@cache
def load_table(path: Path = TABLE_PATH) -> dict[str, Any]:
    """Read and check the backends table; raise ValueError naming the first inconsistency."""
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    releases = table["torch"]["releases"]
    for name, backend in table["backends"].items():
        lo, hi = _version(backend["torch_min"]), _version(backend["torch_max_exclusive"])
        if not lo < hi:
            raise ValueError(f"backend {name!r}: empty torch range")
        if not any(lo <= _version(r) < hi for r in releases):
            raise ValueError(f"backend {name!r}: no supported torch release ships it")
        if backend["gpu_expected"] != bool(backend["cuda_version"]):
            raise ValueError(f"backend {name!r}: gpu_expected disagrees with cuda_version")
        if name != "cpu" and name != "cu" + backend["cuda_version"].replace(".", ""):
            raise ValueError(f"backend {name!r}: name does not match cuda_version")
    if table["torch"]["default_python"] not in table["torch"]["python_versions"]:
        raise ValueError("default_python is not among python_versions")
    return table


@cache
def load_starters(path: Path = STARTERS_PATH) -> dict[str, dict[str, Any]]:
    """Read the starters table (``starters.toml``): name -> label, dependencies, extras, files."""
    with path.open("rb") as handle:
        starters: dict[str, dict[str, Any]] = tomllib.load(handle)["starters"]
    for name, starter in starters.items():
        files = starter["files"]
        if not files or not all("{package}" in f or f.startswith("tests/") for f in files):
            raise ValueError(f"starter {name!r}: every file lives in the package or in tests/")
    return starters


def starter_choices() -> dict[str, str]:
    """Question choices for ``starters``: label -> key."""
    return {starter["label"]: name for name, starter in load_starters().items()}


def _selected_starters(answers: dict[str, Any]) -> list[str]:
    """The chosen starters in table order (an answer may come as a list or a tuple)."""
    chosen = answers.get("starters") or []
    if isinstance(chosen, str):
        chosen = [chosen]
    return [name for name in load_starters() if name in chosen]


def starter_files(starter: str, package: str) -> list[str]:
    """The files a starter renders, for a package name."""
    return [f.format(package=package) for f in load_starters()[starter]["files"]]


def previous_starters(conf: Any) -> list[str] | None:
    """The starters the project at Copier's destination chose before (None: no such project).

    Read from the destination's answers file: during ``copier update`` it still holds the
    answers of the version being updated when the exclusions are computed.
    """
    import yaml

    # Copier's ``_copier_conf`` is a mapping (Jinja reads its items as attributes).
    answers_path = Path(str(conf["dst_path"])) / str(conf["answers_file"])
    if not answers_path.is_file():
        return None
    try:
        answers = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):  # unreadable: treat the project as unknown
        return None
    return _selected_starters(answers if isinstance(answers, dict) else {})


def starter_reinclusions(selected: Any, package: str, conf: Any) -> str:
    """Exclusion lines (``!path``) that let an update create the files of added starters.

    Starter files are user-owned, so updates exclude them; a starter that the update adds
    (``copier update --data starters=...``) has no files yet and must be rendered once. In
    Copier's temporary renders (no answers file at the destination) nothing is re-included.
    """
    before = previous_starters(conf)
    if before is None:
        return ""
    added = [name for name in _selected_starters({"starters": selected}) if name not in before]
    return "\n".join(f"!{path}" for name in added for path in starter_files(name, package))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def backend_names() -> list[str]:
    """The backend keys in table order (``cpu`` first)."""
    return list(load_table()["backends"])


def backend_choices() -> dict[str, str]:
    """Question choices for ``torch_backend``: label -> key."""
    return {f"{name}: {b['label']}": name for name, b in load_table()["backends"].items()}


def python_choices() -> list[str]:
    """Question choices for ``python_version``."""
    return list(load_table()["torch"]["python_versions"])


def _ascii_fold(text: str) -> str:
    """Drop accents so 'Ünïcode' becomes 'Unicode' (characters with no ASCII form vanish)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def default_package_name(project_name: str) -> str:
    """Turn a free-form project name into a package-name suggestion."""
    name = re.sub(r"[^a-z0-9]+", "_", _ascii_fold(str(project_name)).lower()).strip("_")
    if name and name[0].isdigit():
        name = "p_" + name
    return name


def project_slug(project_name: str) -> str:
    """The distribution name (PEP 503 normalised) for a project name."""
    return re.sub(r"[^a-z0-9]+", "-", _ascii_fold(str(project_name)).lower()).strip("-")


def _plain_text_error(question: str, text: str) -> str:
    """Message when free text cannot be written into the project's TOML and YAML strings."""
    if "\n" in text or "\r" in text:
        return f"{question} must be one line: type it without line breaks."
    if '"' in text or "\\" in text:
        return f"{question} cannot contain double quotes or backslashes: type it without them."
    return ""


def project_name_error(value: Any) -> str:
    """Message for a bad project name, empty when it is usable."""
    text = str(value or "").strip()
    if not text:
        return "project_name is empty: type a name such as 'Digit Classifier'."
    if len(text) > MAX_PROJECT_NAME_LENGTH:
        return (
            f"project_name is longer than {MAX_PROJECT_NAME_LENGTH} characters: "
            "type a shorter name."
        )
    if plain := _plain_text_error("project_name", text):
        return plain
    if not project_slug(text):
        return (
            "project_name needs at least one Latin letter or digit: "
            "type a name such as 'Digit Classifier'."
        )
    return ""


def description_error(value: Any) -> str:
    """Message for a description that is not one plain line, empty when it is."""
    return _plain_text_error("description", str(value or ""))


def package_name_error(value: Any) -> str:
    """Message for a bad import package name, empty when it is usable."""
    name = str(value or "")
    if not name:
        return "package_name is empty: type a lowercase name such as 'digit_classifier'."
    problem = _package_problem(name)
    shown = name if len(name) <= 2 * MAX_NAME_LENGTH else name[:MAX_NAME_LENGTH] + "..."
    return f"package_name {shown!r} {problem}: {_package_hint(name)}" if problem else ""


def _package_problem(name: str) -> str:
    """What is wrong with a non-empty package name, empty when nothing is."""
    if not PACKAGE_NAME_RE.match(name):
        return "is not a lowercase Python identifier (letters, digits, '_', starting with a letter)"
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "is a Python keyword"
    if name in sys.stdlib_module_names:
        return f"shadows the standard library module {name!r}"
    if name in RESERVED_PACKAGE_NAMES:
        return f"shadows the {name!r} package the project uses"
    if name.startswith("_") or name.endswith("_") or "__" in name:
        return "has stray underscores"
    return ""


def _package_hint(name: str) -> str:
    """What to type instead of a bad package name: a repaired name when one exists."""
    base = re.sub(r"_+", "_", default_package_name(name))[: MAX_NAME_LENGTH - 8].strip("_")
    for suggestion in (base, f"{base}_project"):
        if base and suggestion != name and not _package_problem(suggestion):
            return f"type {suggestion!r} or another lowercase name."
    return "type a lowercase name such as 'digit_classifier'."


def email_error(value: Any) -> str:
    """Message for an address that does not look like an email, empty when it does."""
    text = str(value or "")
    if not EMAIL_RE.match(text):
        return (
            f"author_email {text!r} does not look like an email: type one like 'ada@example.com'."
        )
    return ""


def author_name_error(value: Any) -> str:
    """Message for an empty author name or one that is not a plain line."""
    text = str(value or "")
    if not text.strip():
        return "author_name is empty: type your name or your team's."
    return _plain_text_error("author_name", text)


def combination_error(backend: Any, python_version: Any) -> str:
    """Message when a backend and a Python version cannot be installed together."""
    table = load_table()
    if backend not in table["backends"]:
        names = ", ".join(table["backends"])
        return f"torch_backend {backend!r} is unknown: choose one of {names}."
    if str(python_version) not in table["torch"]["python_versions"]:
        versions = ", ".join(table["torch"]["python_versions"])
        return (
            f"python_version {python_version!r} has no torch wheels for backend {backend!r}: "
            f"choose one of {versions}."
        )
    return ""


def derive(answers: dict[str, Any]) -> dict[str, Any]:
    """All variant-dependent values for one set of answers (pure; no Copier needed)."""
    table = load_table()
    name = answers["torch_backend"]
    python = str(answers["python_version"])
    raw = table["backends"][name]
    is_cuda = bool(raw["gpu_expected"])
    torch_spec = f">={raw['torch_min']},<{raw['torch_max_exclusive']}"
    versions = table["torch"]["python_versions"]
    backend = {
        "name": name,
        "label": raw["label"],
        "is_cuda": is_cuda,
        "cuda_version": raw["cuda_version"],
        "min_driver": raw["min_driver"],
        "gpu_archs": list(raw["gpu_archs"]),
        "index_name": f"pytorch-{name}",
        "index_url": raw["index_url"],
        "torch_spec": torch_spec,
        "torch_min": raw["torch_min"],
        "torch_max_exclusive": raw["torch_max_exclusive"],
        "conda_pytorch_spec": f"pytorch[version='{torch_spec}',build='{raw['conda_build']}']",
        "conda_build": raw["conda_build"],
        "conda_cuda_version": raw["cuda_version"],
        "docker_base": f"python:{python}-slim-trixie",
        "accelerator": "auto" if is_cuda else "cpu",
        "precision": "auto" if is_cuda else "32-true",
        "pin_memory": is_cuda,
        "ci_torch_index_url": table["backends"]["cpu"]["index_url"],
        # The self-hosted runner gpu.yml runs on; the custom labels go to actionlint's config.
        "gpu_runner_labels": [*GITHUB_RUNNER_LABELS, *GPU_RUNNER_LABELS] if is_cuda else [],
        "custom_runner_labels": list(GPU_RUNNER_LABELS) if is_cuda else [],
    }
    env_vars = {
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",
        "PYTHONHASHSEED": "0",
        "TORCH_HOME": f"{CACHE_ROOT}/torch",
        "HF_HOME": f"{CACHE_ROOT}/huggingface",
        "UV_CACHE_DIR": f"{CACHE_ROOT}/uv",
    }
    if is_cuda:
        env_vars["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
    starters = _selected_starters(answers)
    table_of_starters = load_starters()
    return {
        "starters_selected": starters,
        "starter_dependencies": [
            dep for name in starters for dep in table_of_starters[name]["dependencies"]
        ],
        "starter_extras": {
            extra: requirements
            for name in starters
            for extra, requirements in table_of_starters[name]["extras"].items()
        },
        "backend": backend,
        "env_vars": env_vars,
        "cache_volumes": {
            "torch": env_vars["TORCH_HOME"],
            "huggingface": env_vars["HF_HOME"],
            "uv": env_vars["UV_CACHE_DIR"],
        },
        "cache_dir_mode": CACHE_DIR_MODE,
        "uv_version": UV_VERSION,
        "project_slug": project_slug(answers.get("project_name", "")),
        "license_expression": LICENSE_EXPRESSIONS.get(str(answers.get("license", "MIT")), "MIT"),
        "python_versions_supported": versions,
        "ci_python_versions": [v for v in versions if _version(v) >= _version(python)],
        "python_max": versions[-1],
        "python_tag": "py" + python.replace(".", ""),
    }


class TorchTemplateExtension(Extension):
    """Registers the choice globals and the validation filters used by ``copier.yml``."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["tt_backend_choices"] = backend_choices()
        environment.globals["tt_python_choices"] = python_choices()
        environment.globals["tt_default_python"] = load_table()["torch"]["default_python"]
        environment.globals["tt_starter_choices"] = starter_choices()
        environment.filters["tt_starter_reinclusions"] = starter_reinclusions
        environment.filters["tt_default_package_name"] = default_package_name
        environment.filters["tt_project_name_error"] = project_name_error
        environment.filters["tt_package_name_error"] = package_name_error
        environment.filters["tt_email_error"] = email_error
        environment.filters["tt_description_error"] = description_error
        environment.filters["tt_author_name_error"] = author_name_error
        environment.filters["tt_combination_error"] = combination_error


try:  # Copier's loader is only present while rendering; unit tests import this file bare.
    from copier_template_extensions import ContextHook
except ImportError:  # pragma: no cover - exercised only outside the test environment
    ContextHook = Extension  # type: ignore[assignment,misc]


# Every answer ``derive`` reads: the hook's cache key.
DERIVE_INPUTS = ("torch_backend", "python_version", "project_name", "license", "starters")


@lru_cache(maxsize=64)
def derive_cached(answers: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """``derive`` of the ``(name, value)`` answer pairs, computed once per distinct answers.

    The context hook runs for every string Copier renders (hundreds per project); the values
    it adds are read-only in templates, so one shared result per answer set is enough.
    """
    return derive(dict(answers))


class DerivedContext(ContextHook):  # type: ignore[misc,valid-type]
    """Adds the derived values to the render context once the answers they need exist."""

    def hook(self, context: dict[str, Any]) -> None:
        """Update ``context`` in place (Copier calls this for every render)."""
        answered = "python_version" in context
        if answered and context.get("torch_backend") in load_table()["backends"]:
            inputs = tuple(
                (name, _hashable(context[name])) for name in DERIVE_INPUTS if name in context
            )
            context.update(derive_cached(inputs))


def _hashable(value: Any) -> Any:
    """An answer as a cache key: lists (multiselect answers) become tuples."""
    return tuple(value) if isinstance(value, list) else value
