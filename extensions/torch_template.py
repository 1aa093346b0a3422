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
# A backend's label is one line of the rendered variant.py (LABEL = "..."), 100 columns wide.
MAX_LABEL_LENGTH = 90

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
# Labels of the self-hosted runner of the GPU workflow: GitHub's own, then the project's, by
# the kind of GPU the runner has (CUDA keeps the plain `gpu` label it always had).
GITHUB_RUNNER_LABELS = ("self-hosted", "linux")
GPU_RUNNER_LABELS = {"cuda": ("gpu",), "rocm": ("rocm",), "xpu": ("xpu",)}
# Their mode in the image: any uid may write (the devcontainer remaps the user's uid), and the
# sticky bit keeps users from deleting each other's files.
CACHE_DIR_MODE = "1777"

# The families of torch builds, and the torch namespace each one's devices answer to (ROCm
# builds report through torch.cuda, with torch.version.hip set).
KINDS = ("cpu", "cuda", "rocm", "xpu")
DEVICE_APIS = {"cpu": "cpu", "cuda": "cuda", "rocm": "cuda", "xpu": "xpu"}
KIND_NAMES = {"cpu": "CPU", "cuda": "NVIDIA CUDA", "rocm": "AMD ROCm", "xpu": "Intel XPU"}
# Where an index has wheels, as PEP 508 markers (uv's sources take PyPI's torch elsewhere).
PLATFORM_MARKERS = {
    "linux": "sys_platform == 'linux'",
    "linux-x86_64": "sys_platform == 'linux' and platform_machine == 'x86_64'",
    "windows": "sys_platform == 'win32'",
    "windows-amd64": "sys_platform == 'win32' and platform_machine == 'AMD64'",
}
PLATFORM_NAMES = {
    "linux": "Linux",
    "linux-x86_64": "Linux x86_64",
    "windows": "Windows",
    "windows-amd64": "Windows x86_64",
}
# Container access to the GPU without --privileged: device nodes and the groups owning them.
# ROCm: /dev/kfd (compute) and /dev/dri (render nodes), groups video and render; XPU: /dev/dri,
# group render. The render group's id differs between hosts, so it comes from RENDER_GID.
CONTAINER_DEVICES = {"rocm": ("/dev/kfd", "/dev/dri"), "xpu": ("/dev/dri",)}
CONTAINER_GROUPS = {"rocm": ("video", "render"), "xpu": ("render",)}
RENDER_GID_VARIABLE = "RENDER_GID"
# The NVIDIA-only environment variable for deterministic cuBLAS.
CUBLAS_WORKSPACE_CONFIG = ":4096:8"

# The experiment trackers a project can log to by default (the `tracker` question). Each is a
# logger config of the project (configs/logger/<name>.yaml) and, but for csv, the optional
# dependency that config needs: the chosen one joins the project's dependencies, the others
# stay extras. MLflow from 3.7: SQLite is its default backend store there and the file store
# is in maintenance mode (MLflow 3.7.0 release notes); the project's mlflow config uses a
# SQLite store of its own. TensorBoard 2.16 and wandb 0.17 are the oldest releases the
# project's loggers were tested with when these bounds were set.
TRACKERS: dict[str, dict[str, str]] = {
    "csv": {"title": "CSV files in each run directory (nothing to install)", "pip": ""},
    "tensorboard": {"title": "TensorBoard event files", "pip": "tensorboard>=2.16"},
    "mlflow": {"title": "MLflow, one store for the whole project", "pip": "mlflow>=3.7"},
    "wandb": {"title": "Weights & Biases (offline until you log in)", "pip": "wandb>=0.17"},
}
# Where the mlflow config's store lives, below the project's log directory, and the port of the
# compose service that serves it (MLflow's default port).
MLFLOW_STORE = "mlflow.db"
MLFLOW_PORT = 5000
# The template-update workflow: when it looks for a new template release (weekly, Monday 06:17
# UTC: off the hour, as GitHub asks of scheduled workflows) and the Copier it runs.
TEMPLATE_UPDATE_CRON = "17 6 * * 1"
COPIER_REQUIREMENT = "copier>=9.5,<10"
COPIER_EXTENSIONS_REQUIREMENT = "copier-template-extensions>=0.3.4"


