"""The tasks Copier runs after answering: ``uv lock`` (``tasks/lock_dependencies.py``), then
``git init`` with an initial commit (``tasks/init_git.py``).

Neither may fail a copy (Copier would delete the new project): without uv, offline, or inside
an existing repository they say what to do and change nothing else. The lock made against the
torch stand-in index, in the initial commit, is checked on every installed project
(``test_user_path.py``); here are the other cases.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from conftest import DEFAULT_ANSWERS, TEMPLATE_ROOT, environ
from jinja2 import Environment
from plumbum import local
from user_path import TorchStandIn, user_environment, uv_settings

TASKS = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())["_tasks"]
LOCK_SCRIPT = TEMPLATE_ROOT / "tasks" / "lock_dependencies.py"
GIT_SCRIPT = TEMPLATE_ROOT / "tasks" / "init_git.py"


def task(script: str) -> dict[str, Any]:
    """The ``_tasks`` entry that runs ``tasks/<script>``."""
    (found,) = [t for t in TASKS if any(script in str(part) for part in t["command"])]
    return found


# --- the git-init task -------------------------------------------------------------------------


@pytest.fixture
def no_git_identity(tmp_path: Path) -> Iterator[None]:
    """Tasks see no git identity but the answers' (and no developer config, hooks or signing).

    Copier runs tasks with plumbum's environment, a copy of ``os.environ`` taken at import
    time, so the isolation goes through ``plumbum.local.env``.
    """
    global_config = tmp_path / "gitconfig"
    global_config.write_text("")
    with local.env(GIT_CONFIG_GLOBAL=str(global_config), GIT_CONFIG_NOSYSTEM="1"):
        for key in ("AUTHOR", "COMMITTER"):
            for part in ("NAME", "EMAIL"):
                local.env.pop(f"GIT_{key}_{part}", None)
        yield


def copy_with_tasks(dst: Path, **answers: Any) -> Path:
    """Render like ``copier copy`` does for a user: tasks included."""
    copier.run_copy(
        str(TEMPLATE_ROOT),
        dst,
        data={**DEFAULT_ANSWERS, **answers},
        defaults=True,
        unsafe=True,
        skip_tasks=False,
        vcs_ref="HEAD",
        quiet=True,
    )
    return dst


def git(repo: Path, *args: str) -> str:
    """Output of a git command in ``repo``."""
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_fresh_copy_is_a_repository_with_one_clean_commit(
    tmp_path: Path, no_git_identity: None
) -> None:
    dst = copy_with_tasks(
        tmp_path / "fresh", author_name="Seán O'Brien", author_email="o'brien@example.com"
    )
    assert (dst / ".git").is_dir()
    assert git(dst, "rev-list", "--count", "HEAD") == "1"
    assert git(dst, "status", "--porcelain") == ""
    assert git(dst, "log", "-1", "--format=%an <%ae>|%s") == (
        "Seán O'Brien <o'brien@example.com>|Initial commit from torch-template"
    )
    assert ".copier-answers.yml" in git(dst, "ls-files").splitlines()


def test_copy_inside_a_repository_does_not_nest_one(tmp_path: Path) -> None:
    outer = tmp_path / "monorepo"
    outer.mkdir()
    git(outer, "init", "--quiet")
    dst = copy_with_tasks(outer / "projects" / "vision")
    assert not (dst / ".git").exists()
    assert git(outer, "rev-list", "--all", "--count") == "0", "no commit in the outer repo"


def test_git_init_false_leaves_no_repository(tmp_path: Path) -> None:
    dst = copy_with_tasks(tmp_path / "plain", git_init=False)
    assert (dst / "pyproject.toml").is_file()
    assert not (dst / ".git").exists()


def test_recopy_keeps_the_existing_history(tmp_path: Path) -> None:
    dst = copy_with_tasks(tmp_path / "recopied")
    (dst / "NOTES.md").write_text("mine\n")
    git(dst, "add", "NOTES.md")
    git(dst, "commit", "--quiet", "-m", "User work")
    head = git(dst, "rev-parse", "HEAD")
    copier.run_recopy(dst, defaults=True, overwrite=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    assert git(dst, "rev-parse", "HEAD") == head, "recopy must not commit"
    assert git(dst, "rev-list", "--count", "HEAD") == "2"


def git_files(repo: Path) -> list[str]:
    return git(repo, "ls-files").splitlines()


# --- when each task runs ----------------------------------------------------------------------


def test_lock_runs_before_the_initial_commit() -> None:
    scripts = [Path(str(t["command"][1])).name for t in TASKS]
    assert scripts == ["lock_dependencies.py", "init_git.py"]


@pytest.mark.parametrize(
    ("script", "operation", "answers", "runs"),
    [
        ("init_git.py", "copy", {"git_init": True}, True),
        ("init_git.py", "copy", {"git_init": False}, False),
        ("init_git.py", "update", {"git_init": True}, False),
        ("lock_dependencies.py", "copy", {"lock_dependencies": True}, True),
        ("lock_dependencies.py", "copy", {"lock_dependencies": False}, False),
        ("lock_dependencies.py", "update", {"lock_dependencies": True}, True),
        ("lock_dependencies.py", "update", {"lock_dependencies": False}, False),
    ],
)
def test_task_conditions(script: str, operation: str, answers: dict, runs: bool) -> None:
    """git init only on a fresh copy (an update renders throwaway copies in temp folders);
    uv lock on copy and update (the script itself skips an update without uv.lock)."""
    when = Environment().from_string(task(script)["when"])
    assert when.render(_copier_operation=operation, **answers) == str(runs)


def test_git_task_never_downloads() -> None:
    command = " ".join(task("init_git.py")["command"]) + GIT_SCRIPT.read_text()
    for word in ("http", "curl", "wget", "pip", "uv ", "conda", "pre-commit", "fetch", "clone"):
        assert word not in command, f"the git-init task must stay offline: found {word!r}"


# --- the lock task: every way it can not lock ------------------------------------------------


@pytest.fixture
def user_shell(user_tools: Path, torch_stand_in: TorchStandIn) -> Iterator[dict[str, str]]:
    """A user's environment with uv on PATH and the stand-in as the cpu index."""
    yield user_environment(user_tools, **uv_settings(torch_stand_in, "pytorch-cpu"))


