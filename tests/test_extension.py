"""The extension on its own: the backends table, derived values and answer validators.

No rendering here: these tests import ``extensions/torch_template.py`` the way conftest does and
call its functions directly, so a wrong table entry or a validator hole fails in milliseconds.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from conftest import BACKENDS, torch_template
from jinja2 import Environment

TABLE = torch_template.load_table()
KINDS = {name: TABLE["backends"][name]["kind"] for name in BACKENDS}
CUDA_BACKENDS = [name for name in BACKENDS if KINDS[name] == "cuda"]
ROCM_BACKENDS = [name for name in BACKENDS if KINDS[name] == "rocm"]
GPU_BACKENDS = [name for name in BACKENDS if KINDS[name] != "cpu"]
TABLE_TEXT = torch_template.TABLE_PATH.read_text()


def assert_one_line_fix(message: str, question: str) -> None:
    """A rejection names its question and says, on one line, what to type instead."""
    assert message, f"expected {question} to be rejected"
    assert "\n" not in message
    assert message.startswith(question)
    assert ": type " in message or ": choose " in message, message


# --- the table ------------------------------------------------------------------------------


def test_table_loads_and_lists_cpu_first() -> None:
    table = torch_template.load_table()
    assert BACKENDS[0] == "cpu"
    assert set(BACKENDS) == set(table["backends"])
    assert {"cu126", "cu130", "rocm7.1", "rocm7.2", "rocm7.14", "xpu"} <= set(BACKENDS)
    assert table["torch"]["default_python"] in table["torch"]["python_versions"]


@pytest.mark.parametrize(
    ("name", "releases"),
    [
        ("rocm7.1", ["2.12", "2.13"]),
        ("rocm7.2", ["2.12", "2.13", "2.14"]),
        ("rocm7.14", ["2.14"]),
        ("xpu", ["2.12", "2.13", "2.14"]),
        ("cu132", ["2.12", "2.13", "2.14"]),
    ],
)
def test_torch_releases_per_index_follow_the_sources(name: str, releases: list[str]) -> None:
    """rocm7.1 stops at 2.13, rocm7.14 starts at 2.14, cu132 exists from 2.12 (experimental)."""
    backend = TABLE["backends"][name]
    lo, hi = (
        torch_template._version(backend["torch_min"]),
        torch_template._version(backend["torch_max_exclusive"]),
    )
    shipped = [r for r in TABLE["torch"]["releases"] if lo <= torch_template._version(r) < hi]
    assert shipped == releases


def test_every_backend_is_shipped_by_a_supported_torch_release() -> None:
    table = torch_template.load_table()
    releases = [tuple(map(int, r.split("."))) for r in table["torch"]["releases"]]
    for name, backend in table["backends"].items():
        lo = tuple(map(int, backend["torch_min"].split(".")))
        hi = tuple(map(int, backend["torch_max_exclusive"].split(".")))
        assert any(lo <= r < hi for r in releases), name
        assert backend["index_url"] == f"https://download.pytorch.org/whl/{name}"


def edit_table(section: str, **edits: str) -> str:
    """The real table's text with ``key = value`` lines of ``[section]`` replaced."""
    lines = TABLE_TEXT.splitlines()
    current, done = "", set()
    for index, line in enumerate(lines):
        key = line.split("=")[0].strip()
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and key in edits:
            lines[index] = f"{key} = {edits[key]}"
            done.add(key)
    assert done == set(edits), f"keys of [{section}] missing from backends.toml"
    return "\n".join(lines) + "\n"


