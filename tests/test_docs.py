"""The documentation site: it builds cleanly, its generated pages cover every question and
backend, and the commands it tells users to run are the ones the test suite runs."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from conftest import BACKENDS, TEMPLATE_ROOT, import_file, torch_template

DOCS = TEMPLATE_ROOT / "docs"
GENERATOR_PATH = DOCS / "hooks" / "generate.py"

# Every command the getting-started page (and the home page) shows in a code block, with where
# the suite runs it or its equivalent: (test file, texts that must all occur in it). `myproj` is
# the docs' package name; the suite's rendered project calls it `smoke_project`.
EXERCISED: dict[str, tuple[str, tuple[str, ...]]] = {
    "copier copy --trust gh:org/torch-template myproj": (
        "scripts/local_project.py",
        ("copier.run_copy(",),
    ),
    (
        "copier copy --trust --defaults --data package_name=myproj --data torch_backend=cu126 "
        "gh:org/torch-template myproj"
    ): ("tests/test_questions.py", ('"--defaults",', '"--data",')),
    # `uv sync --locked`: the lock the copy task made, installed exactly (stricter than the page).
    "uv sync": ("tests/conftest.py", ('"uv", "sync", "--locked"',)),
    "uv run python -m myproj.train experiment=smoke": (
        "tests/conftest.py",
        ('"run",', '.train"', '"experiment=smoke"'),
    ),
    "uv run pytest": ("tests/test_user_path.py", ('"run", "pytest"',)),
    "uv run python -m myproj.evaluate ckpt_path=PATH": (
        "tests/test_project.py",
        ('.evaluate"', '"ckpt_path='),
    ),
}
# Shown but not run by the suite, and why.
NOT_EXERCISED: dict[str, str] = {
    "pipx install copier": "installs from PyPI; the suite uses the Copier of .venv",
    "pipx inject copier copier-template-extensions": "as above",
    "uv tool install copier --with copier-template-extensions": "as above",
    "cd myproj": "changes directory",
}


def load_generator() -> ModuleType:
    """Import docs/hooks/generate.py (it is a MkDocs hook, not a package module)."""
    return import_file("docs_generate", GENERATOR_PATH)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def pages(generator: ModuleType) -> dict[str, str]:
    return generator.generate()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built by ``mkdocs build --strict`` (any warning fails the build)."""
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (dependency group 'docs')")
    pytest.importorskip("material", reason="mkdocs-material is not installed (group 'docs')")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-6000:]}"
    return out


def page_html(site: Path, markdown_path: str) -> str:
    """The built HTML of a page, by its Markdown path (``reference/questions.md``)."""
    built = site / markdown_path.removesuffix(".md") / "index.html"
    if markdown_path == "index.md" or markdown_path.endswith("/index.md"):
        built = site / markdown_path.removesuffix("index.md") / "index.html"
    assert built.is_file(), f"{markdown_path} was not built"
    return html.unescape(built.read_text(encoding="utf-8"))


def questions() -> dict[str, dict]:
    config = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    return {key: value for key, value in config.items() if not key.startswith("_")}


# --- the build ------------------------------------------------------------------------------


def test_site_builds_strictly_with_every_nav_page(site: Path) -> None:
    nav = yaml.safe_load((TEMPLATE_ROOT / "mkdocs.yml").read_text())["nav"]
    listed = re.findall(r"[\w/-]+\.md", str(nav))
    for markdown_path in listed:
        page_html(site, markdown_path)
    written = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert written <= set(listed), f"pages missing from the nav: {written - set(listed)}"


def test_hook_sources_are_not_published(site: Path) -> None:
    assert not list(site.rglob("generate.py"))


# --- the generated pages --------------------------------------------------------------------


def test_generated_pages_are_not_files_in_docs(generator: ModuleType) -> None:
    for path in generator.GENERATORS:
        assert not (DOCS / path).exists(), f"{path} is generated: delete the stale file"


def test_questions_page_covers_every_question_and_choice(pages: dict[str, str]) -> None:
    page = pages["reference/questions.md"]
    for key in questions():
        assert f"| `{key}` |" in page, f"question {key} missing from the reference"
    for name in BACKENDS:
        assert f"`{name}`" in page
    for version in torch_template.python_choices():
        assert f"`{version}`" in page
    for license_answer in torch_template.LICENSE_EXPRESSIONS:
        assert f"`{license_answer}`" in page


def test_questions_page_shows_the_messages_copier_prints(
    generator: ModuleType, pages: dict[str, str]
) -> None:
    page = pages["reference/questions.md"]
    validated = [k for k, q in questions().items() if "validator" in q and "choices" not in q]
    assert validated, "copier.yml has validators"
    for key in validated:
        assert key in generator.SAMPLE_BAD_ANSWERS, f"no sample refused answer for {key}"
        message = generator.refusal(TEMPLATE_ROOT, key, generator.SAMPLE_BAD_ANSWERS[key])
        assert message.startswith(key) and ": type " in message
        assert message in page
    assert torch_template.package_name_error("torch") in page


