"""``copier update`` keeps users' work across template versions.

A throwaway git repository of this template gets two release tags: ``OLD_VERSION``, an older
state made by ``make_older_state`` (deliberate differences from today's files, including the
pre-0.1.0 ``datamodule`` config group that the example migration renames), and
``NEW_VERSION``, today's files. One project is rendered at ``OLD_VERSION``, committed, edited
the way a user would (``make_user_edits``), and updated to ``NEW_VERSION``; the checks read that
one updated project. Later stages (conflict resolved, variant switched to CUDA and back,
installed) each work on their own copy, so test order does not matter.
"""

from __future__ import annotations

import contextlib
import filecmp
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import copier
import pytest
import torch_template
import yaml
from conftest import (
    CHOICE_DEFAULTS,
    DEFAULT_ANSWERS,
    TEMPLATE_ROOT,
    InstalledProject,
    environ,
    import_file,
    install_project,
    render_answers,
)
from packaging.version import Version
from pathspec import PathSpec
from template_repo import (
    changelog_releases,
    commit_all,
    commit_release,
    git,
    init_repo,
    newest_release_tag,
    write_release,
    write_snapshot,
)
from test_choices import part_files
from user_path import user_environment, uv_settings

COPIER_YML = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
CHANGELOG = (TEMPLATE_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
MIGRATION_SCRIPT = TEMPLATE_ROOT / "migrations" / "rename_config_group.py"

PKG = DEFAULT_ANSWERS["package_name"]
SRC = f"src/{PKG}"
CONFIGS = f"{SRC}/configs"
TEMPLATE_CONFIGS = Path("template/src/{{package_name}}/configs")
# The older state predates every migration; the new one is today's template.
OLD_VERSION = "0.0.1"
NEW_VERSION = str(
    max(
        Version(v)
        for v in [
            *(r for r in changelog_releases(CHANGELOG) if r != "Unreleased"),
            *(m["version"] for m in COPIER_YML.get("_migrations", [])),
        ]
    )
)
# A later release whose tasks leave a trace: proves that no task runs during an update.
PROBE_VERSION = f"{NEW_VERSION}.post1"

CONFLICT_START, CONFLICT_END = "<<<<<<< before updating", ">>>>>>> after updating"
# A marker begins its line (a README may quote one inside a sentence).
CONFLICT_LINE = rf"^(?:{re.escape(CONFLICT_START)}|{re.escape(CONFLICT_END)})$"


def current_match(relpath: str | Path, pattern: str) -> str:
    """The text ``pattern`` matches in today's template file (fails loudly when it is gone)."""
    text = (TEMPLATE_ROOT / relpath).read_text(encoding="utf-8")
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{relpath}: nothing matches {pattern!r}; update make_older_state"
    return match.group(0)


# The comment above train.yaml's seed: older wording, and the user's own (a conflict that
# changes no value the project's own tests check).
SEED_COMMENT_RE = r"^#[^\n]*\n(?=seed: \d+$)"
NEW_SEED_COMMENT = current_match(TEMPLATE_CONFIGS / "train.yaml.jinja", SEED_COMMENT_RE).rstrip(
    "\n"
)
OLD_SEED_COMMENT = "# Seed of every random generator (torch-template 0.0.1 wording)."
USER_SEED_COMMENT = "# Seed: 42 is fine; 7 did worse on my data (see notes/ideas.md)."
# A pyproject line the template changed and the user did not.
LINE_LENGTH_RE = r"^line-length = \d+$"
NEW_LINE_LENGTH = current_match("template/pyproject.toml.jinja", LINE_LENGTH_RE)
OLD_LINE_LENGTH = "line-length = 79" if NEW_LINE_LENGTH.endswith("88") else "line-length = 88"
# A dependency bound: a project with uv.lock must be re-locked by the update.
NEW_NUMPY_RE = r'^    "numpy>=[\d.]+",$'
OLD_NUMPY = '    "numpy>=1.20",'
OLD_MODEL_LINE = "# (torch-template 0.0.1: this line is gone in later releases)\n"
USER_MODEL_LINE = "# My tweak: wider hidden layers work better on my data.\n"
USER_PYPROJECT_TAIL = "\n[tool.coverage.run]\nbranch = true\n"
USER_DATA_NOTE = "# My data notes: tuned on 2026-11-01.\n"
USER_EXPERIMENT = """\
# @package _global_
defaults:
  - override /datamodule: mine

datamodule:
  n_samples: 2000

trainer:
  max_epochs: 1
"""


def load_migration() -> ModuleType:
    """The migration script as a module (its functions invert the rename for the old state)."""
    return import_file("rename_config_group", MIGRATION_SCRIPT)


def replace_once(path: Path, pattern: str, replacement: str) -> None:
    """Apply a regex substitution that must match exactly once (the template changed if not)."""
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"{path}: expected one match of {pattern!r}, found {count}"
    path.write_text(new, encoding="utf-8")


def make_older_state(repo: Path) -> None:
    """Turn a snapshot of today's template into the older release the project starts from."""
    migration = load_migration()
    configs = repo / TEMPLATE_CONFIGS
    # 1. The data config group had its lightning-hydra-template 1.x name (migrated in 0.1.0).
    (configs / "data").rename(configs / "datamodule")
    for path in configs.rglob("*"):
        if path.is_file() and ".yaml" in path.suffixes:
            text = path.read_text(encoding="utf-8")
            path.write_text(migration.rewrite_references(text, "data", "datamodule"), "utf-8")
    # 2. A template-owned line the user does not touch (clean 3-way merge).
    replace_once(repo / "template/pyproject.toml.jinja", LINE_LENGTH_RE, OLD_LINE_LENGTH)
    # 3. A template-owned line the user changes too (conflict).
    replace_once(configs / "train.yaml.jinja", SEED_COMMENT_RE, OLD_SEED_COMMENT + "\n")
    # 4. A dependency bound the template changed since: a locked project is re-locked.
    replace_once(repo / "template/pyproject.toml.jinja", NEW_NUMPY_RE, OLD_NUMPY)
    # 5. A user-owned file the template changed since: the update must not touch it.
    model = repo / "template/src/{{package_name}}/models/classifier.py"
    model.write_text(model.read_text(encoding="utf-8") + OLD_MODEL_LINE, encoding="utf-8")


def make_user_edits(project: Path) -> None:
    """What a user does between generating the project and updating it."""
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + USER_PYPROJECT_TAIL, "utf-8")
    replace_once(project / CONFIGS / "train.yaml", re.escape(OLD_SEED_COMMENT), USER_SEED_COMMENT)
    model = project / SRC / "models/classifier.py"
    model.write_text(model.read_text(encoding="utf-8") + USER_MODEL_LINE, encoding="utf-8")
    (project / SRC / "models/my_net.py").write_text('"""My own model."""\n', encoding="utf-8")
    data_configs = project / CONFIGS / "datamodule"
    synthetic = data_configs / "synthetic.yaml"
    synthetic.write_text(synthetic.read_text(encoding="utf-8") + USER_DATA_NOTE, "utf-8")
    mine = synthetic.read_text(encoding="utf-8")
    mine, count = re.subn(r"(?m)^batch_size: \d+$", "batch_size: 64", mine)
    assert count == 1, "the synthetic data config has no batch_size line"
    (data_configs / "mine.yaml").write_text(mine, encoding="utf-8")
    (project / CONFIGS / "experiment/mine.yaml").write_text(USER_EXPERIMENT, encoding="utf-8")
    (project / "notes").mkdir()
    (project / "notes/ideas.md").write_text("# Ideas\n\n- try a wider MLP\n", encoding="utf-8")
    (project / ".pre-commit-config.yaml").unlink()  # a template file this user does not want
    (project / ".env.example").unlink()  # a user-owned file this user does not want