BROKEN_TABLES = [
    # (backend named in the error, edits to its section, what the error says)
    ("cu130", {"torch_min": '"2.15"'}, "empty torch range"),
    ("rocm7.14", {"torch_max_exclusive": '"2.14"'}, "empty torch range"),
    ("cu132", {"torch_min": '"2.16"', "torch_max_exclusive": '"2.17"'}, "no supported torch"),
    ("cu126", {"cuda_version": '""'}, "cuda_version disagrees with kind 'cuda'"),
    ("cpu", {"gpu_expected": "true"}, "gpu_expected disagrees with kind 'cpu'"),
    ("xpu", {"gpu_expected": "false"}, "gpu_expected disagrees with kind 'xpu'"),
    ("rocm7.2", {"cuda_version": '"12.6"'}, "cuda_version disagrees with kind 'rocm'"),
    ("rocm7.2", {"rocm_version": '""'}, "rocm_version disagrees with kind 'rocm'"),
    ("cu130", {"cuda_version": '"13.1"'}, "name does not match"),
    ("rocm7.1", {"rocm_version": '"7.2"'}, "name does not match"),
    ("xpu", {"kind": '"rocm"'}, "rocm_version disagrees with kind 'rocm'"),
    ("cpu", {"kind": '"tpu"'}, "kind 'tpu' is not one of"),
    ("rocm7.2", {"index_url": '"https://download.pytorch.org/whl/rocm7.1"'}, "index_url"),
    ("rocm7.2", {"platforms": '["linux-arm64"]'}, "platforms"),
    ("xpu", {"platforms": "[]"}, "platforms"),
    ("cu126", {"min_driver": '"latest"'}, "min_driver of a CUDA row"),
    ("rocm7.14", {"min_driver": '""'}, "min_driver is empty"),
    ("rocm7.2", {"gpu_archs": '["sm_90"]'}, "gpu_archs of a rocm row"),
    ("cu130", {"gpu_archs": "[]"}, "gpu_archs of a cuda row"),
    ("cpu", {"gpu_archs": '["sm_90"]'}, "gpu_archs of a CPU row"),
    ("xpu", {"conda_build": '"cuda*"'}, "conda_build 'cuda\\*' disagrees with kind 'xpu'"),
    ("rocm7.14", {"index_packages": '["triton"]'}, "index_packages is for explicit indexes"),
    ("cpu", {"label": '"' + "x" * 91 + '"'}, "label is longer than 90"),
]


@pytest.mark.parametrize(("backend", "edits", "reason"), BROKEN_TABLES)
def test_broken_table_raises_naming_the_backend(
    tmp_path: Path, backend: str, edits: dict[str, str], reason: str
) -> None:
    broken = tmp_path / "backends.toml"
    section = f'backends."{backend}"' if "." in backend else f"backends.{backend}"
    broken.write_text(edit_table(section, **edits))
    with pytest.raises(ValueError, match=f"backend '{re.escape(backend)}': {reason}"):
        torch_template.load_table(broken)


def test_python_versions_of_a_backend_must_be_the_tables(tmp_path: Path) -> None:
    broken = tmp_path / "backends.toml"
    text = TABLE_TEXT.replace("[backends.xpu]\n", '[backends.xpu]\npython_versions = ["3.9"]\n')
    broken.write_text(text)
    with pytest.raises(ValueError, match="backend 'xpu': python_versions"):
        torch_template.load_table(broken)


def test_unchanged_copy_of_the_table_loads(tmp_path: Path) -> None:
    copy = tmp_path / "backends.toml"
    copy.write_text(TABLE_TEXT)
    assert torch_template.load_table(copy) == tomllib.loads(TABLE_TEXT)


def test_default_python_outside_the_list_is_rejected(tmp_path: Path) -> None:
    broken = tmp_path / "backends.toml"
    broken.write_text(TABLE_TEXT.replace('default_python = "3.12"', 'default_python = "3.9"'))
    with pytest.raises(ValueError, match="default_python"):
        torch_template.load_table(broken)


# --- question choices -----------------------------------------------------------------------


def test_backend_choices_match_the_table() -> None:
    table = torch_template.load_table()
    choices = torch_template.backend_choices()
    assert list(choices.values()) == BACKENDS
    for label, name in choices.items():
        assert label == f"{name}: {table['backends'][name]['label']}"


def test_python_choices_match_the_table() -> None:
    table = torch_template.load_table()
    assert torch_template.python_choices() == table["torch"]["python_versions"]


# --- derived values -------------------------------------------------------------------------

ANSWERS = {"project_name": "Digit Classifier", "license": "MIT", "python_version": "3.12"}