def copy_as_user(dst: Path, env: dict[str, str], **answers: Any) -> Path:
    """``copier copy`` with its tasks, in the environment ``env``."""
    with environ(env):
        copy_with_tasks(dst, **{"lock_dependencies": True, **answers})
    return dst


def test_lock_without_uv_prints_the_command_and_keeps_the_copy(
    tmp_path: Path, user_shell: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    no_uv = {**user_shell, "PATH": "/usr/bin:/bin"}
    dst = copy_as_user(tmp_path / "no-uv", no_uv)
    err = capfd.readouterr().err
    assert "uv is not on PATH" in err and f"run 'uv lock' in {dst}" in err
    assert not (dst / "uv.lock").exists()
    assert "pyproject.toml" in git_files(dst), "the copy and its initial commit are there"


def test_lock_offline_prints_the_command_and_keeps_the_copy(
    tmp_path: Path, user_shell: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    unreachable = (tmp_path / "no-index").as_uri()
    offline = {**user_shell, "UV_INDEX": f"pytorch-cpu={unreachable}", "UV_OFFLINE": "1"}
    dst = copy_as_user(tmp_path / "offline", offline)
    err = capfd.readouterr().err
    assert "'uv lock' failed:" in err and f"run 'uv lock' in {dst}" in err
    assert "Traceback" not in err
    assert not (dst / "uv.lock").exists()
    assert git(dst, "status", "--porcelain") == "", "nothing half-written"
    assert "pyproject.toml" in git_files(dst)


def test_lock_dependencies_false_writes_no_lock(
    tmp_path: Path, user_shell: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    dst = copy_as_user(tmp_path / "unlocked", user_shell, lock_dependencies=False)
    assert not (dst / "uv.lock").exists()
    assert "uv lock" not in capfd.readouterr().err
    assert "pyproject.toml" in git_files(dst)


def test_lock_script_skips_an_update_without_a_lock(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    proc = subprocess.run(
        [sys.executable, str(LOCK_SCRIPT), "update"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert not (tmp_path / "uv.lock").exists()