def test_questions_page_defaults_match_a_defaults_render(pages: dict[str, str]) -> None:
    page = pages["reference/questions.md"]
    answers_block = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    defaults = yaml.safe_load(answers_block)
    assert list(defaults) == list(questions())
    assert defaults["package_name"] == torch_template.default_package_name(defaults["project_name"])
    assert defaults["python_version"] == torch_template.load_table()["torch"]["default_python"]
    assert defaults["torch_backend"] == "cpu"


def test_variants_page_covers_every_backend(pages: dict[str, str]) -> None:
    page = pages["reference/variants.md"]
    table = torch_template.load_table()
    for name in BACKENDS:
        derived = torch_template.derive(
            {"torch_backend": name, "python_version": table["torch"]["default_python"]}
        )["backend"]
        assert f"| `{name}` | {derived['label']} |" in page
        for value in ("index_url", "torch_spec", "docker_base", "min_driver"):
            assert f"`{derived[value] or '-'}`" in page, f"{name}: {value} missing"
        if derived["has_conda_build"]:
            assert f"`{derived['conda_pytorch_spec']}`" in page
        if derived["gpu_archs"]:
            assert f"`{', '.join(derived['gpu_archs'])}`" in page
        if derived["is_gpu"]:
            assert f"`{', '.join(derived['gpu_runner_labels'])}`" in page
    assert "none: Python and pip, then pip" in page, "ROCm and XPU have no conda-forge build"
    assert "PYTORCH_ENABLE_MPS_FALLBACK" in page
    for release in table["torch"]["releases"]:
        assert release in page


def _table_rows(markdown: str) -> list[str]:
    return [
        line
        for line in markdown.splitlines()
        if line.startswith("|") and not re.fullmatch(r"\|( *-+ *\|)+", line.replace(" ", ""))
    ]


@pytest.mark.parametrize("path", ["reference/questions.md", "reference/variants.md"])
def test_built_site_embeds_the_generator_output(
    site: Path, pages: dict[str, str], path: str
) -> None:
    built = page_html(site, path)
    rows = _table_rows(pages[path])
    assert built.count("<tr>") == len(rows)
    text = re.sub(r"<[^>]+>", "", built)
    for row in rows:
        first_cell = row.strip("|").split("|")[0].strip().replace("`", "")
        assert first_cell in text, f"{path}: row {first_cell!r} not in the built page"


# --- the hand-written pages -----------------------------------------------------------------


def code_block_commands(markdown: str) -> list[str]:
    """Shell commands of the ```bash blocks: one per line, continuations joined."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(re.sub(r"\s+", " ", command))
    return commands


@pytest.mark.parametrize("page", ["getting-started.md", "index.md"])
def test_start_commands_are_the_ones_the_suite_runs(page: str) -> None:
    shown = code_block_commands((DOCS / page).read_text())
    assert shown
    for command in shown:
        assert command in EXERCISED or command in NOT_EXERCISED, (
            f"{page} shows {command!r}: exercise it in the suite and list it in EXERCISED, "
            "or list it in NOT_EXERCISED with the reason"
        )


def test_exercised_commands_are_run_by_the_suite() -> None:
    shown = set(code_block_commands((DOCS / "getting-started.md").read_text()))
    for command, (test_file, markers) in EXERCISED.items():
        assert command in shown, f"{command!r} is no longer on the getting-started page"
        source = TEMPLATE_ROOT / test_file
        assert source.is_file(), f"{test_file} (which runs {command!r}) does not exist"
        text = source.read_text()
        for marker in markers:
            assert marker in text, f"{test_file} no longer runs {command!r} ({marker} not found)"


def test_hand_written_pages_quote_drivers_and_indexes_from_the_table() -> None:
    table = torch_template.load_table()
    drivers = {b["min_driver"] for b in table["backends"].values()} - {""}
    indexes = {b["index_url"] for b in table["backends"].values()}
    for page in DOCS.rglob("*.md"):
        text = page.read_text()
        for driver in re.findall(r"\b\d{3}\.\d{2,3}\.\d{2}\b", text):
            assert driver in drivers, f"{page.name} quotes driver {driver} not in the table"
        for url in re.findall(r"https://download\.pytorch\.org/whl/\w+", text):
            assert url in indexes, f"{page.name} quotes index {url} not in the table"


def test_docs_never_import_pytorch_lightning() -> None:
    for page in DOCS.rglob("*.md"):
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL):
            assert not re.search(r"^\s*(from|import) pytorch_lightning\b", block, re.MULTILINE)


def test_home_page_fits_on_one_screen() -> None:
    text = (DOCS / "index.md").read_text()
    assert len(text.splitlines()) <= 40
    assert "## What you get" in text and "## Start" in text