def copy_project(source: Path, dst: Path) -> Path:
    """A full copy of a project, git history included."""
    shutil.copytree(source, dst, symlinks=True)
    return dst


def update(project: Path, vcs_ref: str | copier.VcsRef, **kwargs: Any) -> str:
    """``copier update`` as a user runs it (tasks enabled, no prompts); return Copier's log."""
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        copier.run_update(
            project,
            defaults=True,
            overwrite=True,
            unsafe=True,
            vcs_ref=vcs_ref,
            **{"skip_tasks": False, "quiet": False, **kwargs},
        )
    return log.getvalue()


def changed_paths(project: Path) -> set[str]:
    """Paths an operation changed since HEAD (staged or not, untracked included)."""
    git(project, "add", "--all")
    out = git(project, "diff", "--cached", "--name-only", "--no-renames", "HEAD")
    return set(out.split())


def files_with_markers(project: Path) -> set[str]:
    """Tracked or new files that contain Copier's inline conflict markers."""
    found = set()
    for path in project.rglob("*"):
        if ".git" in path.relative_to(project).parts or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(CONFLICT_LINE, text, re.MULTILINE):
            found.add(path.relative_to(project).as_posix())
    return found


def keep_user_side(text: str) -> str:
    """Resolve inline conflicts by keeping the project's side ("before updating")."""
    pattern = re.compile(
        rf"^{re.escape(CONFLICT_START)}\n(.*?)^=======\n.*?^{re.escape(CONFLICT_END)}\n",
        re.MULTILINE | re.DOTALL,
    )
    return pattern.sub(r"\1", text)


def user_owned_matcher() -> Callable[[str], bool]:
    """Whether a rendered path is user-owned, from copier.yml's ``_skip_if_exists``."""
    patterns = [p.replace("{{ package_name }}", PKG) for p in COPIER_YML["_skip_if_exists"]]
    return PathSpec.from_lines("gitignore", patterns).match_file


def tree_files(root: Path) -> set[str]:
    """Relative paths of every file below ``root`` (outside .git)."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def differing_files(left: Path, right: Path) -> set[str]:
    """Paths whose content differs between two trees (or that exist in one only)."""
    left_files, right_files = tree_files(left), tree_files(right)
    common = left_files & right_files
    different = {p for p in common if not filecmp.cmp(left / p, right / p, shallow=False)}
    return different | (left_files ^ right_files)


# --- fixtures: one template repository, one project, one update --------------------------------


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This template as a git repository: OLD_VERSION (older state), NEW_VERSION (today)."""
    repo = init_repo(tmp_path_factory.mktemp("template-repo") / "torch-template")
    write_snapshot(repo)
    make_older_state(repo)
    commit_release(repo, OLD_VERSION)
    write_snapshot(repo)
    commit_release(repo, NEW_VERSION)
    return repo


