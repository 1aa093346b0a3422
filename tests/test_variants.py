"""Compute variants: one ``torch_backend`` answer drives every variant-dependent file.

For each backend of ``extensions/backends.toml`` the rendered Dockerfile, Compose file,
devcontainer, conda environment, pre-commit config and CI workflows must pass their own
validators (hadolint, the vendored JSON schemas, pre-commit, validate-pyproject, ruff) and carry
the table's values; the rendered project's own ``tests/test_consistency.py`` must pass, and must
fail once a file drifts. Every validator runs once per variant. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from conftest import RUNNING_PYTHON, TEMPLATE_ROOT, render, torch_template

BIN = Path(sys.executable).parent
WORKFLOWS = Path(".github/workflows")
# `uses: owner/repo@<40 hex> # vX.Y.Z`: actions pinned by commit, the release named beside it.
PINNED_ACTION_RE = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
GITHUB_EXPRESSION = "${{ github.workflow }}"
CONSISTENCY_TEST = "tests/test_consistency.py"


def run_tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a console script of this environment (never one found on PATH) in ``cwd``."""
    return subprocess.run(
        [str(BIN / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"},
        check=False,
    )


def output(proc: subprocess.CompletedProcess[str]) -> str:
    """A tool's combined output, for assertion messages."""
    return f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


@cache
def expected(project: Path) -> dict[str, Any]:
    """The table's values for the answers a rendered project recorded."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return torch_template.derive(answers)


def load_yaml(project: Path, relative: str | Path) -> Any:
    """A rendered YAML file, parsed."""
    return yaml.safe_load((project / relative).read_text())


def dockerfile_stages(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The FROM images and each stage's environment (a stage inherits its parent stage's)."""
    text = re.sub(r"\\\n", " ", text)
    images: list[str] = []
    stages: dict[str, dict[str, str]] = {}
    env: dict[str, str] = {}
    for line in text.splitlines():
        words = line.split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        instruction, args = words[0].upper(), words[1] if len(words) > 1 else ""
        if instruction == "FROM":
            parts = args.split()
            images.append(parts[0])
            env = dict(stages.get(parts[0], {}))
            stages[parts[2] if len(parts) >= 3 else str(len(stages))] = env
        elif instruction == "ENV":
            for token in shlex.split(args):
                key, _, value = token.partition("=")
                env[key] = value
    return images, stages


# --- validators, once per variant -------------------------------------------------------------


def test_dockerfile_passes_hadolint(variant_project: Path) -> None:
    proc = run_tool("hadolint", "--no-color", "Dockerfile", cwd=variant_project)
    assert proc.returncode == 0 and not proc.stdout.strip(), output(proc)


def assert_schema(project: Path, schema: str, *files: str) -> None:
    """``check-jsonschema`` with one of its vendored schemas accepts ``files``."""
    proc = run_tool("check-jsonschema", "--builtin-schema", schema, *files, cwd=project)
    assert proc.returncode == 0, output(proc)


def test_workflows_match_the_github_schema(variant_project: Path) -> None:
    workflows = sorted(str(p) for p in (variant_project / WORKFLOWS).glob("*.yml"))
    assert_schema(variant_project, "vendor.github-workflows", *workflows)


def test_compose_file_matches_the_compose_spec(variant_project: Path) -> None:
    assert_schema(variant_project, "vendor.compose-spec", "compose.yaml")


def test_dependabot_config_matches_its_schema(variant_project: Path) -> None:
    assert_schema(variant_project, "vendor.dependabot", ".github/dependabot.yml")
    ecosystems = {
        u["package-ecosystem"]
        for u in load_yaml(variant_project, ".github/dependabot.yml")["updates"]
    }
    assert ecosystems == {"github-actions", "docker", "uv"}


def test_pyproject_passes_validate_pyproject(variant_project: Path) -> None:
    proc = run_tool("validate-pyproject", "pyproject.toml", cwd=variant_project)
    assert proc.returncode == 0, output(proc)


def test_rendered_project_passes_ruff(variant_project: Path) -> None:
    check = run_tool("ruff", "check", "--no-cache", ".", cwd=variant_project)
    assert check.returncode == 0, output(check)
    fmt = run_tool("ruff", "format", "--no-cache", "--check", ".", cwd=variant_project)
    assert fmt.returncode == 0, output(fmt)


def test_precommit_config_is_valid_and_pinned(render_variant) -> None:
    project = render_variant("cpu")  # the file is the same for every variant
    proc = run_tool("pre-commit", "validate-config", ".pre-commit-config.yaml", cwd=project)
    assert proc.returncode == 0, output(proc)
    config = load_yaml(project, ".pre-commit-config.yaml")
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "hadolint", "check-github-workflows"} <= hooks
    assert {"check-yaml", "check-toml", "check-json", "detect-private-key"} <= hooks
    for repo in config["repos"]:
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", repo["rev"]), f"{repo['repo']}: {repo['rev']}"


# Files this feature renders (devcontainer and workflows included below by directory).
VARIANT_FILES = (
    "Dockerfile",
    ".dockerignore",
    "compose.yaml",
    "environment.yml",
    ".pre-commit-config.yaml",
    ".devcontainer/devcontainer.json",
)
# (path in the build context, whether .dockerignore keeps it out of the image build)
BUILD_CONTEXT = [
    (".env", True),
    (".env.local", True),
    (".git/HEAD", True),
    (".venv/bin/python", True),
    ("data/train.csv", True),
    ("logs/train/runs/x/checkpoints/last.ckpt", True),
    ("outputs/2026-01-01/model.ckpt", True),
    ("model.ckpt", True),
    ("notebooks/old/model.ckpt", True),
    ("src/smoke_project/__pycache__/train.cpython-312.pyc", True),
    (".mypy_cache/3.12/x.json", True),
    (".ruff_cache/0.17/x", True),
    ("pyproject.toml", False),
    ("uv.lock", False),
    ("README.md", False),
    ("LICENSE", False),
    ("src/smoke_project/train.py", False),
    ("src/smoke_project/data/synthetic.py", False),
    ("src/smoke_project/configs/train.yaml", False),
]


def dockerignore_regexes(text: str) -> list[re.Pattern[str]]:
    """Docker's .dockerignore patterns as regexes (``**`` any depth, ``*`` within a name)."""
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    regexes = []
    for raw in text.splitlines():
        pattern = raw.strip().strip("/")
        if not pattern or pattern.startswith("#"):
            continue
        assert not pattern.startswith("!"), "exceptions are not modelled here"
        parts = re.split(r"(\*\*/?|\*|\?|\[[^\]]*\])", pattern)
        body = "".join(
            wildcards.get(part, part if part.startswith("[") else re.escape(part)) for part in parts
        )
        regexes.append(re.compile(body))
    return regexes


def ignored_by_docker(path: str, regexes: list[re.Pattern[str]]) -> bool:
    """Whether a pattern matches the path or one of its parent directories, as Docker does."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(regex.fullmatch(prefix) for regex in regexes for prefix in prefixes)


def test_rendered_files_are_clean_text(variant_project: Path) -> None:
    """What the pre-commit hooks would fix: trailing spaces, missing or extra final newlines."""
    paths = [variant_project / name for name in VARIANT_FILES]
    paths += sorted((variant_project / WORKFLOWS).glob("*.yml"))
    for path in paths:
        text = path.read_text()
        assert text.endswith("\n") and not text.endswith("\n\n"), path.name
        assert not re.search(r"[ \t]+$", text, flags=re.MULTILINE), f"{path.name}: trailing space"
        assert "{%" not in text and "{#" not in text, f"{path.name}: Jinja left unrendered"


def test_every_backend_renders_its_own_variant(render_variant) -> None:
    """No two backends render the same project: the index, at least, tells them apart."""
    renders = {name: render_variant(name) for name in torch_template.backend_names()}
    pyprojects = {(root / "pyproject.toml").read_text() for root in renders.values()}
    assert len(pyprojects) == len(renders)
    variants = {(root / "src/smoke_project/variant.py").read_text() for root in renders.values()}
    assert len(variants) == len(renders)


def test_dockerignore_keeps_secrets_data_and_checkpoints_out(render_variant) -> None:
    regexes = dockerignore_regexes((render_variant("cpu") / ".dockerignore").read_text())
    for path, ignored in BUILD_CONTEXT:
        assert ignored_by_docker(path, regexes) == ignored, path


# --- the table's values, file by file ------------------------------------------------------------


def test_pyproject_pins_torch_to_the_variant_index(variant_project: Path) -> None:
    backend = expected(variant_project)["backend"]
    pyproject = tomllib.loads((variant_project / "pyproject.toml").read_text())
    assert f"torch{backend['torch_spec']}" in pyproject["project"]["dependencies"]
    uv = pyproject["tool"]["uv"]
    explicit = backend["index_explicit"]
    assert {"name": backend["index_name"], "url": backend["index_url"], "explicit": explicit} in (
        uv["index"]
    )
    source = {"index": backend["index_name"], "marker": backend["platform_marker"]}
    assert uv["sources"]["torch"] == [source]
    # torch's index-only dependencies: direct dependencies (a default group) from the same index.
    packages = backend["index_packages"]
    assert pyproject["dependency-groups"].get("torch-index", []) == [
        f"{package}; {backend['platform_marker']}" for package in packages
    ]
    assert {name: uv["sources"][name] for name in packages} == {name: [source] for name in packages}
    assert ("torch-index" in uv["default-groups"]) == bool(packages)
    assert uv.get("environments", []) == backend["uv_environments"]


def test_dockerfile_carries_the_variant(variant_project: Path) -> None:
    values = expected(variant_project)
    text = (variant_project / "Dockerfile").read_text()
    images, stages = dockerfile_stages(text)
    python_images = [image for image in images if image.startswith("python:")]
    assert python_images == [values["backend"]["docker_base"]]
    assert not any("nvidia/cuda" in image for image in images)
    runtime = stages[list(stages)[-1]]  # the default target is the last stage
    assert {key: runtime.get(key) for key in values["env_vars"]} == values["env_vars"]
    assert ("CUBLAS_WORKSPACE_CONFIG" in runtime) == values["backend"]["is_cuda"]
    assert runtime["PATH"].startswith("/opt/venv/bin:")
    # Dependencies are synced (from the lock) before the source is copied, then the project.
    source = text.index("COPY src")
    assert text.index("--no-install-project") < source < text.index("uv sync", source)
    assert text.count("--mount=type=cache,target=/root/.cache/uv") >= 2
    assert "UV_COMPILE_BYTECODE=1" in text and "UV_LINK_MODE=copy" in text
    assert re.search(r"^USER \d+:\d+$", text, flags=re.MULTILINE), "runs as a non-root uid"
    assert 'ENTRYPOINT ["python", "-m", "smoke_project.train"]' in text


def test_compose_carries_the_variant(variant_project: Path) -> None:
    values = expected(variant_project)
    compose = load_yaml(variant_project, "compose.yaml")
    service = compose["services"]["train"]
    assert service["build"]["context"] == "."
    assert service["environment"] == values["env_vars"]
    assert service["shm_size"]
    mounts = dict(reversed(volume.split(":", 1)) for volume in service["volumes"])
    for name, path in values["cache_volumes"].items():
        assert mounts[path] == f"{name}-cache" and f"{name}-cache" in compose["volumes"]
    assert mounts["/app/data"] == "data"
    devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
    if values["backend"]["is_cuda"]:
        assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    else:
        assert devices is None and "deploy" not in service
    # AMD and Intel GPUs: their device nodes and groups, never privileged mode.
    assert service.get("devices", []) == values["backend"]["container_devices"]
    groups = service.get("group_add", [])
    assert [g if g == "video" else "render" for g in groups] == values["backend"][
        "container_groups"
    ]
    assert "privileged" not in service and "cap_add" not in service
    if values["backend"]["container_devices"]:
        assert "${RENDER_GID:-render}" in groups
        assert "nvidia" not in (variant_project / "compose.yaml").read_text().lower()


def test_devcontainer_carries_the_variant(variant_project: Path) -> None:
    values = expected(variant_project)
    config = json.loads((variant_project / ".devcontainer/devcontainer.json").read_text())
    assert config["build"] == {"dockerfile": "../Dockerfile", "context": "..", "target": "dev"}
    assert "FROM base AS dev" in (variant_project / "Dockerfile").read_text()
    assert config["remoteUser"] not in {"", "root"}
    assert config["containerEnv"] == values["env_vars"]
    assert any(arg.startswith("--shm-size=") for arg in config["runArgs"])
    flat = json.dumps(config)
    assert "--privileged" not in flat and "--cap-add" not in flat and "--gpus" not in flat
    if values["backend"]["is_cuda"]:
        assert config["hostRequirements"] == {"gpu": "optional"}
    else:
        assert "hostRequirements" not in config
    devices = [arg.removeprefix("--device=") for arg in config["runArgs"] if "--device" in arg]
    assert devices == values["backend"]["container_devices"]
    groups = [arg.removeprefix("--group-add=") for arg in config["runArgs"] if "--group-add" in arg]
    assert len(groups) == len(values["backend"]["container_groups"])
    if values["backend"]["container_devices"]:
        assert "--group-add=${localEnv:RENDER_GID:render}" in config["runArgs"]
        assert "nvidia" not in flat.lower()
    targets = {m.split("target=")[1].split(",")[0] for m in config["mounts"]}
    assert targets == set(values["cache_volumes"].values())
    assert "uv sync" in config["postCreateCommand"]
    vscode = config["customizations"]["vscode"]
    assert {"ms-python.python", "charliermarsh.ruff"} <= set(vscode["extensions"])
    assert vscode["settings"]["[python]"]["editor.defaultFormatter"] == "charliermarsh.ruff"


def test_conda_environment_carries_the_variant(variant_project: Path) -> None:
    values = expected(variant_project)
    backend = values["backend"]
    environment = load_yaml(variant_project, "environment.yml")
    assert environment["channels"] == ["conda-forge"]
    specs = [dep for dep in environment["dependencies"] if isinstance(dep, str)]
    answers = yaml.safe_load((variant_project / ".copier-answers.yml").read_text())
    assert f"python={answers['python_version']}" in specs
    if not backend["has_conda_build"]:
        # conda-forge builds no ROCm or XPU torch: Python and pip, and the pip commands to run.
        assert specs == [f"python={answers['python_version']}", "pip"]
        text = (variant_project / "environment.yml").read_text()
        assert "conda-forge has no" in text
        assert f"--index-url {backend['index_url']}" in text
        return
    assert backend["conda_pytorch_spec"] in specs
    build = "cuda*" if backend["is_cuda"] else "cpu*"
    assert f"build='{build}'" in backend["conda_pytorch_spec"]
    cuda = [dep for dep in specs if dep.startswith("cuda-version")]
    assert cuda == ([f"cuda-version={backend['cuda_version']}"] if backend["is_cuda"] else [])
    pip = [dep["pip"] for dep in environment["dependencies"] if isinstance(dep, dict)]
    assert pip == [["-e ."]], "the project is installed last, with pip"


def test_trainer_defaults_follow_the_variant(variant_project: Path) -> None:
    backend = expected(variant_project)["backend"]
    configs = variant_project / "src" / "smoke_project" / "configs"
    trainer = load_yaml(configs, "trainer/default.yaml")
    assert (trainer["accelerator"], trainer["precision"]) == (
        backend["accelerator"],
        backend["precision"],
    )
    # auto everywhere: a GPU Lightning knows (CUDA, ROCm, Apple's MPS) when there is one, else
    # the CPU; Intel GPUs need trainer=xpu, which every variant ships.
    assert trainer["accelerator"] == "auto"
    assert trainer["precision"] == ("auto" if backend["is_gpu"] else "32-true")
    for option in ("cpu", "gpu", "mps", "xpu", "fsdp", "fsdp_cpu", "ddp", "ddp_cpu"):
        assert (configs / "trainer" / f"{option}.yaml").is_file(), option
    # configs/data/ is user-owned, so it cannot follow the variant: pin_memory resolves at run
    # time instead (on exactly when torch sees a CUDA GPU; see utils/hardware.py).
    assert load_yaml(configs, "data/synthetic.yaml")["pin_memory"] == "auto"


def test_ci_tests_on_cpu_torch_over_the_supported_pythons(variant_project: Path) -> None:
    values = expected(variant_project)
    workflow = load_yaml(variant_project, WORKFLOWS / "ci.yml")
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["env"]["TORCH_INDEX_URL"] == values["backend"]["ci_torch_index_url"]
    assert workflow["env"]["TORCH_REQUIREMENT"] == f"torch{values['backend']['torch_spec']}"
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert matrix == values["ci_python_versions"]
    steps = json.dumps(workflow["jobs"])
    for command in ("ruff check", "ruff format --check", "mypy", "pytest", "--no-sources"):
        assert command in steps, command
    assert "enable-cache" in steps and "torch.version.cuda is None" in steps


def test_docker_workflow_pushes_only_tags(variant_project: Path) -> None:
    workflow = load_yaml(variant_project, WORKFLOWS / "docker.yml")
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        steps = job["steps"]
        pushes = any(step.get("with", {}).get("push") is True for step in steps)
        writes = job.get("permissions", {}).get("packages") == "write"
        assert pushes == writes, f"{name}: packages: write exactly where the image is pushed"
        if pushes:
            assert job["if"] == "startsWith(github.ref, 'refs/tags/')"
        builds = [s for s in steps if s.get("uses", "").startswith("docker/build-push-action@")]
        assert builds and all(s["with"]["cache-from"] == "type=gha" for s in builds)


# What gpu.yml runs to see each kind of GPU, and the trainer its tiny training uses.
GPU_WORKFLOW_COMMANDS = {
    "cuda": ("nvidia-smi", "torch.cuda.is_available()", "pytest -m gpu", "trainer=gpu"),
    "rocm": ("/dev/kfd", "amd-smi", "torch.version.hip", "pytest -m gpu", "trainer=gpu"),
    "xpu": ("/dev/dri", "torch.xpu.is_available()", "doctor --strict", "trainer=xpu"),
}


def test_gpu_workflow_exists_only_for_gpu_variants(variant_project: Path) -> None:
    backend = expected(variant_project)["backend"]
    path = variant_project / WORKFLOWS / "gpu.yml"
    assert path.is_file() == backend["is_gpu"]
    if not path.is_file():
        return
    workflow = load_yaml(variant_project, WORKFLOWS / "gpu.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "workflow_dispatch" in triggers and triggers["pull_request"]["types"] == ["labeled"]
    job = workflow["jobs"]["gpu"]
    assert job["runs-on"] == backend["gpu_runner_labels"]
    assert "head.repo.full_name == github.repository" in job["if"], "never runs fork code"
    commands = "\n".join(step.get("run", "") for step in job["steps"])
    for command in ("uv sync", "train debug=tiny", *GPU_WORKFLOW_COMMANDS[backend["kind"]]):
        assert command in commands, command
    if not backend["is_cuda"]:
        assert "nvidia" not in path.read_text().lower()


def test_workflows_pin_actions_and_bound_every_job(variant_project: Path) -> None:
    for path in sorted((variant_project / WORKFLOWS).glob("*.yml")):
        text = path.read_text()
        uses = [line for line in text.splitlines() if re.match(r"^\s*(- )?uses:", line)]
        assert uses, path.name
        for line in uses:
            assert PINNED_ACTION_RE.match(line), f"{path.name}: not pinned by SHA: {line.strip()}"
        assert GITHUB_EXPRESSION in text, f"{path.name}: GitHub expressions lost in rendering"
        workflow = yaml.safe_load(text)
        assert "permissions" in workflow and "concurrency" in workflow, path.name
        for name, job in workflow["jobs"].items():
            assert job["timeout-minutes"] <= 60, f"{path.name}: {name}"


def test_one_uv_version_everywhere(variant_project: Path) -> None:
    """The image, every workflow and the template's own tests run the same pinned uv."""
    image = re.search(
        r"^FROM ghcr\.io/astral-sh/uv:(\S+) AS uv$",
        (variant_project / "Dockerfile").read_text(),
        flags=re.MULTILINE,
    )
    assert image, "Dockerfile: uv comes from the pinned official image"
    assert image.group(1) == torch_template.UV_VERSION
    versions = set()
    for path in sorted((variant_project / WORKFLOWS).glob("*.yml")):
        jobs = yaml.safe_load(path.read_text())["jobs"].values()
        for job in jobs:
            for step in job["steps"]:
                if step.get("uses", "").startswith("astral-sh/setup-uv@"):
                    versions.add(step["with"]["version"])
    assert versions == {torch_template.UV_VERSION}
    test_group = tomllib.loads((TEMPLATE_ROOT / "pyproject.toml").read_text())
    assert f"uv=={torch_template.UV_VERSION}" in test_group["dependency-groups"]["test"]


def zizmor(*paths: str, cwd: Path) -> list[str]:
    """zizmor's offline audits of workflow files or folders: its findings of medium severity or
    above, one line each (its own output when it fails otherwise)."""
    proc = run_tool(
        "zizmor",
        "--offline",
        "--no-progress",
        "--min-severity",
        "medium",
        "--format",
        "json",
        *paths,
        cwd=cwd,
    )
    findings = json.loads(proc.stdout or "[]")
    summary = [f"{f['ident']} ({f['determinations']['severity']}): {f['desc']}" for f in findings]
    if proc.returncode != 0 and not summary:
        summary = [output(proc)]
    return summary


def actionlint(*workflows: str, cwd: Path, config: Path | None = None) -> str:
    """actionlint's complaints about ``workflows`` (empty when there are none)."""
    args = ["-no-color", *(["-config-file", str(config)] if config else []), *workflows]
    proc = run_tool("actionlint", *args, cwd=cwd)
    return "" if proc.returncode == 0 else output(proc)


def test_workflows_pass_zizmor(variant_project: Path) -> None:
    """No finding of medium or higher severity (zizmor's offline audits, default persona)."""
    assert zizmor(str(WORKFLOWS), cwd=variant_project) == []


def test_workflows_pass_actionlint(variant_project: Path) -> None:
    """actionlint knows the GPU runner's custom label from .github/actionlint.yaml."""
    config = variant_project / ".github" / "actionlint.yaml"
    workflows = sorted(str(p) for p in (variant_project / WORKFLOWS).glob("*.yml"))
    problems = actionlint(
        *workflows, cwd=variant_project, config=config if config.is_file() else None
    )
    assert not problems, problems
    labels = (
        yaml.safe_load(config.read_text())["self-hosted-runner"]["labels"]
        if config.is_file()
        else []
    )
    assert labels == expected(variant_project)["backend"]["custom_runner_labels"]


# --- the rendered project's own consistency test --------------------------------------------


def run_consistency_suite(*projects: Path) -> subprocess.CompletedProcess[str]:
    """Run the rendered ``tests/test_consistency.py`` of each project with this interpreter.

    One pytest process runs them all (each file is imported by its path). They read files only,
    so the projects' conftest (which imports the uninstalled package) and configs are left out.
    """
    files = [str(project / CONSISTENCY_TEST) for project in projects]
    root = os.path.commonpath([str(project) for project in projects])
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--noconftest",
            "--import-mode=importlib",
            "-c",
            os.devnull,
            "--rootdir",
            root,
            *files,
        ],
        cwd=projects[0],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )


def test_rendered_consistency_suite_passes(variant_project: Path) -> None:
    proc = run_consistency_suite(variant_project)
    assert proc.returncode == 0, output(proc)


def test_rendered_consistency_suite_catches_drift(render_variant, tmp_path: Path) -> None:
    project = tmp_path / "drifted"
    shutil.copytree(render_variant("cu126"), project)
    env_file = project / "environment.yml"
    env_file.write_text(env_file.read_text().replace("version='>=2.12", "version='>=2.11"))
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(f"python:{RUNNING_PYTHON}-", "python:3.99-")
    )
    (project / WORKFLOWS / "gpu.yml").unlink()
    proc = run_consistency_suite(project)
    assert proc.returncode == 1, output(proc)
    for message in ("environment.yml: torch bounds", "Dockerfile: FROM", "gpu.yml belongs"):
        assert message in proc.stdout, output(proc)


def test_rendered_consistency_suite_catches_rocm_drift(render_variant, tmp_path: Path) -> None:
    """A ROCm project whose compose lost /dev/kfd, whose triton-rocm left the index, whose
    conda file grew a conda-forge torch and whose GPU runner label changed fails, by file."""
    project = tmp_path / "drifted"
    shutil.copytree(render_variant("rocm7.2"), project)
    replacements = {
        "compose.yaml": ("      - /dev/kfd\n", ""),
        "pyproject.toml": (
            'triton-rocm = [\n    { index = "pytorch-rocm7.2"',
            'triton-rocm = [\n    { index = "pypi"',
        ),
        "environment.yml": ("  - pip\n", "  - pip\n  - pytorch\n"),
        ".github/actionlint.yaml": ("    - rocm", "    - gpu"),
    }
    for name, (old, new) in replacements.items():
        path = project / name
        assert old in path.read_text(), name
        path.write_text(path.read_text().replace(old, new))
    proc = run_consistency_suite(project)
    assert proc.returncode == 1, output(proc)
    for message in (
        "compose.yaml: devices",
        "pyproject.toml: triton-rocm must come from pytorch-rocm7.2",
        "environment.yml: a ROCm or XPU environment holds python and pip only",
        "actionlint.yaml: the custom labels",
    ):
        assert message in proc.stdout, output(proc)


def test_oldest_python_renders_a_consistent_project(tmp_path: Path) -> None:
    oldest = torch_template.python_choices()[0]
    project = render(tmp_path / "oldest", torch_backend="cu126", python_version=oldest)
    check = run_tool("ruff", "check", "--no-cache", "tests/test_consistency.py", cwd=project)
    assert check.returncode == 0, output(check)
    proc = run_consistency_suite(project)
    assert proc.returncode == 0, output(proc)
    matrix = load_yaml(project, WORKFLOWS / "ci.yml")["jobs"]["test"]["strategy"]["matrix"]
    assert matrix["python-version"] == torch_template.python_choices()


def test_rendered_consistency_suite_passes_mypy(render_variant, tmp_path: Path) -> None:
    # The cache goes to tmp: the session's shared renders must stay as rendered for other tests.
    proc = run_tool(
        "mypy",
        "--cache-dir",
        str(tmp_path / "mypy-cache"),
        "tests/test_consistency.py",
        cwd=render_variant("cu126"),
    )
    assert proc.returncode == 0, output(proc)
