"""Answering the questions: bad answers stop with one helpful line, odd good ones render.

The tasks Copier runs after answering are tested in ``test_tasks.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from conftest import DEFAULT_ANSWERS, TEMPLATE_ROOT, render, render_answers, torch_template
from template_repo import commit_all, init_repo, write_snapshot

# (question, bad answer, words the message must contain). Each must be refused before anything
# is written. Questions with choices are refused by Copier itself ("Invalid choice for ..."),
# whose one line lists the valid answers; every other message is ours.
INVALID_ANSWERS: list[tuple[str, Any, str]] = [
    ("project_name", "", "project_name is empty"),
    ("project_name", "日本語", "at least one Latin letter or digit"),
    ("project_name", 'The "Best" Model', "double quotes"),
    ("package_name", "", "package_name is empty"),
    ("package_name", "os", "shadows the standard library module 'os'"),
    ("package_name", "torch", "shadows the 'torch' package"),
    ("package_name", "lightning", "shadows the 'lightning' package"),
    ("package_name", "class", "is a Python keyword"),
    ("package_name", "1abc", "not a lowercase Python identifier"),
    ("package_name", "My-Pkg", "not a lowercase Python identifier"),
    ("package_name", "has space", "not a lowercase Python identifier"),
    ("package_name", "a" * 300, "longer than 40 characters"),
    ("description", "Line one.\nLine two.", "must be one line"),
    ("author_name", "", "author_name is empty"),
    ("author_email", "nobody", "does not look like an email"),
    ("author_email", "a@b", "does not look like an email"),
    ("license", "GPL-3.0", "Invalid choice for 'license'"),
    ("python_version", "3.9", "Invalid choice for 'python_version'"),
    ("torch_backend", "cu999", "Invalid choice for 'torch_backend'"),
    ("starters", ["video"], "Invalid choice for 'starters'"),
    # ROCm 6.4's index has no torch 2.12+ wheels; MPS is the cpu backend on a Mac, not a backend.
    ("torch_backend", "rocm6.4", "Invalid choice for 'torch_backend'"),
    ("torch_backend", "mps", "Invalid choice for 'torch_backend'"),
]

# Backends that lack wheels for some Python. No row of today's table does (every index has
# CPython 3.10-3.14 wheels), so these render a copy of the template whose table narrows one
# row the way a future one could: (backend, its Pythons, the Python answered, words the message
# must contain).
NARROWED_TABLE_ANSWERS: list[tuple[str, list[str], str, str]] = [
    ("rocm7.14", ["3.11", "3.12", "3.13", "3.14"], "3.10", "choose one of cpu, cu126"),
    ("xpu", ["3.10", "3.11", "3.12", "3.13"], "3.14", "python_version with one of 3.10"),
]


def _case_id(case: tuple[str, Any, str]) -> str:
    question, value, _ = case
    return f"{question}={str(value)[:12]!r}"


@pytest.mark.parametrize(
    ("question", "value", "expected"), INVALID_ANSWERS, ids=map(_case_id, INVALID_ANSWERS)
)
def test_invalid_answer_is_refused_with_one_line(
    tmp_path: Path, question: str, value: Any, expected: str
) -> None:
    dst = tmp_path / "new-project"
    with pytest.raises(ValueError, match=re.escape(expected)) as caught:
        render(dst, **{question: value})
    message = str(caught.value)
    assert "\n" not in message
    assert f"question '{question}'" in message or f"for '{question}'" in message
    if message.startswith("Invalid choice"):
        assert "is not in [" in message, "Copier lists the valid answers"
    else:
        assert message.split(": ", 1)[1].startswith(question)
        assert ": type " in message
    assert not dst.exists(), "a refused answer must not leave a directory behind"


@pytest.fixture(scope="module")
def narrowed_template(tmp_path_factory: pytest.TempPathFactory):
    """Factory: a git copy of this template whose table lists fewer Pythons for one backend."""

    def _make(backend: str, pythons: list[str]) -> Path:
        repo = init_repo(tmp_path_factory.mktemp("narrowed") / "torch-template")
        write_snapshot(repo)
        table = repo / "extensions" / "backends.toml"
        header = f'[backends."{backend}"]\n' if "." in backend else f"[backends.{backend}]\n"
        text = table.read_text()
        assert header in text, header
        table.write_text(text.replace(header, f"{header}python_versions = {pythons!r}\n"))
        commit_all(repo, f"{backend} without some Pythons")
        return repo

    return _make


@pytest.mark.parametrize(("backend", "pythons", "python", "expected"), NARROWED_TABLE_ANSWERS)
def test_a_backend_without_wheels_for_the_python_is_refused_with_what_to_pick(
    narrowed_template, tmp_path: Path, backend: str, pythons: list[str], python: str, expected: str
) -> None:
    dst = tmp_path / "new-project"
    answers = {**DEFAULT_ANSWERS, "torch_backend": backend, "python_version": python}
    with pytest.raises(ValueError, match=re.escape(expected)) as caught:
        render_answers(dst, answers, template=narrowed_template(backend, pythons))
    message = str(caught.value)
    assert "\n" not in message
    assert "question 'torch_backend'" in message
    assert message.split(": ", 1)[1].startswith(f"torch_backend {backend!r} has no wheels")
    assert ": choose " in message
    assert not dst.exists(), "a refused answer must not leave a directory behind"


def test_cli_prints_the_message_as_its_last_line(tmp_path: Path) -> None:
    dst = tmp_path / "new-project"
    cmd = [
        sys.executable,
        "-m",
        "copier",
        "copy",
        "--trust",
        "--defaults",
        "--skip-tasks",
        "--vcs-ref",
        "HEAD",
        "--data",
        "package_name=os",
        str(TEMPLATE_ROOT),
        str(dst),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line == (
        "ValueError: Validation error for question 'package_name': "
        + torch_template.package_name_error("os")
    )
    assert "type 'os_project'" in last_line
    assert not dst.exists()


def test_unusual_valid_answers_render(tmp_path: Path) -> None:
    dst = tmp_path / "unicode"
    answers = {
        "project_name": "Ünïcode Vision 2",
        "description": "Detects cats & dogs; it's <fast> and 'robust'.",
        "author_name": "Seán O'Brien",
        "author_email": "o'brien@lab.example.org",
        "license": "Proprietary",
    }
    # No package_name: its default is derived from the project name.
    render_answers(dst, answers)
    recorded = yaml.safe_load((dst / ".copier-answers.yml").read_text())
    assert recorded["package_name"] == "unicode_vision_2"
    assert recorded["author_name"] == "Seán O'Brien"
    assert (dst / "src" / "unicode_vision_2").is_dir()
    pyproject = tomllib.loads((dst / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "unicode-vision-2"
    assert pyproject["project"]["description"] == answers["description"]
    assert pyproject["project"]["authors"] == [
        {"name": "Seán O'Brien", "email": "o'brien@lab.example.org"}
    ]
    assert pyproject["project"]["license"] == "LicenseRef-Proprietary"


def test_default_package_name_that_is_reserved_is_refused(tmp_path: Path) -> None:
    """With --defaults a project called 'Test' would get package 'test': refused, with a fix."""
    dst = tmp_path / "test"
    with pytest.raises(ValueError, match="type 'test_project'"):
        copier.run_copy(
            str(TEMPLATE_ROOT),
            dst,
            data={"project_name": "Test"},
            defaults=True,
            unsafe=True,
            skip_tasks=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    assert not dst.exists()


# --- interactive prompt ---------------------------------------------------------------------


def test_interactive_bad_answer_shows_message_and_asks_again(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect", reason="pexpect drives the interactive prompt")
    dst = tmp_path / "interactive"
    env = {**os.environ, "TERM": "xterm", "NO_COLOR": "1", "PROMPT_TOOLKIT_NO_CPR": "1"}
    args = ["-m", "copier", "copy", "--trust", "--skip-tasks", "--vcs-ref", "HEAD"]
    child = pexpect.spawn(
        sys.executable,
        [*args, str(TEMPLATE_ROOT), str(dst)],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 250),
    )
    try:
        child.expect("Human-readable project name")
        child.send("\r")  # keep the default project name
        child.expect("Python import name")
        child.send("\x15os\r")  # Ctrl-U clears the suggested default, then a bad answer
        child.expect(re.escape(torch_template.package_name_error("os")))
        child.send("\x15digit_classifier\r")
        child.expect("One-line description")  # accepted: the next question is asked
        child.sendcontrol("c")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert not dst.exists()