def test_derive_cpu() -> None:
    derived = torch_template.derive({**ANSWERS, "torch_backend": "cpu"})
    backend = derived["backend"]
    assert backend["name"] == "cpu"
    assert backend["is_cuda"] is False
    assert backend["cuda_version"] == ""
    assert backend["min_driver"] == ""
    assert backend["index_name"] == "pytorch-cpu"
    assert backend["index_url"] == "https://download.pytorch.org/whl/cpu"
    assert backend["torch_spec"] == ">=2.12,<2.15"
    assert backend["conda_pytorch_spec"] == "pytorch[version='>=2.12,<2.15',build='cpu*']"
    # auto: Apple's MPS on a Mac with Apple silicon, the CPU elsewhere; full precision.
    assert backend["accelerator"] == "auto"
    assert backend["precision"] == "32-true"
    assert backend["pin_memory"] is False
    assert backend["docker_base"] == "python:3.12-slim-trixie"
    assert (backend["kind"], backend["device_api"], backend["is_gpu"]) == ("cpu", "cpu", False)
    assert backend["platform_marker"] == "sys_platform == 'linux' or sys_platform == 'win32'"
    assert backend["gpu_runner_labels"] == backend["custom_runner_labels"] == []
    assert backend["container_devices"] == backend["container_groups"] == []
    assert "CUBLAS_WORKSPACE_CONFIG" not in derived["env_vars"]


