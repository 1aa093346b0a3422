"""Day one on the user's path: a generated project installs, tests and builds as its README says.

Each answer set here is copied with its tasks (``uv lock`` against the torch stand-in index,
``git init``) and installed with ``uv sync --locked`` in a shell without this session's
packages (``conftest.uv_project``). Then the README's commands run there: the whole test suite,
the smoke training and ``make lint``. The generated CI's own commands, read from ``ci.yml``,
run in a fresh checkout; the README's pip commands in a fresh venv; the Dockerfile's builder
stage with and without ``uv.lock``.

The stand-in holds the Linux CPU wheel of this environment's torch. What it changes against
the real index: the lock pins that one wheel (the real lock lists every platform's wheels),
and a CUDA variant locks the CPU wheel under its CUDA index's name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest
import torch_template
import yaml
from conftest import DEFAULT_ANSWERS, TEMPLATE_ROOT, Run, UvProject
from user_path import (
    BASE_PYTHON,
    BIN,
    Shell,
    TorchStandIn,
    is_cuda_wheel,
    load_workflow,
    markdown_commands,
    markdown_section,
    run_workflow_job,
    user_environment,
    uv_settings,
)

PKG = DEFAULT_ANSWERS["package_name"]
# The default answers, and one CUDA variant (installed with the stand-in's CPU wheel).
UV_BACKENDS = ["cpu", "cu126"]
MIN_ACCURACY = 0.8  # experiment=smoke: 4 classes, chance 0.25
# Tests of optional extras skip in an install without extras, each naming its extra.
EXTRA_SKIP = re.compile(r"needs the (\w+) extra: uv sync --extra \1")


@pytest.fixture(scope="module", params=UV_BACKENDS)
def project(request: pytest.FixtureRequest, uv_project) -> UvProject:
    """The default project and a CUDA one, each copied and synced with uv once per session."""
    made: UvProject = uv_project(request.param)
    return made


def locked_packages(root: Path) -> dict[str, dict]:
    """``uv.lock``'s packages by name (the first entry of a name)."""
    lock = tomllib.loads((root / "uv.lock").read_text())
    packages: dict[str, dict] = {}
    for package in lock["package"]:
        packages.setdefault(package["name"], package)
    return packages


# --- uv lock, uv sync -----------------------------------------------------------------------------


def test_lock_task_puts_uv_lock_in_the_initial_commit(project: UvProject) -> None:
    tracked = project.shell.run("git", "ls-files").stdout.split()
    assert "uv.lock" in tracked and "pyproject.toml" in tracked
    assert project.shell.run("git", "rev-list", "--count", "HEAD").stdout.strip() == "1"
    assert project.shell.run("git", "status", "--porcelain").stdout == ""
    # The lock is current: uv would not change it.
    project.uv("lock", "--locked")


def test_lock_pins_the_stand_in_cpu_wheel_and_no_nvidia_package(
    project: UvProject, torch_stand_in: TorchStandIn
) -> None:
    """The CUDA variant locks the CPU wheel too: the stand-in serves its index name."""
    packages = locked_packages(project.root)
    torch = packages["torch"]
    assert torch["version"] == torch_stand_in.torch_version
    assert torch["source"] == {"registry": str(torch_stand_in.root / "simple")}
    assert not [name for name in packages if name.startswith("nvidia-")]
    assert not {"torchvision", "torchaudio"} & packages.keys()
    proc = project.run("-c", "import torch; print(torch.__version__, torch.version.cuda)")
    assert proc.stdout.split() == [torch_stand_in.torch_version, "None"]


def test_sync_installs_no_extra(project: UvProject) -> None:
    proc = project.run(
        "-c",
        "import importlib.metadata as m, json;"
        "print(json.dumps([d.metadata['Name'].lower() for d in m.distributions()]))",
    )
    installed = set(json.loads(proc.stdout))
    assert {"lightning", "hydra-core", "pytest", "ruff", "mypy"} <= installed
    for extra in ("mlflow", "tensorboard", "wandb", "optuna", "hydra-optuna-sweeper", "submitit"):
        assert extra not in installed, extra


# --- the README's commands in that environment ----------------------------------------------------