@cache
def load_table(path: Path = TABLE_PATH) -> dict[str, Any]:
    """Read and check the backends table; raise ValueError naming the first inconsistency."""
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    torch_table = table["torch"]
    if torch_table["default_python"] not in torch_table["python_versions"]:
        raise ValueError("default_python is not among python_versions")
    for name, backend in table["backends"].items():
        problem = _backend_problem(name, backend, torch_table)
        if problem:
            raise ValueError(f"backend {name!r}: {problem}")
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


def tracker_choices() -> dict[str, str]:
    """Question choices for ``tracker``: label -> key."""
    return {f"{name}: {tracker['title']}": name for name, tracker in TRACKERS.items()}


def _tracker_values(name: str) -> dict[str, Any]:
    """The derived values of the chosen tracker that template files read as ``tracker.*``."""
    requirement = TRACKERS[name]["pip"]
    return {
        "name": name,
        "title": TRACKERS[name]["title"],
        # The logger config train.yaml picks by default.
        "logger": name,
        # Added to the project's dependencies (empty for csv, which needs nothing more).
        "requirement": requirement,
        "is_csv": name == "csv",
        "is_mlflow": name == "mlflow",
        "is_tensorboard": name == "tensorboard",
        "is_wandb": name == "wandb",
    }


def _flag(answers: dict[str, Any], name: str) -> bool:
    """A yes/no answer (Copier gives a bool; a string comes from a hand-written answers file)."""
    value = answers.get(name, True)
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "y", "1", "on"}
    return bool(value)


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


def _backend_problem(name: str, backend: dict[str, Any], torch_table: dict[str, Any]) -> str:
    """What is inconsistent in one row of the table, empty when nothing is."""
    kind = backend["kind"]
    if kind not in KINDS:
        return f"kind {kind!r} is not one of {', '.join(KINDS)}"
    if len(backend["label"]) > MAX_LABEL_LENGTH:
        return f"label is longer than {MAX_LABEL_LENGTH} characters"
    lo, hi = _version(backend["torch_min"]), _version(backend["torch_max_exclusive"])
    if not lo < hi:
        return "empty torch range"
    if not any(lo <= _version(r) < hi for r in torch_table["releases"]):
        return "no supported torch release ships it"
    if backend["gpu_expected"] != (kind != "cpu"):
        return f"gpu_expected disagrees with kind {kind!r}"
    if bool(backend["cuda_version"]) != (kind == "cuda"):
        return f"cuda_version disagrees with kind {kind!r} (set for CUDA rows only)"
    if bool(backend["rocm_version"]) != (kind == "rocm"):
        return f"rocm_version disagrees with kind {kind!r} (set for ROCm rows only)"
    if name != expected_name(backend):
        return f"name does not match its kind and version (expected {expected_name(backend)!r})"
    if backend["index_url"] != f"https://download.pytorch.org/whl/{name}":
        return "index_url is not PyTorch's index of that name"
    return _facts_problem(kind, backend, torch_table)


def _facts_problem(kind: str, backend: dict[str, Any], torch_table: dict[str, Any]) -> str:
    """What is inconsistent in a row's platforms, Pythons, driver, GPUs and conda build."""
    platforms = backend["platforms"]
    unknown = [p for p in platforms if p not in PLATFORM_MARKERS]
    if not platforms or unknown:
        return f"platforms {platforms!r}: choose from {', '.join(PLATFORM_MARKERS)}"
    pythons = backend.get("python_versions", torch_table["python_versions"])
    if not pythons or not set(pythons) <= set(torch_table["python_versions"]):
        return "python_versions must be a non-empty subset of [torch].python_versions"
    if kind == "cuda" and not re.fullmatch(r"\d+(\.\d+)+", backend["min_driver"]):
        return "min_driver of a CUDA row must be a driver version such as 525.60.13"
    if kind != "cpu" and not backend["min_driver"]:
        return "min_driver is empty: say what the host's driver must be"
    prefixes = {"cpu": None, "cuda": "sm_", "rocm": "gfx", "xpu": None}
    prefix = prefixes[kind]
    archs = backend["gpu_archs"]
    if kind == "cpu" and archs:
        return "gpu_archs of a CPU row must be empty"
    if prefix and (not archs or not all(arch.startswith(prefix) for arch in archs)):
        return f"gpu_archs of a {kind} row must be {prefix}* names"
    conda = backend["conda_build"]
    if conda and not conda.startswith(kind):
        return f"conda_build {conda!r} disagrees with kind {kind!r}"
    if not backend["index_explicit"] and backend["index_packages"]:
        return "index_packages is for explicit indexes: a non-explicit index serves them all"
    return ""