@pytest.mark.parametrize("name", CUDA_BACKENDS)
def test_derive_cuda(name: str) -> None:
    raw = torch_template.load_table()["backends"][name]
    derived = torch_template.derive({**ANSWERS, "torch_backend": name})
    backend = derived["backend"]
    assert backend["is_cuda"] is True
    assert backend["cuda_version"] == raw["cuda_version"] != ""
    assert backend["conda_cuda_version"] == raw["cuda_version"]
    assert backend["min_driver"] == raw["min_driver"] != ""
    assert backend["index_name"] == f"pytorch-{name}"
    assert backend["index_url"] == f"https://download.pytorch.org/whl/{name}"
    spec = f">={raw['torch_min']},<{raw['torch_max_exclusive']}"
    assert backend["torch_spec"] == spec
    assert backend["conda_pytorch_spec"] == f"pytorch[version='{spec}',build='cuda*']"
    assert backend["accelerator"] == "auto"
    assert backend["precision"] == "auto"
    assert backend["pin_memory"] is True
    assert derived["env_vars"]["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert (backend["is_rocm"], backend["is_xpu"], backend["device_api"]) == (False, False, "cuda")
    assert backend["gpu_runner_labels"] == ["self-hosted", "linux", "gpu"]
    assert backend["docker_gpu_args"] == "--gpus all"
    assert backend["container_devices"] == []


def test_cu132_exists_from_torch_2_12() -> None:
    derived = torch_template.derive({**ANSWERS, "torch_backend": "cu132"})
    assert derived["backend"]["torch_spec"] == ">=2.12,<2.15"


@pytest.mark.parametrize("name", ROCM_BACKENDS)
def test_derive_rocm(name: str) -> None:
    raw = TABLE["backends"][name]
    derived = torch_template.derive({**ANSWERS, "torch_backend": name})
    backend = derived["backend"]
    assert (backend["is_rocm"], backend["is_cuda"], backend["is_gpu"]) == (True, False, True)
    assert backend["device_api"] == "cuda", "ROCm builds answer to torch.cuda"
    assert backend["pin_memory"] is True, "pinned memory works through torch.cuda too"
    assert backend["rocm_version"] == raw["rocm_version"] == name.removeprefix("rocm")
    assert backend["index_url"] == f"https://download.pytorch.org/whl/{name}"
    # Wheels for Linux x86_64 only: uv takes PyPI's torch elsewhere.
    marker = "sys_platform == 'linux' and platform_machine == 'x86_64'"
    assert backend["platform_marker"] == marker
    assert backend["linux_only"] is True
    assert backend["container_devices"] == ["/dev/kfd", "/dev/dri"]
    assert backend["container_groups"] == ["video", "render"]
    assert "--privileged" not in backend["docker_gpu_args"]
    assert "--gpus" not in backend["docker_gpu_args"]
    assert backend["gpu_runner_labels"] == ["self-hosted", "linux", "x64", "rocm"]
    assert backend["custom_runner_labels"] == ["rocm"]
    assert not backend["has_conda_build"]
    assert backend["conda_pytorch_spec"] == ""
    assert all(arch.startswith("gfx") for arch in backend["gpu_archs"])
    assert "CUBLAS_WORKSPACE_CONFIG" not in derived["env_vars"]


def test_rocm_index_packages_and_environments() -> None:
    """rocm7.1/7.2 route triton-rocm to their index; rocm7.14's index serves every package."""
    for name in ("rocm7.1", "rocm7.2"):
        backend = torch_template.derive({**ANSWERS, "torch_backend": name})["backend"]
        assert (backend["index_packages"], backend["index_explicit"]) == (["triton-rocm"], True)
        assert backend["uv_environments"] == []
    therock = torch_template.derive({**ANSWERS, "torch_backend": "rocm7.14"})["backend"]
    assert (therock["index_packages"], therock["index_explicit"]) == ([], False)
    assert therock["uv_environments"] == [therock["platform_marker"]]
    assert "gfx906" not in therock["gpu_archs"], "rocm7.14 dropped gfx900 and gfx906"


def test_derive_xpu() -> None:
    derived = torch_template.derive({**ANSWERS, "torch_backend": "xpu"})
    backend = derived["backend"]
    assert (backend["is_xpu"], backend["is_cuda"], backend["device_api"]) == (True, False, "xpu")
    assert backend["index_url"] == "https://download.pytorch.org/whl/xpu"
    assert backend["platform_marker"] == (
        "(sys_platform == 'linux' and platform_machine == 'x86_64') or "
        "(sys_platform == 'win32' and platform_machine == 'AMD64')"
    )
    assert backend["linux_only"] is False
    assert backend["index_packages"] == ["triton-xpu"]
    assert backend["container_devices"] == ["/dev/dri"]
    assert backend["container_groups"] == ["render"]
    assert backend["gpu_runner_labels"] == ["self-hosted", "linux", "x64", "xpu"]
    assert backend["accelerator"] == "auto"  # Lightning's auto is the CPU: trainer=xpu for the GPU
    assert backend["pin_memory"] is False
    assert not backend["has_conda_build"]


@pytest.mark.parametrize("name", BACKENDS)
def test_derive_common_values(name: str) -> None:
    answers = {**ANSWERS, "torch_backend": name, "python_version": "3.11"}
    before = dict(answers)
    derived = torch_template.derive(answers)
    assert answers == before, "derive must not modify the answers"
    assert derived == torch_template.derive(answers), "derive must be pure"
    env = derived["env_vars"]
    assert env["PYTHONHASHSEED"] == "0"
    assert {"PYTHONUNBUFFERED", "PYTHONFAULTHANDLER", "TORCH_HOME", "HF_HOME"} <= set(env)
    assert derived["cache_volumes"] == {
        "torch": env["TORCH_HOME"],
        "huggingface": env["HF_HOME"],
        "uv": env["UV_CACHE_DIR"],
    }
    assert derived["backend"]["ci_torch_index_url"] == "https://download.pytorch.org/whl/cpu"
    assert derived["backend"]["docker_base"] == "python:3.11-slim-trixie"
    versions = torch_template.python_choices()
    assert derived["ci_python_versions"] == versions[versions.index("3.11") :]
    assert derived["python_max"] == versions[-1]
    assert derived["project_slug"] == "digit-classifier"


@pytest.mark.parametrize(
    ("license_answer", "expression"),
    [
        ("MIT", "MIT"),
        ("Apache-2.0", "Apache-2.0"),
        ("BSD-3-Clause", "BSD-3-Clause"),
        ("Proprietary", "LicenseRef-Proprietary"),
    ],
)
def test_license_expression(license_answer: str, expression: str) -> None:
    answers = {**ANSWERS, "license": license_answer, "torch_backend": "cpu"}
    assert torch_template.derive(answers)["license_expression"] == expression


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project_name", "package", "slug"),
    [
        ("My Torch Project", "my_torch_project", "my-torch-project"),
        ("Digit Classifier", "digit_classifier", "digit-classifier"),
        ("3D Vision", "p_3d_vision", "3d-vision"),
        ("Ünïcode Vision 2", "unicode_vision_2", "unicode-vision-2"),
        ("  --Fancy__Name!! ", "fancy_name", "fancy-name"),
        ("日本語 Vision", "vision", "vision"),
        ("ResNet-50 (ImageNet)", "resnet_50_imagenet", "resnet-50-imagenet"),
    ],
)
def test_default_package_name_and_slug(project_name: str, package: str, slug: str) -> None:
    assert torch_template.default_package_name(project_name) == package
    assert torch_template.project_slug(project_name) == slug
    assert torch_template.package_name_error(package) == ""
    assert torch_template.project_name_error(project_name) == ""


