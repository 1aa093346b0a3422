"""MkDocs hook: generate the questions reference and the variants matrix at build time.

Both pages are computed from ``copier.yml`` and ``extensions/backends.toml`` (through the
template's own extension, ``extensions/torch_template.py``), so they cannot drift from what
``copier copy`` asks and renders. They exist only in the built site, never in ``docs/``.

``generate()`` returns the pages' Markdown; tests call it directly.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS_PAGE = "reference/questions.md"
VARIANTS_PAGE = "reference/variants.md"

# One refused answer per validated question: the reference shows the message Copier prints.
SAMPLE_BAD_ANSWERS: dict[str, str] = {
    "project_name": "",
    "package_name": "torch",
    "description": 'Says "hi"',
    "author_name": "",
    "author_email": "nobody",
}
# Validators that can only fire outside Copier's own choice check are shown this way instead.
CHOICE_QUESTIONS_NOTE = (
    "Any answer outside the listed choices is refused by Copier itself, with a one-line "
    "`Invalid choice for 'KEY': 'ANSWER' is not in [...]` that lists the valid answers."
)


def load_extension(root: Path = ROOT) -> ModuleType:
    """Import ``extensions/torch_template.py`` of ``root`` (as Copier's loader would)."""
    name = "torch_template"
    if name in sys.modules and Path(sys.modules[name].__file__ or "").parent == root / "extensions":
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, root / "extensions" / "torch_template.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_questions(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """The questions of ``copier.yml`` in order (settings starting with ``_`` left out)."""
    config = yaml.safe_load((root / "copier.yml").read_text(encoding="utf-8"))
    return {key: value for key, value in config.items() if not key.startswith("_")}


def _environment(extension: ModuleType) -> Environment:
    return Environment(extensions=[extension.TorchTemplateExtension])


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _render(env: Environment, value: Any, context: dict[str, Any]) -> Any:
    return env.from_string(value).render(context) if isinstance(value, str) else value


def _choices(env: Environment, question: dict[str, Any]) -> dict[str, Any]:
    """label -> value of a question's choices (rendered when they are a Jinja expression)."""
    raw = question.get("choices")
    if raw is None:
        return {}
    if isinstance(raw, str):
        raw = json.loads(_render(env, raw, {}))
    if isinstance(raw, list):
        return {str(item): item for item in raw}
    return dict(raw)


def _label(label: str, value: Any) -> str:
    """A choice's label without the ``value: `` prefix the backend labels carry."""
    prefix = f"{value}: "
    return label[len(prefix) :] if label.startswith(prefix) else label


def _default_text(key: str, raw: Any, rendered: Any, keys: list[str]) -> str:
    if isinstance(rendered, bool):
        return "yes" if rendered else "no"
    if isinstance(rendered, list):
        return ", ".join(f"`{item}`" for item in rendered) or "none"
    if isinstance(raw, str) and "{{" in raw:
        sources = [other for other in keys if other != key and other in raw]
        if sources:
            names = ", ".join(f"`{other}`" for other in sources)
            return f"derived from {names} (e.g. `{rendered}`)"
    return f"`{rendered}`"


def defaults(root: Path = ROOT) -> dict[str, Any]:
    """Each question's default as ``copier copy --defaults`` would answer it."""
    extension = load_extension(root)
    env = _environment(extension)
    answers: dict[str, Any] = {}
    for key, question in load_questions(root).items():
        value = _render(env, question.get("default"), answers)
        if question.get("type") == "bool" and isinstance(value, str):
            value = value.strip().lower() in {"true", "yes", "1"}
        answers[key] = value
    return answers


def refusal(root: Path, key: str, answer: str) -> str:
    """The message Copier prints when question ``key`` gets ``answer``."""
    extension = load_extension(root)
    env = _environment(extension)
    question = load_questions(root)[key]
    context = {**defaults(root), key: answer}
    return str(_render(env, question["validator"], context)).strip()


def _rules(extension: ModuleType) -> list[str]:
    """The validators' rules, with the limits and names read from the extension."""
    reserved = ", ".join(f"`{name}`" for name in sorted(extension.RESERVED_PACKAGE_NAMES))
    return [
        "## The rules",
        "",
        "`project_name`",
        f":   Up to {extension.MAX_PROJECT_NAME_LENGTH} characters on one line, without double "
        "quotes or backslashes (they would break the TOML and YAML files it is written "
        "into), with at least one Latin letter or digit. Accents are fine: they are dropped "
        "for the package default and the distribution name (`Ünïcode Vision` becomes "
        f"`{extension.default_package_name('Ünïcode Vision')}` and "
        f"`{extension.project_slug('Ünïcode Vision')}`).",
        "",
        "`package_name`",
        f":   A lowercase Python identifier of at most {extension.MAX_NAME_LENGTH} characters "
        "(letters, digits and single underscores, starting with a letter), not a Python keyword, "
        "not a standard-library module, and none of the packages the project uses or that "
        f"would confuse it: {reserved}.",
        "",
        "`description`, `author_name`",
        ":   One line without double quotes or backslashes; `author_name` must not be empty.",
        "",
        "`author_email`",
        ":   A plain ASCII address such as `ada@example.com` (no quotes, spaces or backslashes).",
    ]


def questions_page(root: Path = ROOT) -> str:
    """Markdown of the questions reference."""
    extension = load_extension(root)
    env = _environment(extension)
    questions = load_questions(root)
    keys = list(questions)
    answers = defaults(root)
    lines = [
        "# Questions reference",
        "",
        '!!! info "Generated page"',
        "    Built from `copier.yml` and `extensions/backends.toml` each time the site is "
        "built, so it always matches what `copier copy` asks.",
        "",
        "`copier copy` asks these questions in this order. Answer them interactively, or "
        "pass answers with `--data KEY=VALUE` (repeatable) or `--data-file answers.yml`; "
        "`--defaults` takes the default for everything not given.",
        "",
        "| Key | Question | Type | Default | Answers |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, question in questions.items():
        choices = _choices(env, question)
        if choices:
            allowed = "<br>".join(
                f"`{value}`" + ("" if str(value) == label else f": {_cell(_label(label, value))}")
                for label, value in choices.items()
            )
        elif question.get("type") == "bool":
            allowed = "`true` or `false`"
        else:
            allowed = "free text, validated (see below)" if "validator" in question else "free"
        default = _default_text(key, question.get("default"), answers[key], keys)
        row = [f"`{key}`", _cell(question.get("help", "")), question.get("type", "str")]
        lines.append("| " + " | ".join([*row, _cell(default), allowed]) + " |")

    lines += ["", "## What is refused", "", CHOICE_QUESTIONS_NOTE, ""]
    lines += [
        "The other answers are checked by the template's validators "
        "(`extensions/torch_template.py`). A refused answer stops `copier copy` before "
        "anything is written, with one line that says what to type instead; interactively, "
        "the question is asked again. Examples:",
        "",
        "| Key | Answer | Message |",
        "| --- | --- | --- |",
    ]
    for key, question in questions.items():
        if "validator" not in question or _choices(env, question):
            continue
        if key not in SAMPLE_BAD_ANSWERS:
            raise KeyError(f"docs/hooks/generate.py: add a refused sample answer for {key!r}")
        answer = SAMPLE_BAD_ANSWERS[key]
        message = refusal(root, key, answer)
        if not message:
            raise ValueError(f"sample answer {answer!r} for {key!r} is not refused")
        lines.append(f"| `{key}` | `{_cell(json.dumps(answer))}` | {_cell(message)} |")

    lines += ["", *_rules(extension)]
    lines += [
        "",
        "## All defaults as an answers file",
        "",
        "Save this as `answers.yml`, edit it, and run "
        "`copier copy --trust --defaults --data-file answers.yml gh:org/torch-template myproj`:",
        "",
        "```yaml",
        yaml.safe_dump(answers, sort_keys=False, allow_unicode=True).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def _backend_rows(extension: ModuleType, python: str) -> dict[str, dict[str, Any]]:
    return {
        name: extension.derive(
            {"torch_backend": name, "python_version": python, "project_name": "Example"}
        )
        for name in extension.backend_names()
    }


def _sources(root: Path) -> list[str]:
    """The 'Sources' comment block at the top of backends.toml, as Markdown lines."""
    lines, inside = [], False
    for line in (root / "extensions" / "backends.toml").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            if inside:
                break
            continue
        text = line[1:].strip()
        if text.lower().startswith("sources"):
            inside = True
            continue
        if inside and text:
            text = re.sub(r"\((https?://[^)\s]+)\)", r"(<\1>)", text)
            lines.append(text if text.startswith("- ") else f"  {text}")
    return lines


VARIANT_FIELDS: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
    ("Kind", "kind", lambda d: d["backend"]["kind_name"]),
    ("CUDA", "cuda_version", lambda d: d["backend"]["cuda_version"] or "-"),
    ("ROCm", "rocm_version", lambda d: d["backend"]["rocm_version"] or "-"),
    ("Host driver", "min_driver", lambda d: d["backend"]["min_driver"] or "-"),
    ("GPU architectures", "gpu_archs", lambda d: ", ".join(d["backend"]["gpu_archs"]) or "-"),
    ("torch versions", "torch_spec", lambda d: d["backend"]["torch_spec"]),
    ("Wheel index (uv, pip)", "index_url", lambda d: d["backend"]["index_url"]),
    (
        "Index used on (PyPI's torch elsewhere)",
        "platform_names",
        lambda d: ", ".join(d["backend"]["platform_names"]),
    ),
    (
        "Also from the index (uv)",
        "index_packages",
        lambda d: (
            ", ".join(d["backend"]["index_packages"])
            or (
                "every package (lock for these platforms only)"
                if d["backend"]["uv_environments"]
                else "-"
            )
        ),
    ),
    (
        "conda-forge spec",
        "conda_pytorch_spec",
        lambda d: d["backend"]["conda_pytorch_spec"] or "none: Python and pip, then pip",
    ),
    (
        "conda `cuda-version`",
        "conda_cuda_version",
        lambda d: d["backend"]["conda_cuda_version"] or "-",
    ),
    ("Docker base image", "docker_base", lambda d: d["backend"]["docker_base"]),
    ("GPU in a container", "docker_gpu_args", lambda d: d["backend"]["docker_gpu_args"] or "-"),
    ("Trainer `accelerator`", "accelerator", lambda d: d["backend"]["accelerator"]),
    ("Trainer `precision`", "precision", lambda d: d["backend"]["precision"]),
    ("DataLoader `pin_memory`", "pin_memory", lambda d: str(d["backend"]["pin_memory"]).lower()),
    (
        "`CUBLAS_WORKSPACE_CONFIG`",
        "env_vars",
        lambda d: d["env_vars"].get("CUBLAS_WORKSPACE_CONFIG", "-"),
    ),
    ("CI installs torch from", "ci_torch_index_url", lambda d: d["backend"]["ci_torch_index_url"]),
    (
        "GPU workflow runner",
        "gpu_runner_labels",
        lambda d: ", ".join(d["backend"]["gpu_runner_labels"]) or "-",
    ),
]


def variants_page(root: Path = ROOT) -> str:
    """Markdown of the compute-variants matrix."""
    extension = load_extension(root)
    table = extension.load_table()
    python = table["torch"]["default_python"]
    rows = _backend_rows(extension, python)
    names = list(rows)
    lines = [
        "# Compute variants",
        "",
        '!!! info "Generated page"',
        "    Built from `extensions/backends.toml` through `extensions/torch_template.py` each "
        "time the site is built: the same values the template renders.",
        "",
        "The `torch_backend` answer picks which build of torch a project installs and every "
        "setting that depends on it. The code itself is identical in every variant; only "
        "install metadata, container settings and trainer defaults differ.",
        "",
        f"- Supported torch releases: {', '.join(table['torch']['releases'])}",
        f"- Python versions (`python_version`): {', '.join(table['torch']['python_versions'])} "
        f"(default {python})",
        "",
        "## Backends",
        "",
        "| `torch_backend` | Meaning |",
        "| --- | --- |",
    ]
    for name in names:
        lines.append(f"| `{name}` | {_cell(rows[name]['backend']['label'])} |")
    lines += [
        "",
        "## What each answer sets",
        "",
        f"Values for `python_version={python}`; the Docker base follows `python_version`.",
        "",
        "| Setting | " + " | ".join(f"`{name}`" for name in names) + " |",
        "| --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for title, _field, get in VARIANT_FIELDS:
        cells = [f"`{_cell(get(rows[name]))}`" for name in names]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    common = rows[names[0]]["env_vars"]
    lines += [
        "",
        "Environment variables set in every variant (Dockerfile, Compose, devcontainer): "
        + ", ".join(f"`{key}={value}`" for key, value in common.items())
        + ". CUDA variants add `CUBLAS_WORKSPACE_CONFIG` for deterministic cuBLAS.",
        "",
        "conda-forge builds PyTorch for the CPU and CUDA only: the `environment.yml` of a ROCm "
        "or XPU project holds Python and pip, and says to install torch from the backend's "
        "index with pip, then the project. Nothing here is checked against the wheel indexes "
        "themselves: they are unreachable where the template's tests run "
        "([what is verified](../design.md#what-is-verified-and-what-is-only-checked-on-paper)).",
        "",
        "## How to choose",
        "",
        "- No GPU: `cpu`. On a Mac with Apple silicon `cpu` is the one to choose too: uv and pip "
        "take torch from PyPI there, whose build supports Apple's GPU (MPS), and the default "
        "`accelerator: auto` trains on it; `trainer=cpu` pins the CPU. MPS lacks some "
        "operations: they raise `NotImplementedError` unless `PYTORCH_ENABLE_MPS_FALLBACK=1` "
        "is set, which runs them on the CPU (slower); which operations fall back changes with "
        "each torch release. MPS has no float64.",
        "- An AMD GPU (Linux x86_64 only): a `rocm*` backend whose architectures list holds your "
        "GPU (`rocminfo | grep gfx`) and whose ROCm the host's amdgpu driver supports: "
        "`rocm7.2` for torch 2.12-2.14 on the 30.x driver, `rocm7.14` (torch 2.14) with the "
        "31.40 driver, `rocm7.1` only for torch below 2.14. ROCm builds answer to `torch.cuda`, "
        "so Lightning's `auto`, `trainer=gpu`, `ddp` and `fsdp` use the AMD GPU unchanged. "
        "Elsewhere (macOS, Windows, Linux on ARM) uv takes PyPI's torch.",
        "- An Intel GPU (Arc, Core Ultra, Data Center GPU Max): `xpu`, on Linux x86_64 or "
        "Windows with Intel's GPU driver. Lightning has no XPU accelerator: `accelerator: auto` "
        "trains on the CPU, and `trainer=xpu` (the project's own accelerator) on the Intel GPU.",
        "- Check the driver with `nvidia-smi`: the *Driver Version* in its header must be at "
        "least the backend's minimum driver above. Within one CUDA major version, NVIDIA's "
        "minor-version compatibility lets the wheels run on any driver that meets that minimum, "
        "even when `nvidia-smi` reports an older *CUDA Version*.",
        "- A GPU older than the backend's architectures list (e.g. Pascal or Volta on CUDA 13) "
        "fails at run time with *no kernel image is available*: choose a CUDA 12 backend.",
        "- Changing later: `copier update --trust --defaults --vcs-ref=:current: --data "
        "torch_backend=...` (see [Updating a project](../updating.md)).",
        "",
        "## Sources",
        "",
        "As recorded in `extensions/backends.toml`:",
        "",
        *_sources(root),
        "",
    ]
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[Path], str]] = {
    QUESTIONS_PAGE: questions_page,
    VARIANTS_PAGE: variants_page,
}


def generate(root: Path = ROOT) -> dict[str, str]:
    """Every generated page: path inside the docs -> Markdown."""
    return {path: make(root) for path, make in GENERATORS.items()}


def on_files(files: Any, config: Any) -> Any:
    """MkDocs event: add the generated pages to the site's files."""
    from mkdocs.structure.files import File

    for path, markdown in generate().items():
        files.append(File.generated(config, path, content=markdown))
    return files