def expected_name(backend: dict[str, Any]) -> str:
    """The backend name its kind and version imply: cpu, cu126, rocm7.2, xpu."""
    kind = backend["kind"]
    if kind == "cuda":
        return "cu" + backend["cuda_version"].replace(".", "")
    if kind == "rocm":
        return "rocm" + backend["rocm_version"]
    return str(kind)


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


def backend_pythons(name: str) -> list[str]:
    """The Python versions a backend's wheels exist for (the table's list unless narrowed)."""
    table = load_table()
    return list(table["backends"][name].get("python_versions", table["torch"]["python_versions"]))


def combination_error(backend: Any, python_version: Any) -> str:
    """Message when a backend and a Python version cannot be installed together."""
    table = load_table()
    if backend not in table["backends"]:
        names = ", ".join(table["backends"])
        return f"torch_backend {backend!r} is unknown: choose one of {names}."
    python = str(python_version)
    if python not in table["torch"]["python_versions"]:
        versions = ", ".join(table["torch"]["python_versions"])
        return (
            f"python_version {python!r} has no torch wheels for backend {backend!r}: "
            f"choose one of {versions}."
        )
    if python not in backend_pythons(backend):
        others = [name for name in table["backends"] if python in backend_pythons(name)]
        versions = ", ".join(backend_pythons(backend))
        instead = f"one of {', '.join(others)}" if others else "another backend"
        return (
            f"torch_backend {backend!r} has no wheels for Python {python}: choose {instead}, "
            f"or go back and answer python_version with one of {versions}."
        )
    return ""


def _platform_marker(platforms: list[str]) -> str:
    """One PEP 508 marker for an index's platforms ('or' of each platform's marker)."""
    markers = [PLATFORM_MARKERS[platform] for platform in platforms]
    if len(markers) == 1:
        return markers[0]
    return " or ".join(f"({m})" if " and " in m else m for m in markers)


def _backend_values(name: str, raw: dict[str, Any], python: str) -> dict[str, Any]:
    """The derived values of one backend row that template files read as ``backend.*``."""
    table = load_table()
    kind = raw["kind"]
    is_gpu = bool(raw["gpu_expected"])
    torch_spec = f">={raw['torch_min']},<{raw['torch_max_exclusive']}"
    platforms = list(raw["platforms"])
    marker = _platform_marker(platforms)
    has_conda = bool(raw["conda_build"])
    devices = list(CONTAINER_DEVICES.get(kind, ()))
    groups = list(CONTAINER_GROUPS.get(kind, ()))
    # GitHub's x64 label where the index has no wheels for another Linux machine.
    x64 = ["x64"] if "linux" not in platforms else []
    custom_labels = list(GPU_RUNNER_LABELS.get(kind, ()))
    return {
        "name": name,
        "label": raw["label"],
        "kind": kind,
        "kind_name": KIND_NAMES[kind],
        "is_cpu": kind == "cpu",
        "is_gpu": is_gpu,
        # NVIDIA CUDA only (ROCm builds use the torch.cuda API too: see device_api).
        "is_cuda": kind == "cuda",
        "is_rocm": kind == "rocm",
        "is_xpu": kind == "xpu",
        "device_api": DEVICE_APIS[kind],
        "cuda_version": raw["cuda_version"],
        "rocm_version": raw["rocm_version"],
        "min_driver": raw["min_driver"],
        "gpu_archs": list(raw["gpu_archs"]),
        "index_name": f"pytorch-{name}",
        "index_url": raw["index_url"],
        "index_explicit": bool(raw["index_explicit"]),
        "index_packages": list(raw["index_packages"]),
        "platforms": platforms,
        "platform_names": [PLATFORM_NAMES[platform] for platform in platforms],
        "platform_marker": marker,
        "linux_only": all(platform.startswith("linux") for platform in platforms),
        # A non-explicit index serves every package, so the lock covers its platforms only.
        "uv_environments": [] if raw["index_explicit"] else [marker],
        "torch_spec": torch_spec,
        "torch_min": raw["torch_min"],
        "torch_max_exclusive": raw["torch_max_exclusive"],
        "has_conda_build": has_conda,
        "conda_pytorch_spec": (
            f"pytorch[version='{torch_spec}',build='{raw['conda_build']}']" if has_conda else ""
        ),
        "conda_build": raw["conda_build"],
        "conda_cuda_version": raw["cuda_version"],
        "docker_base": f"python:{python}-slim-trixie",
        "container_devices": devices,
        "container_groups": groups,
        # docker run arguments that give a container the GPU, without --privileged.
        "docker_gpu_args": _docker_gpu_args(kind, devices, groups),
        "render_gid_variable": RENDER_GID_VARIABLE if "render" in groups else "",
        # NVIDIA CUDA resolves precision and accelerator at run time; the cpu variant trains on
        # Apple's MPS where Lightning finds it (auto), else on the CPU, in full precision.
        "accelerator": "auto",
        "precision": "auto" if is_gpu else "32-true",
        # Pinned host memory where torch.cuda sees the GPU (NVIDIA and ROCm builds alike).
        "pin_memory": DEVICE_APIS[kind] == "cuda",
        "ci_torch_index_url": table["backends"]["cpu"]["index_url"],
        # The self-hosted runner gpu.yml runs on; the custom labels go to actionlint's config.
        "gpu_runner_labels": [*GITHUB_RUNNER_LABELS, *x64, *custom_labels] if is_gpu else [],
        "custom_runner_labels": custom_labels,
    }