# --- validators: accept ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["digit_classifier", "a", "resnet50", "my_pkg_2", "p_3d"])
def test_package_name_accepts(name: str) -> None:
    assert torch_template.package_name_error(name) == ""


@pytest.mark.parametrize(
    "name", ["Digit Classifier", "Ünïcode Vision 2", "3D Vision", "(Beta) Foo", "x" * 80]
)
def test_project_name_accepts(name: str) -> None:
    assert torch_template.project_name_error(name) == ""


@pytest.mark.parametrize(
    "email", ["ada@example.com", "o'brien@lab.example.co.uk", "first.last+ml@uni-x.edu"]
)
def test_email_accepts(email: str) -> None:
    assert torch_template.email_error(email) == ""


@pytest.mark.parametrize("name", ["Ada Lovelace", "Seán O'Brien", "Vision Team (ETH)"])
def test_author_name_accepts(name: str) -> None:
    assert torch_template.author_name_error(name) == ""


@pytest.mark.parametrize("text", ["", "A classifier for digits.", "Uses 'quotes' & <tags>."])
def test_description_accepts(text: str) -> None:
    assert torch_template.description_error(text) == ""


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("python", ["3.10", "3.14"])
def test_combination_accepts_every_table_pair(backend: str, python: str) -> None:
    assert torch_template.combination_error(backend, python) == ""


def test_a_backend_without_wheels_for_a_python_is_refused_with_what_to_pick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    narrowed = tmp_path / "backends.toml"
    narrowed.write_text(
        TABLE_TEXT.replace(
            '[backends."rocm7.14"]\n',
            '[backends."rocm7.14"]\npython_versions = ["3.11", "3.12", "3.13", "3.14"]\n',
        )
    )
    table = torch_template.load_table(narrowed)
    monkeypatch.setattr(torch_template, "load_table", lambda path=None: table)
    message = torch_template.combination_error("rocm7.14", "3.10")
    assert_one_line_fix(message, "torch_backend")
    assert "no wheels for Python 3.10" in message
    assert "rocm7.2" in message, "names the backends that have wheels for it"
    assert "3.11, 3.12, 3.13, 3.14" in message, "and the Pythons this backend has"
    assert torch_template.combination_error("rocm7.14", "3.11") == ""
    derived = torch_template.derive(
        {**ANSWERS, "torch_backend": "rocm7.14", "python_version": "3.11"}
    )
    assert derived["ci_python_versions"] == ["3.11", "3.12", "3.13", "3.14"]


# --- validators: reject ---------------------------------------------------------------------

PACKAGE_REJECTS = {
    "": "is empty",
    "os": "standard library",
    "json": "standard library",
    "torch": "shadows the 'torch' package",
    "lightning": "shadows the 'lightning' package",
    "hydra": "shadows the 'hydra' package",
    "tests": "shadows the 'tests' package",
    "class": "keyword",
    "match": "keyword",
    "1abc": "not a lowercase Python identifier",
    "My-Pkg": "not a lowercase Python identifier",
    "has space": "not a lowercase Python identifier",
    "café": "not a lowercase Python identifier",
    "_private": "not a lowercase Python identifier",
    "trailing_": "stray underscores",
    "double__under": "stray underscores",
    "a" * 41: "longer than 40",
}