def users_project(
    dst: Path, template: Path, version: str, edit: Callable[[Path], None], message: str
) -> Path:
    """A default project of ``template`` at ``version``, committed, then edited and committed."""
    render_answers(dst, DEFAULT_ANSWERS, vcs_ref=version, template=template)
    init_repo(dst)
    commit_all(dst, "Generated from torch-template")
    edit(dst)
    commit_all(dst, message)
    return dst


@pytest.fixture(scope="module")
def old_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project generated from OLD_VERSION, committed, then edited and committed by its user."""
    dst = tmp_path_factory.mktemp("old-project") / "smoke-project"
    return users_project(dst, template_repo, OLD_VERSION, make_user_edits, "My work")


@dataclass(frozen=True)
class Updated:
    """The project after ``copier update`` to NEW_VERSION, with what the update printed."""

    root: Path
    log: str
    commits_before: int


@pytest.fixture(scope="module")
def updated(old_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Updated:
    """``old_project`` updated to NEW_VERSION (migration included, tasks enabled)."""
    root = copy_project(old_project, tmp_path_factory.mktemp("updated") / "smoke-project")
    before = int(git(root, "rev-list", "--count", "HEAD"))
    log = update(root, NEW_VERSION)
    return Updated(root=root, log=log, commits_before=before)


@dataclass(frozen=True)
class Switched:
    """The updated project, conflict resolved, switched to cu126 and back to cpu."""

    root: Path
    to_cuda: set[str]
    back_to_cpu: set[str]
    round_trip_diff: str


@pytest.fixture(scope="module")
def switched(updated: Updated, tmp_path_factory: pytest.TempPathFactory) -> Switched:
    """Resolve the update's conflict (user's side), commit, switch the variant and back."""
    root = copy_project(updated.root, tmp_path_factory.mktemp("switched") / "smoke-project")
    for rel in files_with_markers(root):
        path = root / rel
        path.write_text(keep_user_side(path.read_text(encoding="utf-8")), encoding="utf-8")
    commit_all(root, "Update to the new template release")
    resolved = git(root, "rev-parse", "HEAD").strip()
    # As docs/updating.md says: keep the template version, change one answer.
    update(root, copier.VcsRef.CURRENT, data={"torch_backend": "cu126"}, quiet=True)
    to_cuda = changed_paths(root)
    commit_all(root, "Switch to CUDA 12.6")
    update(root, copier.VcsRef.CURRENT, data={"torch_backend": "cpu"}, quiet=True)
    back_to_cpu = changed_paths(root)
    commit_all(root, "Back to CPU")
    round_trip = git(root, "diff", "--stat", resolved, "HEAD")
    return Switched(root=root, to_cuda=to_cuda, back_to_cpu=back_to_cpu, round_trip_diff=round_trip)


@pytest.fixture(scope="module")
def installed_updated(
    switched: Switched, tmp_path_factory: pytest.TempPathFactory
) -> InstalledProject:
    """The final project (updated, switched and back) installed in its own venv."""
    return install_project(switched.root, tmp_path_factory.mktemp("venv-updated") / "venv", PKG)


# --- the answers file: what every update starts from -------------------------------------------


def test_template_renders_the_answers_file() -> None:
    """Without it a project cannot be updated ("cannot obtain old template references")."""
    assert COPIER_YML["_answers_file"] == ".copier-answers.yml"
    answers_template = TEMPLATE_ROOT / "template" / "{{_copier_conf.answers_file}}.jinja"
    assert answers_template.is_file()
    assert "_copier_answers" in answers_template.read_text(encoding="utf-8")


def test_answers_file_records_release_source_and_every_answer(
    old_project: Path, updated: Updated, template_repo: Path
) -> None:
    questions = {k for k in COPIER_YML if not k.startswith("_")}
    before = yaml.safe_load(git(old_project, "show", "HEAD:.copier-answers.yml"))
    assert before["_commit"] == OLD_VERSION
    assert before["_src_path"] == str(template_repo)
    assert questions <= before.keys(), "an unrecorded answer is re-asked or lost on update"
    after = yaml.safe_load((updated.root / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert after["_commit"] == NEW_VERSION
    assert {k: after[k] for k in questions} == {k: before[k] for k in questions}


# --- merging: template changes arrive, user edits stay ----------------------------------------


def test_user_edit_and_template_change_in_one_file_both_survive(updated: Updated) -> None:
    text = (updated.root / "pyproject.toml").read_text(encoding="utf-8")
    assert text.endswith(USER_PYPROJECT_TAIL), "the user's own section was lost"
    assert NEW_LINE_LENGTH in text.splitlines(), "the template's change did not arrive"
    assert OLD_LINE_LENGTH not in text.splitlines()
    assert CONFLICT_START not in text


def test_overlapping_edit_is_a_marked_conflict_keeping_both_sides(updated: Updated) -> None:
    train = f"{CONFIGS}/train.yaml"
    assert files_with_markers(updated.root) == {train}, "conflicts appear only where edits overlap"
    text = (updated.root / train).read_text(encoding="utf-8")
    ours, theirs = text.split(CONFLICT_START, 1)[1].split("=======", 1)
    assert USER_SEED_COMMENT in ours, "the user's line must stay"
    assert NEW_SEED_COMMENT in theirs.split(CONFLICT_END)[0], "the template's line is offered"
    unmerged = git(updated.root, "ls-files", "--unmerged").split()
    assert train in unmerged, "git must see the file as unmerged so it cannot be committed blind"
    assert not list(updated.root.rglob("*.rej")), "conflicts are inline, never .rej files"


def test_conflict_rej_mode_saves_the_users_change_in_a_rej_file(
    old_project: Path, tmp_path: Path
) -> None:
    """With ``--conflict rej`` the file takes the template's version; the user's hunk is kept."""
    project = copy_project(old_project, tmp_path / "project")
    update(project, NEW_VERSION, conflict="rej", quiet=True)
    train = f"{CONFIGS}/train.yaml"
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*.rej")) == [
        f"{train}.rej"
    ], "only the overlapping edit is rejected (the migration's renames merge cleanly)"
    assert f"+{USER_SEED_COMMENT}" in (project / f"{train}.rej").read_text(encoding="utf-8")
    assert NEW_SEED_COMMENT in (project / train).read_text(encoding="utf-8")
    assert files_with_markers(project) == set()


def test_user_owned_files_are_untouched(old_project: Path, updated: Updated) -> None:
    """Models and data modules stay exactly as the user committed them (template changes too)."""
    for folder in (f"{SRC}/models", f"{SRC}/data"):
        assert git(updated.root, "status", "--porcelain", "--", folder) == "", folder
    # User-owned configs change only where the migration renamed the data group.
    migration = load_migration()
    for path in sorted((updated.root / CONFIGS / "model").rglob("*.yaml")):
        rel = path.relative_to(updated.root).as_posix()
        committed = git(old_project, "show", f"HEAD:{rel}")
        expected = migration.rewrite_references(committed, "datamodule", "data")
        assert path.read_text(encoding="utf-8") == expected, rel
    model = (updated.root / SRC / "models/classifier.py").read_text(encoding="utf-8")
    assert model.endswith(OLD_MODEL_LINE + USER_MODEL_LINE)
    assert (updated.root / SRC / "models/my_net.py").is_file()


def test_user_added_and_deleted_files_stay_that_way(updated: Updated) -> None:
    assert (updated.root / "notes/ideas.md").read_text(encoding="utf-8").startswith("# Ideas")
    assert not (updated.root / ".pre-commit-config.yaml").exists(), "deleted file came back"
    assert not (updated.root / ".env.example").exists(), "deleted user-owned file came back"


def test_update_runs_no_task_and_makes_no_commit(updated: Updated) -> None:
    assert int(git(updated.root, "rev-list", "--count", "HEAD")) == updated.commits_before


# --- the migration ------------------------------------------------------------------------------


def test_migration_moved_the_data_group_with_the_users_changes(updated: Updated) -> None:
    configs = updated.root / CONFIGS
    assert "rename_config_group.py" in updated.log, "the migration did not run"
    assert not (configs / "datamodule").exists()
    assert (configs / "data/synthetic.yaml").read_text(encoding="utf-8").endswith(USER_DATA_NOTE)
    assert "batch_size: 64" in (configs / "data/mine.yaml").read_text(encoding="utf-8")
    experiment = (configs / "experiment/mine.yaml").read_text(encoding="utf-8")
    assert "override /data: mine" in experiment
    assert re.search(r"(?m)^data:$", experiment)
    assert "datamodule" not in (configs / "experiment/smoke.yaml").read_text(encoding="utf-8")


def run_migration(project: Path) -> subprocess.CompletedProcess[str]:
    """The migration as copier.yml runs it: in the project root, Copier's Python."""
    return subprocess.run(
        [sys.executable, str(MIGRATION_SCRIPT), "datamodule", "data"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def test_migration_is_idempotent(old_project: Path, tmp_path: Path) -> None:
    project = copy_project(old_project, tmp_path / "project")
    first = run_migration(project)
    assert first.returncode == 0, first.stderr
    assert "moved" in first.stderr
    once = git(project, "status", "--porcelain")
    tree = git(project, "write-tree")
    second = run_migration(project)
    assert second.returncode == 0, second.stderr
    assert "moved" not in second.stderr and "rewrote" not in second.stderr
    assert git(project, "status", "--porcelain") == once
    assert git(project, "write-tree") == tree


def test_migration_never_overwrites_a_file_in_the_new_group(
    old_project: Path, tmp_path: Path
) -> None:
    project = copy_project(old_project, tmp_path / "project")
    clash = project / CONFIGS / "data/synthetic.yaml"
    clash.parent.mkdir(parents=True)
    clash.write_text("mine: true\n", encoding="utf-8")
    result = run_migration(project)
    assert result.returncode != 0
    assert "by hand" in result.stderr
    assert clash.read_text(encoding="utf-8") == "mine: true\n"
    assert (project / CONFIGS / "datamodule/synthetic.yaml").is_file()
    assert git(project, "status", "--porcelain") == "?? " + f"{CONFIGS}/data/\n"


def test_every_migration_is_documented_and_ships(template_repo: Path) -> None:
    for migration in COPIER_YML.get("_migrations", []):
        script = Path(migration["command"][1].split("/migrations/", 1)[1])
        assert (TEMPLATE_ROOT / "migrations" / script).is_file()
        assert script.name in CHANGELOG, f"CHANGELOG.md must say what {script} does"
        assert migration["version"] in changelog_releases(CHANGELOG)
        assert "_stage == 'before'" in migration["when"] or "_stage == 'after'" in migration["when"]
    assert git(template_repo, "ls-files", "migrations").strip(), "migrations/ is part of a release"


def test_recopy_keeps_user_owned_files(switched: Switched, tmp_path: Path) -> None:
    """``copier recopy`` (a copy over the project) skips user-owned files that exist.

    Template-owned files are rendered afresh, so edits to them are dropped: docs/updating.md
    says to review ``git diff`` after a recopy.
    """
    project = copy_project(switched.root, tmp_path / "project")
    copier.run_recopy(
        project, defaults=True, overwrite=True, unsafe=True, skip_tasks=True, quiet=True
    )
    owned = [f"{SRC}/models", f"{SRC}/data", *(f"{CONFIGS}/{g}" for g in ("model", "data"))]
    assert git(project, "status", "--porcelain", "--", *owned, f"{CONFIGS}/experiment") == ""
    assert (project / "notes/ideas.md").is_file()
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert USER_PYPROJECT_TAIL not in pyproject, "recopy overwrites template-owned files"


def test_check_update_reports_the_new_release(old_project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "copier", "check-update", "--output-format", "json", "."],
        cwd=old_project,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(proc.stdout)
    assert report["update_available"] is True
    assert report["current_version"] == OLD_VERSION
    assert Version(report["latest_version"]) >= Version(NEW_VERSION)


# --- switching the compute variant through an update -----------------------------------------


@pytest.fixture(scope="module")
def variant_files(render_variant) -> set[str]:
    """Files that differ between fresh cpu and cu126 renders of today's template."""
    return differing_files(render_variant("cpu"), render_variant("cu126"))


def test_variant_switch_rewrites_exactly_the_variant_files(
    switched: Switched, variant_files: set[str]
) -> None:
    is_user_owned = user_owned_matcher()
    expected = {p for p in variant_files if not is_user_owned(p)}
    assert switched.to_cuda == expected
    assert switched.back_to_cpu == expected


def test_variant_switch_and_back_restores_the_project(switched: Switched) -> None:
    assert switched.round_trip_diff == ""


def test_no_user_owned_file_depends_on_the_variant(variant_files: set[str]) -> None:
    """An update never touches user-owned files, so a variant switch could not reach them."""
    is_user_owned = user_owned_matcher()
    assert {p for p in variant_files if is_user_owned(p)} == set()


# --- turning a part of the project off and back on through an update -------------------------

# Each question, the other answer an update switches it to, and the files outside the part
# that mention the choice and so change with it: the README and the consistency tests (which
# check the part's files against the backend) mention every part; Dependabot and the
# pre-commit hooks also watch or lint the Dockerfile and the workflows; the tracker names its
# logger config, its package and its compose service. The part's own files: test_choices.
PART_MENTIONED_IN = {"README.md", "tests/test_consistency.py"}
LINTED_PART_MENTIONED_IN = {*PART_MENTIONED_IN, ".github/dependabot.yml", ".pre-commit-config.yaml"}
CHOICE_SWITCHES: dict[str, tuple[Any, set[str]]] = {
    "containers": (False, LINTED_PART_MENTIONED_IN),
    "conda_env": (False, PART_MENTIONED_IN),
    "ci": (False, LINTED_PART_MENTIONED_IN),
    "tracker": (
        "mlflow",
        {
            "README.md",
            "compose.yaml",
            "environment.yml",
            "pyproject.toml",
            f"{CONFIGS}/train.yaml",
            f"{CONFIGS}/logger/mlflow.yaml",
        },
    ),
}
# The user's edits: at the end of a file every switch rewrites, and in one none touches.
USER_README_TAIL = "\n## Our lab's notes\n\nResults live on the team drive.\n"
USER_MAKEFILE_TAIL = "\nnotebook: ## Open the lab's notebooks\n\tuv run jupyter lab notebooks\n"
USER_EDITED = {"README.md": USER_README_TAIL, "Makefile": USER_MAKEFILE_TAIL}


def name_status(project: Path) -> dict[str, set[str]]:
    """What an operation changed since HEAD, by git status letter (A, D, M), untracked included."""
    git(project, "add", "--all")
    out = git(project, "diff", "--cached", "--name-status", "--no-renames", "HEAD")
    changes: dict[str, set[str]] = {}
    for line in out.splitlines():
        status, path = line.split("\t", 1)
        changes.setdefault(status, set()).add(path)
    return changes


def empty_folders(root: Path) -> set[str]:
    """Folders outside .git with nothing in them (what a removed part must not leave behind)."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_dir() and ".git" not in p.relative_to(root).parts and not any(p.iterdir())
    }


@dataclass(frozen=True)
class ChoiceSwitch:
    """The user's project right after ``copier update --data QUESTION=ANSWER``."""

    question: str
    answer: Any
    root: Path
    changes: dict[str, set[str]]  # name_status of the update
    users_commit: str  # the commit with the user's edits, before the update


def append_user_edits(project: Path) -> None:
    """The user's notes at the end of the README, and a make target of their own."""
    for relative, tail in USER_EDITED.items():
        path = project / relative
        path.write_text(path.read_text(encoding="utf-8") + tail, encoding="utf-8")


@pytest.fixture(scope="module")
def user_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default project of NEW_VERSION, committed, with the user's edits committed."""
    dst = tmp_path_factory.mktemp("choices-project") / "smoke-project"
    return users_project(dst, template_repo, NEW_VERSION, append_user_edits, "My notes")


def switch_choice(project: Path, question: str, answer: Any) -> None:
    """As docs/updating.md says: the same template version, one answer changed."""
    update(project, NEW_VERSION, data={question: answer}, skip_tasks=True, quiet=True)


@pytest.fixture(scope="module")
def choice_switched(
    user_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], ChoiceSwitch]:
    """Factory: a copy of ``user_project`` updated to CHOICE_SWITCHES' other answer, once."""
    done: dict[str, ChoiceSwitch] = {}

    def _switch(question: str) -> ChoiceSwitch:
        if question not in done:
            answer = CHOICE_SWITCHES[question][0]
            root = copy_project(
                user_project, tmp_path_factory.mktemp(f"switch-{question}") / "smoke-project"
            )
            users_commit = git(root, "rev-parse", "HEAD").strip()
            switch_choice(root, question, answer)
            done[question] = ChoiceSwitch(question, answer, root, name_status(root), users_commit)
        return done[question]

    return _switch


def part_files_of(answers: dict[str, Any]) -> set[str]:
    """The files of the optional parts that the user's (cpu) project renders with these choices."""
    backend = torch_template.derive({**DEFAULT_ANSWERS, "torch_backend": "cpu"})["backend"]
    return {path for path, rendered in part_files(answers, backend).items() if rendered}


@pytest.mark.parametrize("question", list(CHOICE_SWITCHES))
def test_update_switching_a_choice_changes_exactly_its_files(
    choice_switched, question: str
) -> None:
    """Its part's files go (nothing is left behind); the files that mention it follow."""
    result = choice_switched(question)
    removed = part_files_of(CHOICE_DEFAULTS) - part_files_of(
        {**CHOICE_DEFAULTS, question: result.answer}
    )
    mentions = CHOICE_SWITCHES[question][1]
    assert result.changes == {
        "M": {".copier-answers.yml", *mentions},
        **({"D": removed} if removed else {}),
    }
    assert empty_folders(result.root) == set()
    answers = yaml.safe_load((result.root / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers[question] == result.answer


@pytest.mark.parametrize("question", list(CHOICE_SWITCHES))
def test_update_switching_a_choice_matches_a_fresh_project_and_keeps_the_users_edits(
    choice_switched, render_variant, question: str
) -> None:
    """The update leaves what a fresh project with that answer has, plus the user's edits."""
    result = choice_switched(question)
    fresh = render_variant("cpu", **{question: result.answer})
    assert differing_files(result.root, fresh) == {".copier-answers.yml", *USER_EDITED}
    for relative, tail in USER_EDITED.items():
        expected = (fresh / relative).read_text(encoding="utf-8") + tail
        assert (result.root / relative).read_text(encoding="utf-8") == expected, relative
    assert files_with_markers(result.root) == set()
    assert not list(result.root.rglob("*.rej"))


@pytest.mark.parametrize("question", ["containers", "conda_env", "ci"])
def test_update_turning_a_part_back_on_restores_it_and_keeps_the_users_edits(
    choice_switched, tmp_path: Path, question: str
) -> None:
    """Off, committed, then on again: the project is the user's commit again, byte for byte
    (the part's files as a fresh project has them, the user's edits in place, same answers)."""
    switched = choice_switched(question)
    root = copy_project(switched.root, tmp_path / "smoke-project")
    commit_all(root, f"Without {question}")
    switch_choice(root, question, CHOICE_DEFAULTS[question])
    git(root, "add", "--all")
    assert git(root, "diff", "--cached", "--stat", switched.users_commit) == ""
    assert files_with_markers(root) == set()
    assert not list(root.rglob("*.rej"))


def test_update_switching_the_tracker_switches_the_default_logger_and_package(
    choice_switched, user_project: Path
) -> None:
    """csv to mlflow: the runs log to MLflow, and mlflow moves from an extra to the defaults."""
    result = choice_switched("tracker")
    mlflow = torch_template.TRACKERS["mlflow"]["pip"]
    for root, tracker in [(user_project, "csv"), (result.root, "mlflow")]:
        train = yaml.safe_load((root / CONFIGS / "train.yaml").read_text(encoding="utf-8"))
        assert {"logger": tracker} in train["defaults"], tracker
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        chosen = tracker == "mlflow"
        assert (mlflow in project["dependencies"]) == chosen, f"{tracker}: installed by default"
        assert ("mlflow" in project["optional-dependencies"]) != chosen, f"{tracker}: the extra"


# --- touring every kind of backend: CPU, CUDA, ROCm, XPU and back -----------------------------

# The backends the tour switches to, in order, from the switched project's cpu.
TOUR = ("rocm7.2", "xpu", "cu130", "cpu")


@dataclass(frozen=True)
class Tour:
    """Each stop of the tour: what the switch changed, and whether the project then trained."""

    changed: dict[str, set[str]]
    trained: dict[str, Path]
    consistency: dict[str, str]
    round_trip_diff: str


@pytest.fixture(scope="module")
def tour(switched: Switched, tmp_path_factory: pytest.TempPathFactory) -> Tour:
    """Switch the project through ``TOUR`` with ``copier update --data torch_backend=...``.

    One editable install into a venv linked to this environment's CPU torch serves every stop
    (the source is edited in place); each stop trains ``debug=tiny`` with the variant's default
    trainer on the CPU and runs the project's consistency test.
    """
    root = copy_project(switched.root, tmp_path_factory.mktemp("tour") / "smoke-project")
    start = git(root, "rev-parse", "HEAD").strip()
    project = install_project(root, tmp_path_factory.mktemp("venv-tour") / "venv", PKG)
    changed, trained, consistency = {}, {}, {}
    for backend in TOUR:
        update(root, copier.VcsRef.CURRENT, data={"torch_backend": backend}, quiet=True)
        changed[backend] = changed_paths(root)
        commit_all(root, f"Switch to {backend}")
        run_dir = tmp_path_factory.mktemp(f"tour-{backend}") / "run"
        project.run(
            "-m",
            f"{PKG}.train",
            "debug=tiny",
            "trainer=default",  # the variant's own defaults, on this CPU-only machine
            "test=false",
            f"hydra.run.dir={run_dir}",
        )
        trained[backend] = run_dir
        proc = project.run(
            "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_consistency.py", check=False
        )
        consistency[backend] = proc.stdout if proc.returncode else ""
    round_trip = git(root, "diff", "--stat", start, "HEAD")
    return Tour(
        changed=changed, trained=trained, consistency=consistency, round_trip_diff=round_trip
    )


@pytest.mark.slow
def test_each_switch_rewrites_exactly_the_variant_files(tour: Tour, render_variant) -> None:
    is_user_owned = user_owned_matcher()
    before = "cpu"
    for backend in TOUR:
        differing = differing_files(render_variant(before), render_variant(backend))
        assert tour.changed[backend] == {p for p in differing if not is_user_owned(p)}, backend
        before = backend
    assert tour.round_trip_diff == "", "back on cpu, the project is as it was"


@pytest.mark.slow
def test_the_project_trains_on_the_cpu_after_each_switch(tour: Tour) -> None:
    for backend, run_dir in tour.trained.items():
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["status"] == "completed", backend
        assert (run_dir / "checkpoints" / "last.ckpt").is_file(), backend


@pytest.mark.slow
def test_the_files_agree_after_each_switch(tour: Tour) -> None:
    assert tour.consistency == dict.fromkeys(TOUR, ""), "tests/test_consistency.py failed"


# --- the updated project works ----------------------------------------------------------------


@pytest.mark.slow
def test_updated_project_trains(installed_updated: InstalledProject, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    installed_updated.run(
        "-m",
        f"{PKG}.train",
        "experiment=smoke",
        "trainer.max_epochs=1",
        f"hydra.run.dir={run_dir}",
    )
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
def test_users_migrated_experiment_composes(installed_updated: InstalledProject) -> None:
    out = installed_updated.run("-m", f"{PKG}.train", "experiment=mine", "--cfg", "job").stdout
    config = yaml.safe_load(out)
    assert config["data"]["batch_size"] == 64
    assert config["data"]["n_samples"] == 2000


@pytest.mark.slow
def test_updated_project_passes_its_own_tests(installed_updated: InstalledProject) -> None:
    # Its end-to-end trainings (marked slow) are the fresh project's, run by test_project.py;
    # what an update can break shows in the fast tests (configs, imports, consistency).
    installed_updated.run(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", timeout=900
    )


# --- from the newest real release: what users actually update from ----------------------------


@dataclass(frozen=True)
class FromRelease:
    """A project generated from a release tag, updated to today's files, and trained."""

    tag: str
    root: Path
    template_owned_changes: set[str]  # differences from a fresh project, but user-owned files
    trained: Path
    consistency: str


def update_from_release(source: Path, tag: str, tmp: Path) -> FromRelease:
    """Generate a project from ``source`` at ``tag``, update it to today's files, train it.

    A scratch repository holds the release's files as ``tag`` and today's as the next version
    (NEW_VERSION, or ``tag``.post1 when the tag is that version), so the migrations between
    them run. The project is untouched by a user: it must update without a conflict, train
    ``debug=tiny`` and pass its consistency test (template-owned files that import names only
    today's user-owned files define fail here).
    """
    repo = init_repo(tmp / "torch-template")
    write_release(repo, source, tag)
    commit_release(repo, tag)
    write_snapshot(repo)
    new = NEW_VERSION if Version(NEW_VERSION) > Version(tag) else f"{tag}.post1"
    commit_release(repo, new)
    root = tmp / "from-release" / "smoke-project"
    render_answers(root, DEFAULT_ANSWERS, vcs_ref=tag, template=repo)
    init_repo(root)
    commit_all(root, f"Generated from torch-template {tag}")
    update(root, new, quiet=True)
    fresh = render_answers(
        tmp / "fresh" / "smoke-project", DEFAULT_ANSWERS, vcs_ref=new, template=repo
    )
    is_user_owned = user_owned_matcher()
    changes = {p for p in differing_files(root, fresh) if not is_user_owned(p)}
    project = install_project(root, tmp / "venv", PKG)
    trained = tmp / "run"
    project.run("-m", f"{PKG}.train", "debug=tiny", f"hydra.run.dir={trained}")
    proc = project.run(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_consistency.py", check=False
    )
    return FromRelease(
        tag=tag,
        root=root,
        template_owned_changes=changes,
        trained=trained,
        consistency=proc.stdout if proc.returncode else "",
    )


@pytest.fixture(scope="module")
def from_release(tmp_path_factory: pytest.TempPathFactory) -> FromRelease:
    """The project of this repository's newest release tag, updated to today's files."""
    tag = newest_release_tag(TEMPLATE_ROOT)
    if tag is None:
        pytest.skip(
            "no release tag in this repository's history (git tag lists none): the update "
            "from the newest release runs once a release is tagged (docs/contributing.md)"
        )
    return update_from_release(TEMPLATE_ROOT, tag, tmp_path_factory.mktemp("from-release"))


@pytest.mark.slow
def test_a_project_of_the_newest_release_updates_to_todays_files(
    from_release: FromRelease,
) -> None:
    """Without a conflict, and as a fresh project but for the files its user owns."""
    assert files_with_markers(from_release.root) == set(), from_release.tag
    assert from_release.template_owned_changes <= {".copier-answers.yml"}, from_release.tag


@pytest.mark.slow
def test_a_project_of_the_newest_release_trains_after_the_update(
    from_release: FromRelease,
) -> None:
    manifest = json.loads((from_release.trained / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "completed", from_release.tag
    assert from_release.consistency == "", "tests/test_consistency.py failed"


def test_the_newest_release_tag_is_a_bare_version_in_the_history(tmp_path: Path) -> None:
    """The one ``from_release`` updates from: not a prefixed tag, nor one on another branch."""
    repo = init_repo(tmp_path / "repo")
    commit_all(repo, "First")
    assert newest_release_tag(repo) is None
    commit_release(repo, "0.1.0")
    commit_release(repo, "0.2.0")
    git(repo, "tag", "v0.3.0")
    git(repo, "tag", "nightly")
    git(repo, "switch", "--quiet", "--create", "elsewhere")
    commit_release(repo, "0.9.0")
    git(repo, "switch", "--quiet", "main")
    assert newest_release_tag(repo) == "0.2.0"


# --- tasks on update: only the lock task, once, in the project -------------------------------


@pytest.fixture(scope="module")
def probe_repo(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template repo plus PROBE_VERSION: each task also appends its number to a log file."""
    log = tmp_path_factory.mktemp("task-probe") / "tasks.log"
    config = yaml.safe_load((template_repo / "copier.yml").read_text(encoding="utf-8"))
    for number, task in enumerate(config.get("_tasks", [])):
        probe = f"echo \"{number} $PWD\" >> '{log}'"
        command = task["command"] if isinstance(task, dict) else task
        if isinstance(command, list):
            command = " ".join(command)
        new_command = f"{probe}; {command}"
        if isinstance(task, dict):
            task["command"] = new_command
        else:
            config["_tasks"][number] = new_command
    (template_repo / "copier.yml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    commit_release(template_repo, PROBE_VERSION)
    return log


def test_update_runs_the_lock_task_alone_and_once(
    probe_repo: Path, template_repo: Path, tmp_path: Path
) -> None:
    """Copy runs both tasks; update runs only the lock task, in the project itself (Copier
    also runs it in a temporary render, which has no uv.lock: the script leaves it alone).
    uv is not on PATH here: the lock task then only says so, and nothing is downloaded."""
    no_uv = {**os.environ, "PATH": "/usr/bin:/bin"}
    project = tmp_path / "fresh"
    answers = {**DEFAULT_ANSWERS, "lock_dependencies": True}
    with environ(no_uv):
        copier.run_copy(
            str(template_repo),
            project,
            data=answers,
            defaults=True,
            unsafe=True,
            vcs_ref=OLD_VERSION,
            quiet=True,
        )
        assert probe_repo.exists() is False, "OLD_VERSION has no probe"
        (project / "uv.lock").write_text("# a lock the project committed\n")
        commit_all(project, "Lock")
        update(project, PROBE_VERSION)
    runs = [line.split(" ", 1) for line in probe_repo.read_text().splitlines()]
    assert {number for number, _ in runs} == {"0"}, "only the lock task; never git init"
    assert [cwd for _, cwd in runs].count(str(project)) == 1, runs


@pytest.fixture(scope="module")
def locked_update(
    template_repo: Path, torch_stand_in, user_tools: Path, tmp_path_factory
) -> tuple[Path, dict[str, str]]:
    """A project copied at OLD_VERSION with its lock (against the stand-in), then updated."""
    env = user_environment(user_tools, **uv_settings(torch_stand_in, "pytorch-cpu"))
    project = tmp_path_factory.mktemp("locked") / "smoke-project"
    with environ(env):
        copier.run_copy(
            str(template_repo),
            project,
            data={**DEFAULT_ANSWERS, "lock_dependencies": True},
            defaults=True,
            unsafe=True,
            vcs_ref=OLD_VERSION,
            quiet=True,
        )
        assert "uv.lock" in git(project, "ls-files").split(), "locked in the initial commit"
        update(project, NEW_VERSION, quiet=True)
    return project, env


def test_update_relocks_a_project_that_has_a_lock(locked_update: tuple[Path, dict]) -> None:
    """NEW_VERSION changed a dependency bound: the lock follows, so `uv sync --locked` works."""
    project, env = locked_update
    changed = git(project, "status", "--porcelain").split()
    assert "uv.lock" in changed and "pyproject.toml" in changed
    proc = subprocess.run(
        ["uv", "lock", "--locked"], cwd=project, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