@pytest.mark.slow
def test_uv_run_pytest_passes_and_extras_skip_with_a_reason(project: UvProject) -> None:
    proc = project.uv(
        "run", "pytest", "-q", "-rs", "-p", "no:cacheprovider", check=False, label="uv run pytest"
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert not re.search(r"\d+ (failed|errors?)\b", summary), summary
    skipped = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    extras = {match.group(1) for line in skipped if (match := EXTRA_SKIP.search(line))}
    assert {"optuna", "slurm"} <= extras, skipped
    devices = ("needs a CUDA GPU", "needs Apple's MPS", "needs an Intel GPU")
    others = [
        line
        for line in skipped
        if not EXTRA_SKIP.search(line) and not any(device in line for device in devices)
    ]
    assert not others, f"skips other than missing extras and absent devices: {others}"


@pytest.mark.slow
def test_smoke_training_with_uv_run(project: UvProject, smoke_run) -> None:
    run: Run = smoke_run(project.backend)
    metrics = json.loads((run.dir / "metrics.json").read_text())
    assert metrics["val/acc"] >= MIN_ACCURACY and metrics["test/acc"] >= MIN_ACCURACY
    assert (run.dir / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
def test_make_lint_passes(project: UvProject) -> None:
    # mypy's cache stays out of the shared project (other tests read its files).
    proc = project.shell.run("make", "lint", check=False, label="make lint")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for tool in ("ruff check", "ruff format --check", "mypy"):
        assert tool in proc.stdout, tool


# --- the generated CI's own commands --------------------------------------------------------------


def no_env(inputs: dict[str, str]) -> dict[str, str]:
    """An action that sets no variable for later steps (checkout: the clone is the workspace)."""
    return {}


def setup_uv(inputs: dict[str, str]) -> dict[str, str]:
    """astral-sh/setup-uv: uv is on PATH already; ``python-version`` becomes ``UV_PYTHON``."""
    assert inputs["version"] == torch_template.UV_VERSION, "CI runs the uv the tests run"
    return {"UV_PYTHON": inputs["python-version"]} if "python-version" in inputs else {}


@pytest.mark.slow
def test_generated_ci_installs_and_passes_in_a_fresh_checkout(
    uv_project, torch_stand_in: TorchStandIn, user_tools: Path, tmp_path: Path
) -> None:
    """The CUDA variant's ci.yml: both jobs, their ``run`` steps read from the file.

    Each job runs in its own fresh clone of the project (``actions/checkout``);
    ``astral-sh/setup-uv`` puts uv on PATH and sets ``UV_PYTHON`` to the matrix entry that is
    this machine's Python. The CPU index in the workflow's env is replaced by the stand-in, as
    is the project's own index for ``uv lock --locked``.
    """
    source = uv_project("cu126")
    workflow = load_workflow(source.root / ".github" / "workflows" / "ci.yml")
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert DEFAULT_ANSWERS["python_version"] in matrix  # the entry BASE_PYTHON stands for
    index = torch_template.derive({**DEFAULT_ANSWERS, "torch_backend": "cu126"})["backend"]
    env = user_environment(user_tools, **uv_settings(torch_stand_in, index["index_name"]))
    actions = {"actions/checkout": no_env, "astral-sh/setup-uv": setup_uv}
    overrides = {"TORCH_INDEX_URL": torch_stand_in.url}
    entry = {"python-version": DEFAULT_ANSWERS["python_version"]}
    for job in ("lint", "test"):
        checkout = tmp_path / job
        subprocess.run(["git", "clone", "--quiet", str(source.root), str(checkout)], check=True)
        shell = Shell(checkout, env)
        steps = run_workflow_job(
            workflow, job, shell, actions=actions, overrides=overrides, matrix=entry
        )
        assert steps, f"job {job} has no run step"
        for step, proc in steps:
            assert proc.returncode == 0, (
                f"ci.yml job {job}, step {step.name!r} exited {proc.returncode}\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-3000:]}"
            )
        ran = "\n".join(step.run or "" for step, _ in steps)
        if job == "lint":
            assert "uv lock --locked" in ran, "the lock check ran: uv.lock is committed"
        else:
            assert "pytest" in ran and "passed" in steps[-1][1].stdout


# --- the README's pip commands --------------------------------------------------------------------


@pytest.mark.slow
def test_readme_pip_commands_install_the_cpu_torch_of_the_index(
    render_variant, torch_stand_in: TorchStandIn, user_tools: Path, tmp_path: Path
) -> None:
    """``pip install torch --index-url <index>``, then the project and its dev group from PyPI.

    pip reads no configuration file of this machine (its local wheel folder would hide a wrong
    index); the README's index URL is replaced by the stand-in's.
    """
    root = shutil.copytree(render_variant("cpu"), tmp_path / "project")
    readme = (root / "README.md").read_text()
    index_url = torch_template.derive({**DEFAULT_ANSWERS, "torch_backend": "cpu"})["backend"][
        "index_url"
    ]
    section = markdown_section(readme, "Install")
    pip_block = [c for c in markdown_commands(section) if "venv" in c or "pip " in c]
    assert pip_block[0].startswith("python -m venv .venv"), pip_block
    assert not any("--extra-index-url" in command for command in pip_block)
    script = "\n".join(command.replace(index_url, torch_stand_in.url) for command in pip_block)
    env = user_environment(
        user_tools, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1"
    )
    shell = Shell(root, env)
    proc = shell.bash(script.replace("python -m venv", f"{BASE_PYTHON} -m venv", 1))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    python = str(root / ".venv" / "bin" / "python")
    versions = shell.run(python, "-c", "import torch; print(torch.__version__, torch.version.cuda)")
    assert versions.stdout.split() == [torch_stand_in.torch_version, "None"]
    run_dir = tmp_path / "run"
    shell.run(
        python,
        "-m",
        f"{PKG}.train",
        "experiment=smoke",
        "trainer.max_epochs=1",
        f"hydra.run.dir={run_dir}",
    )
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    for tool in ("pytest", "ruff", "mypy"):  # the dev group
        shell.run(python, "-m", tool, "--version")


# --- the Dockerfile's builder stage, with and without uv.lock -------------------------------------


def dockerfile_stage(text: str, stage: str) -> list[tuple[str, str]]:
    """The instructions of one stage of a Dockerfile, continuation lines joined."""
    lines = re.sub(r"\\\n", " ", text).splitlines()
    instructions: list[tuple[str, str]] = []
    inside = False
    for line in lines:
        words = line.split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        keyword, args = words[0].upper(), words[1] if len(words) > 1 else ""
        if keyword == "FROM":
            inside = args.split()[-1] == stage
            continue
        if inside:
            instructions.append((keyword, args))
    assert instructions, f"the Dockerfile has no stage {stage!r}"
    return instructions


def run_builder_stage(project: Path, workdir: Path, env: dict[str, str]) -> Path:
    """Emulate ``docker build --target builder``: COPY, ENV and RUN of the stage, in order.

    The stage's absolute paths (``/opt/venv``, ``/src``) move below ``workdir``; ``--mount``
    options are dropped (they only cache downloads). Returns the environment's folder.
    """
    venv = workdir / "opt-venv"
    src = workdir / "src-root"
    src.mkdir(parents=True)
    stage_env = dict(env)
    for keyword, args in dockerfile_stage((project / "Dockerfile").read_text(), "builder"):
        if keyword == "ENV":
            for token in re.findall(r"(\w+)=(\S+)", args):
                stage_env[token[0]] = token[1]
            stage_env["UV_PROJECT_ENVIRONMENT"] = str(venv)
            stage_env.pop("UV_CACHE_DIR", None)  # the user's cache stands in for the mount
            # Speed only: compiling bytecode and copying (not linking) torch change nothing
            # that is installed, and take most of the time.
            stage_env.update(UV_COMPILE_BYTECODE="0", UV_LINK_MODE="hardlink")
        elif keyword == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for pattern in sources:
                for path in project.glob(pattern):
                    target = src / path.name
                    if path.is_dir():
                        shutil.copytree(path, target)
                    else:
                        shutil.copy2(path, target)
        elif keyword == "RUN":
            command = re.sub(r"--mount=\S+\s*", "", args)
            proc = subprocess.run(
                ["sh", "-c", command], cwd=src, env=stage_env, capture_output=True, text=True
            )
            assert proc.returncode == 0, (
                f"RUN {command}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
            )
    return venv


@pytest.mark.slow
@pytest.mark.parametrize("with_lock", [True, False], ids=["with-uv.lock", "without-uv.lock"])
def test_docker_builder_stage_installs_with_and_without_the_lock(
    installed_project: UvProject, with_lock: bool, tmp_path: Path
) -> None:
    project = tmp_path / "context"
    subprocess.run(
        ["git", "clone", "--quiet", str(installed_project.root), str(project)], check=True
    )
    if not with_lock:
        (project / "uv.lock").unlink()
    venv = run_builder_stage(project, tmp_path / "image", installed_project.shell.env)
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", f"{PKG}.train", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0 and "train is powered by Hydra" in proc.stdout, proc.stderr
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", f"import {PKG}; print({PKG}.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in installed, "installed into the environment, not editable from /src"


# --- the devcontainer's caches under another uid --------------------------------------------------


REMAPPED_UID = 1001  # a host user's uid that is not the image's 1000


def make_image_folders(project: Path, root: Path) -> None:
    """Make the folders the Dockerfile's base stage makes (``install -d``), below ``root``.

    Owner (``-o``: the image's user, uid 1000; else root) and mode (``-m``, else 755) are the
    stage's own.
    """
    for keyword, args in dockerfile_stage((project / "Dockerfile").read_text(), "base"):
        for command in re.findall(r"install -d ([^&]+)", args) if keyword == "RUN" else []:
            words = command.split()
            mode = int(words[words.index("-m") + 1], 8) if "-m" in words else 0o755
            owner = 1000 if "-o" in words else 0
            for path in (word for word in words if word.startswith("/")):
                target = root / path.lstrip("/")
                target.mkdir(parents=True, exist_ok=True)
                os.chown(target, owner, owner)
                target.chmod(mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to run uv as another uid")
def test_devcontainer_caches_are_writable_by_a_remapped_uid(render_variant) -> None:
    """``updateRemoteUserUID`` gives the container's user the host's uid: caches stay usable.

    The cache folders are made as the image makes them; then uv, with the devcontainer's cache
    variables, prunes its cache as uid 1001 (uv fails with "Permission denied" in a cache it
    cannot write), and that uid writes into the torch and Hugging Face caches.
    """
    project = render_variant("cpu")
    devcontainer = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
    caches = {k: v for k, v in devcontainer["containerEnv"].items() if v.startswith("/cache/")}
    assert {"UV_CACHE_DIR", "TORCH_HOME", "HF_HOME"} <= caches.keys()
    # Outside pytest's temporary folders, which other uids cannot enter.
    image = Path(tempfile.mkdtemp(prefix="torch-template-image-"))
    try:
        image.chmod(0o755)
        make_image_folders(project, image)
        shutil.copy2(BIN / "uv", image / "uv")
        env = {"PATH": "/usr/bin:/bin", "HOME": str(image / "app")}
        env.update({key: str(image / value.lstrip("/")) for key, value in caches.items()})
        as_user = {"user": REMAPPED_UID, "group": REMAPPED_UID, "extra_groups": []}
        proc = subprocess.run(
            [str(image / "uv"), "cache", "prune"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            **as_user,
        )
        assert proc.returncode == 0, proc.stderr
        for key in ("TORCH_HOME", "HF_HOME"):
            probe = Path(env[key]) / "probe"
            touched = subprocess.run(["touch", str(probe)], env=env, check=False, **as_user)
            assert touched.returncode == 0, (
                f"{key} ({caches[key]}) is not writable by a remapped uid"
            )
    finally:
        shutil.rmtree(image)


# --- the workflows, checked by real tools ---------------------------------------------------------


def test_copier_yml_declares_the_lock_question() -> None:
    config = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    assert config["lock_dependencies"]["default"] is True


def test_stand_in_wheel_is_a_cpu_build(torch_stand_in: TorchStandIn) -> None:
    assert not is_cuda_wheel(torch_stand_in.torch_wheel)
    assert torch_stand_in.torch_wheel.name.startswith(f"torch-{torch_stand_in.torch_version}")