@pytest.mark.parametrize(("name", "reason"), PACKAGE_REJECTS.items())
def test_package_name_rejects(name: str, reason: str) -> None:
    message = torch_template.package_name_error(name)
    assert_one_line_fix(message, "package_name")
    assert reason in message


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("My-Pkg", "my_pkg"),
        ("has space", "has_space"),
        ("1abc", "p_1abc"),
        ("os", "os_project"),
        ("torch", "torch_project"),
        ("double__under", "double_under"),
    ],
)
def test_package_name_rejection_suggests_a_valid_name(name: str, suggestion: str) -> None:
    message = torch_template.package_name_error(name)
    assert f"type {suggestion!r}" in message
    assert torch_template.package_name_error(suggestion) == ""


def test_absurdly_long_package_name_message_stays_short() -> None:
    message = torch_template.package_name_error("a" * 500)
    assert_one_line_fix(message, "package_name")
    assert len(message) < 200


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("日本語", "Latin letter or digit"),
        ("!!!", "Latin letter or digit"),
        ("x" * 81, "longer than 80"),
        ("Two\nLines", "one line"),
        ('The "Best" Model', "double quotes"),
        ("C:\\models", "backslashes"),
    ],
)
def test_project_name_rejects(name: str, reason: str) -> None:
    message = torch_template.project_name_error(name)
    assert_one_line_fix(message, "project_name")
    assert reason in message


@pytest.mark.parametrize(
    "email",
    ["", "nobody", "a@b", "a@b.c", "a b@example.com", "@example.com", 'a"b@example.com', "a@.com"],
)
def test_email_rejects(email: str) -> None:
    assert_one_line_fix(torch_template.email_error(email), "author_email")


@pytest.mark.parametrize("name", ["", "  ", "Ada\nLovelace", 'Ada "The Countess"', "ACME\\ml"])
def test_author_name_rejects(name: str) -> None:
    assert_one_line_fix(torch_template.author_name_error(name), "author_name")


@pytest.mark.parametrize("text", ["Line one.\nLine two.", 'A "quoted" word', "back\\slash"])
def test_description_rejects(text: str) -> None:
    assert_one_line_fix(torch_template.description_error(text), "description")


def test_combination_rejects_unknown_backend() -> None:
    message = torch_template.combination_error("cu999", "3.12")
    assert_one_line_fix(message, "torch_backend")
    assert all(name in message for name in BACKENDS)


def test_combination_rejects_unsupported_python() -> None:
    message = torch_template.combination_error("cpu", "3.9")
    assert_one_line_fix(message, "python_version")
    assert "3.10" in message


# --- the Jinja side -------------------------------------------------------------------------


def test_extension_registers_filters_and_globals() -> None:
    env = Environment(extensions=[torch_template.TorchTemplateExtension])
    assert env.globals["tt_backend_choices"] == torch_template.backend_choices()
    assert env.globals["tt_python_choices"] == torch_template.python_choices()
    rendered = env.from_string("{{ 'os' | tt_package_name_error }}").render()
    assert rendered == torch_template.package_name_error("os")
    assert env.from_string("{{ 'Digit Classifier' | tt_default_package_name }}").render() == (
        "digit_classifier"
    )


def test_context_hook_adds_derived_values_once_answered() -> None:
    env = Environment(extensions=[torch_template.DerivedContext])
    template = env.from_string("[{{ backend.index_url }}]")
    answered = {"_copier_conf": {}, **ANSWERS, "torch_backend": "cu126"}
    assert template.render(answered) == "[https://download.pytorch.org/whl/cu126]"
    unanswered = {"_copier_conf": {}, "project_name": "X", "torch_backend": "cu126"}
    assert env.from_string("{{ backend is defined }}").render(unanswered) == "False"