def _docker_gpu_args(kind: str, devices: list[str], groups: list[str]) -> str:
    """The ``docker run`` flags that give a container this kind of GPU."""
    if kind == "cuda":
        return "--gpus all"
    flags = [f"--device {device}" for device in devices]
    for group in groups:
        value = f'"${RENDER_GID_VARIABLE}"' if group == "render" else group
        flags.append(f"--group-add {value}")
    return " ".join(flags)


def derive(answers: dict[str, Any]) -> dict[str, Any]:
    """All variant-dependent values for one set of answers (pure; no Copier needed)."""
    table = load_table()
    name = answers["torch_backend"]
    python = str(answers["python_version"])
    backend = _backend_values(name, table["backends"][name], python)
    versions = backend_pythons(name)
    env_vars = {
        "PYTHONUNBUFFERED": "1",
        "PYTHONFAULTHANDLER": "1",
        "PYTHONHASHSEED": "0",
        "TORCH_HOME": f"{CACHE_ROOT}/torch",
        "HF_HOME": f"{CACHE_ROOT}/huggingface",
        "UV_CACHE_DIR": f"{CACHE_ROOT}/uv",
    }
    if backend["is_cuda"]:
        env_vars["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE_CONFIG
    starters = _selected_starters(answers)
    table_of_starters = load_starters()
    tracker = _tracker_values(str(answers.get("tracker") or "csv"))
    containers, conda_env, ci = (_flag(answers, q) for q in ("containers", "conda_env", "ci"))
    return {
        "tracker": tracker,
        # Optional dependencies of the loggers the project ships beside the chosen one.
        "tracker_extras": {
            name: [values["pip"]]
            for name, values in TRACKERS.items()
            if values["pip"] and name != tracker["name"]
        },
        # The files that restate the compute variant, as the README names them.
        "variant_files": [
            *(["the Dockerfile", "`compose.yaml`", "the devcontainer"] if containers else []),
            *(["`environment.yml`"] if conda_env else []),
            *(["the CI workflows"] if ci else []),
        ],
        "has_containers": containers,
        "has_conda_env": conda_env,
        "has_ci": ci,
        # compose.yaml's `mlflow` service: `mlflow server` on the project's store.
        "mlflow_service": containers and tracker["is_mlflow"],
        "mlflow_store": MLFLOW_STORE,
        "mlflow_port": MLFLOW_PORT,
        # What Dependabot keeps fresh: the workflows' actions, the images, uv.lock.
        "dependabot_ecosystems": [
            *(["github-actions"] if ci else []),
            *(["docker"] if containers else []),
            "uv",
        ],
        "template_update_cron": TEMPLATE_UPDATE_CRON,
        "copier_requirement": COPIER_REQUIREMENT,
        "copier_extensions_requirement": COPIER_EXTENSIONS_REQUIREMENT,
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
        environment.globals["tt_tracker_choices"] = tracker_choices()
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
DERIVE_INPUTS = (
    "torch_backend",
    "python_version",
    "project_name",
    "license",
    "starters",
    "tracker",
    "containers",
    "conda_env",
    "ci",
)


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
