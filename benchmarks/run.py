"""Benchmark the template: render time, smoke training, training-loop overhead, test suite.

    .venv/bin/python benchmarks/run.py [--quick] [--json PATH] [--markdown PATH]

1. Render: ``copier copy`` (Python API, vcs_ref HEAD, defaults, tasks skipped, an empty
   Copier settings file) of every backend variant, against the *Copier floor*: a generated
   git template of the same number of small ``.jinja`` files, flat, with no extensions. Both
   are clean git repositories: the working tree is committed into a temporary copy first, so a
   developer's uncommitted changes do not add Copier's dirty-tree handling to the time.
2. Smoke training: ``python -m <pkg>.train experiment=smoke`` in the installed default project,
   process start to exit, and how long its imports take on their own.
3. Loop overhead: ``loop_ratio.py`` in the project's venv (step time of the project's loop
   over a plain PyTorch loop and over a bare Lightning ``Trainer``, measured in one process);
   on CPU, and on CUDA when torch sees a GPU. ``template_overhead_<device>`` is the project's
   step over the bare Trainer's. ``compile=true`` is measured the same way on CPU: its step
   against the eager step (each over the bare Trainer of its own process), and the time
   compiling adds to the smoke training.
4. The rendered project's own suite on the user's path: the default project locked and
   synced with uv (no extras, torch from a local stand-in index, as the template's tests do),
   then ``uv run pytest`` and ``uv run pytest -m "not slow"``, timed.
5. The starters' data throughput (``data_throughput.py --quick`` in a project with every
   starter): the training loader's rate over indexing the processed cache.
6. The template's own test suite, once (skipped with ``--quick``).

Times are medians of several runs, with min and max. The result goes to a JSON file and a
Markdown table (``benchmarks/results/latest.{json,md}`` unless told otherwise).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TEMPLATE_ROOT / d) for d in ("extensions", "scripts", "tests")]

import torch_template  # noqa: E402  (the template's extension: its backend table)
from local_project import SMOKE_ANSWERS, install_editable, render  # noqa: E402

RESULTS = TEMPLATE_ROOT / "benchmarks" / "results"
LOOP_RATIO = TEMPLATE_ROOT / "benchmarks" / "loop_ratio.py"
ANSWERS = SMOKE_ANSWERS
PACKAGE = ANSWERS["package_name"]
# Upper bounds: what "fast" means for each headline number. The render ratio is a guard, not
# a goal: Copier's own cost per path segment sets its floor (``render_ratio_tree`` compares
# with a trivial template of the same file tree). The loop ratios have no target: a bare
# Lightning Trainer alone costs about 1.3x a plain loop (``lightning_floor_ratio``), so what
# the template adds is judged by ``template_overhead_*``.
TARGETS = {
    "render_ratio": 2.0,
    "smoke_wall_s": 20.0,
    "template_overhead_cpu": 1.05,
    "template_overhead_cuda": 1.05,
    "project_suite_wall_s": 30.0,
    "project_fast_suite_wall_s": 8.0,
    "suite_wall_s": 600.0,
}
REQUIRED_KEYS = (
    "render_ratio",
    "render_ratio_tree",
    "smoke_wall_s",
    "smoke_import_s",
    "loop_ratio_cpu",
    "loop_ratio_cuda",
    "template_overhead_cpu",
    "template_overhead_cuda",
    "compile_step_ratio_cpu",
    "compile_s",
    "project_suite_wall_s",
    "project_fast_suite_wall_s",
    "data_throughput",
    "suite_wall_s",
)
EVERY_STARTER = ["tabular", "image", "text"]
DATA_THROUGHPUT = TEMPLATE_ROOT / "benchmarks" / "data_throughput.py"
# Rich draws its progress bars as in a terminal, so their cost is counted.
TERMINAL_ENV = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}
JINJA_IN_PATH = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
GIT_IDENTITY = ["-c", "user.name=Benchmark", "-c", "user.email=benchmark@torch-template.invalid"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs, no test suite (under 3 minutes)"
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="JSON output")
    parser.add_argument(
        "--markdown", type=Path, default=RESULTS / "latest.md", help="Markdown table output"
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu"],
        default="auto",
        help="auto: also measure the loop on CUDA when torch sees a GPU",
    )
    return parser.parse_args(argv)


# --- helpers --------------------------------------------------------------------------------


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and the runs themselves, rounded for reading."""
    if not values:
        raise ValueError("no measurements to summarize")
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "runs": [round(value, 4) for value in values],
    }


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action()`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Run a command to completion (it must succeed); return its wall time in seconds."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(command),
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-3000:]}"
        )
    return seconds


def git(*args: str, cwd: Path) -> str:
    """Run git in ``cwd``; return its stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    for module in ("lightning", "copier", "hydra"):
        try:
            info[module] = __import__(module).__version__
        except (ImportError, AttributeError):
            info[module] = None
    return info


def source_state() -> dict[str, Any]:
    """The commit measured and whether the working tree had uncommitted changes."""
    return {
        "commit": git("rev-parse", "HEAD", cwd=TEMPLATE_ROOT).strip(),
        "dirty": bool(git("status", "--porcelain", cwd=TEMPLATE_ROOT).strip()),
    }


# --- 1. render ------------------------------------------------------------------------------


def commit_all(root: Path) -> Path:
    """Make ``root`` a git repository with everything in it committed."""
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git(*GIT_IDENTITY, "commit", "-q", "-m", "snapshot", cwd=root)
    return root


def snapshot_template(dst: Path) -> Path:
    """Copy the working tree (tracked and untracked, not ignored files) into a clean repo."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=TEMPLATE_ROOT)
    for relative in filter(None, listed.split("\0")):
        source = TEMPLATE_ROOT / relative
        if source.is_file():  # deleted but not yet staged files are still listed
            (dst / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dst / relative)
    return commit_all(dst)


def trivial_template(dst: Path, relative_paths: Sequence[Path]) -> Path:
    """A Copier template of one-line files at ``relative_paths``: one question, no extensions.

    ``.jinja`` files hold ``{{ name }}``, others a plain line; Jinja in a path is replaced by
    plain text, so the template renders the same tree with trivial content.
    """
    (dst / "template").mkdir(parents=True)
    (dst / "copier.yml").write_text(
        "_subdirectory: template\nname:\n  type: str\n  default: trivial\n"
    )
    for relative in relative_paths:
        plain = Path(*(JINJA_IN_PATH.sub("x", part) or "x" for part in relative.parts))
        path = dst / "template" / plain
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{{ name }}\n" if plain.name.endswith(".jinja") else "trivial\n")
    return commit_all(dst)


def template_files(template: Path) -> list[Path]:
    """The files of the template's ``_subdirectory`` (``template/``), relative to it."""
    root = template / "template"
    return sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file())


def copier_copy(template: Path, dst: Path, data: dict[str, Any]) -> None:
    """``copier copy`` as the tests run it: HEAD, defaults, trusted, tasks skipped, quiet."""
    render(dst, data, template=template)


def measure_render(work: Path, repeats: int) -> dict[str, Any]:
    """Render each variant and the Copier floor ``repeats`` times, interleaved."""
    template = snapshot_template(work / "template-snapshot")
    files = template_files(template)
    flat = [Path(f"file_{index:03d}.txt.jinja") for index in range(len(files))]
    floor = trivial_template(work / "floor", flat)
    layout = trivial_template(work / "layout-floor", files)
    backends = torch_template.backend_names()
    times: dict[str, list[float]] = {"floor": [], "layout": [], **{b: [] for b in backends}}
    copier_copy(floor, work / "warm-floor", {})  # imports and caches out of the timings
    copier_copy(template, work / "warm-template", ANSWERS)
    for repeat in range(repeats):
        out = work / f"renders-{repeat}"
        times["floor"].append(timed(partial(copier_copy, floor, out / "floor", {})))
        times["layout"].append(timed(partial(copier_copy, layout, out / "layout", {})))
        for name in backends:
            answers = {**ANSWERS, "torch_backend": name}
            times[name].append(timed(partial(copier_copy, template, out / name, answers)))
    floor_median = statistics.median(times["floor"])
    layout_median = statistics.median(times["layout"])
    variants = {
        name: {
            "seconds": summarize(times[name]),
            "ratio": round(statistics.median(times[name]) / floor_median, 3),
            "ratio_to_layout_floor": round(statistics.median(times[name]) / layout_median, 3),
        }
        for name in backends
    }
    pooled = [seconds for name in backends for seconds in times[name]]
    return {
        "files": len(files),
        "ratio": round(statistics.median(pooled) / floor_median, 3),
        "ratio_to_layout_floor": round(statistics.median(pooled) / layout_median, 3),
        "floor_seconds": summarize(times["floor"]),
        "layout_floor_seconds": summarize(times["layout"]),
        "variants": variants,
        "ratio_worst": max(variant["ratio"] for variant in variants.values()),
    }


# --- 2. smoke training ------------------------------------------------------------------------


def install_default_project(work: Path) -> tuple[Path, Path]:
    """Render the default project and install it editable in a linked venv (offline)."""
    root = render(work / "smoke-project", dict(ANSWERS))
    return root, install_editable(root, work / "smoke-venv")


def measure_smoke(root: Path, python: Path, work: Path, repeats: int) -> dict[str, Any]:
    """Wall time of the smoke training, of importing what it imports, and of ``--help``."""
    env = {**TERMINAL_ENV, "PYTHONHASHSEED": "0", "PYTEST_ADDOPTS": ""}
    train = [str(python), "-m", f"{PACKAGE}.train"]
    imports = f"import lightning.pytorch, {PACKAGE}.train, {PACKAGE}.models, {PACKAGE}.data"
    walls, import_walls, help_walls, startup_walls = [], [], [], []
    for repeat in range(repeats):
        run_dir = work / f"smoke-run-{repeat}"
        walls.append(run([*train, "experiment=smoke", f"hydra.run.dir={run_dir}"], root, env))
        import_walls.append(run([str(python), "-c", imports], root, env))
        help_walls.append(run([*train, "--help"], root, env))
        startup_walls.append(run([str(python), "-c", "pass"], root, env))
    return {
        "command": f"python -m {PACKAGE}.train experiment=smoke hydra.run.dir=DIR",
        "wall_s": summarize(walls),
        "import_s": summarize(import_walls),
        "import_command": f'python -c "{imports}"',
        "help_s": summarize(help_walls),
        "python_startup_s": summarize(startup_walls),
    }


# --- 3. loop ratio ----------------------------------------------------------------------------


def measure_loop(
    root: Path, python: Path, work: Path, device: str, repeats: int, *overrides: str
) -> dict:
    """Run ``loop_ratio.py`` with the project's python; return its JSON result."""
    out = work / f"loop-{device}{'-'.join(('', *overrides))}.json"
    command = [str(python), str(LOOP_RATIO), "--package", PACKAGE, "--device", device]
    command += ["--repeats", str(repeats), "--json", str(out), *overrides]
    run(command, root, {"PYTEST_ADDOPTS": ""})
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def measure_compile(
    root: Path, python: Path, work: Path, eager: dict[str, Any], repeats: int
) -> dict[str, Any]:
    """``compile=true`` on CPU: its step against the eager one, and the time compiling adds.

    Both steps are taken over the bare Lightning step of their own process (so machine load
    cancels), then divided; the compile time is the smoke training's wall time with
    ``compile=true`` less without.
    """
    compiled = measure_loop(root, python, work, "cpu", repeats, "compile=true")
    env = {**TERMINAL_ENV, "PYTEST_ADDOPTS": ""}
    train = [str(python), "-m", f"{PACKAGE}.train", "experiment=smoke"]
    walls: dict[str, list[float]] = {"eager": [], "compiled": []}
    for repeat in range(max(2, repeats - 1)):
        for which, extra in (("eager", []), ("compiled", ["compile=true"])):
            run_dir = work / f"compile-{which}-{repeat}"
            walls[which].append(run([*train, *extra, f"hydra.run.dir={run_dir}"], root, env))
    added = statistics.median(walls["compiled"]) - statistics.median(walls["eager"])
    return {
        "step_ratio": round(compiled["template_overhead"] / eager["template_overhead"], 3),
        "compiled_step_ms": compiled["project_step_ms"],
        "eager_step_ms": eager["project_step_ms"],
        "compile_s": round(added, 2),
        "smoke_wall_s": {which: summarize(values) for which, values in walls.items()},
    }


# --- 4. the project's own suite, on the user's path -------------------------------------------


def measure_project_suites(work: Path) -> dict[str, Any]:
    """``uv run pytest`` and ``uv run pytest -m "not slow"`` in a uv-synced default project."""
    import user_path

    stand_in = user_path.TorchStandIn.build(work / "torch-index")
    tools = user_path.tools_dir(work / "user-tools")
    answers = {**ANSWERS, "torch_backend": "cpu", "lock_dependencies": True}
    index = torch_template.derive(answers)["backend"]["index_name"]
    env = user_path.user_environment(tools, **user_path.uv_settings(stand_in, index))
    root = render(work / "uv-project" / "smoke-project", answers)
    lock_s = run(["uv", "lock"], root, env)
    sync_s = run(["uv", "sync", "--locked"], root, env)
    pytest = ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider"]
    full = run(pytest, root, env)
    fast = run([*pytest, "-m", "not slow"], root, env)
    return {
        "lock_s": round(lock_s, 1),
        "sync_s": round(sync_s, 1),
        "wall_s": round(full, 1),
        "fast_wall_s": round(fast, 1),
    }


# --- 5. the starters' data throughput ---------------------------------------------------------


def measure_throughput(work: Path) -> dict[str, Any]:
    """``data_throughput.py --quick`` in a project with every starter (a linked venv)."""
    root = render(work / "starters-project", {**ANSWERS, "starters": EVERY_STARTER})
    python = install_editable(root, work / "starters-venv")
    out = work / "throughput.json"
    command = [str(python), str(DATA_THROUGHPUT), "--package", PACKAGE, "--quick"]
    run([*command, "--json", str(out)], root, {"PYTEST_ADDOPTS": ""})
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# --- 6. test suite ----------------------------------------------------------------------------


def measure_suite() -> dict[str, Any]:
    """Run the template's whole test suite once; its wall time and summary line."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    return {
        "wall_s": round(time.perf_counter() - start, 1),
        "exit_code": proc.returncode,
        "summary": lines[-1] if lines else "",
    }


# --- the report -------------------------------------------------------------------------------


def build_report(
    *,
    render: dict[str, Any],
    smoke: dict[str, Any],
    loops: dict[str, dict[str, Any]],
    suite: dict[str, Any] | None,
    machine: dict[str, Any],
    quick: bool,
    source: dict[str, Any] | None = None,
    compiled: dict[str, Any] | None = None,
    project_suites: dict[str, Any] | None = None,
    throughput: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Headline numbers (``REQUIRED_KEYS``), targets, whether each is met, and the details."""
    cuda = loops.get("cuda")

    def overhead(loop: dict[str, Any] | None) -> float | None:
        return round(loop["template_overhead"], 3) if loop else None

    headline = {
        "render_ratio": render["ratio"],
        "render_ratio_tree": render.get("ratio_to_layout_floor"),
        "smoke_wall_s": smoke["wall_s"]["median"],
        "smoke_import_s": smoke["import_s"]["median"],
        "loop_ratio_cpu": round(loops["cpu"]["loop_ratio"], 3),
        "loop_ratio_cuda": round(cuda["loop_ratio"], 3) if cuda else None,
        "template_overhead_cpu": overhead(loops["cpu"]),
        "template_overhead_cuda": overhead(cuda),
        "compile_step_ratio_cpu": compiled["step_ratio"] if compiled else None,
        "compile_s": compiled["compile_s"] if compiled else None,
        "project_suite_wall_s": project_suites["wall_s"] if project_suites else None,
        "project_fast_suite_wall_s": project_suites["fast_wall_s"] if project_suites else None,
        "data_throughput": (
            {name: round(result["ratio"], 3) for name, result in throughput.items()}
            if throughput
            else None
        ),
        "suite_wall_s": suite["wall_s"] if suite else None,
    }
    met = {
        key: None if headline[key] is None else bool(headline[key] <= target)
        for key, target in TARGETS.items()
    }
    return {
        **headline,
        "targets": dict(TARGETS),
        "met": met,
        "quick": quick,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "source": source or {},
        "details": {
            "render": render,
            "smoke": smoke,
            "loop": loops,
            "compile": compiled,
            "project_suites": project_suites,
            "throughput": throughput,
            "suite": suite,
        },
    }


def _span(stats: dict[str, Any], unit: str = "", digits: int = 2) -> tuple[str, str]:
    median = f"{stats['median']:.{digits}f}{unit}"
    return median, f"{stats['min']:.{digits}f}-{stats['max']:.{digits}f}{unit}"


def markdown_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table: value, spread over runs, target, met."""
    details, machine, met = report["details"], report["machine"], report["met"]
    render, smoke = details["render"], details["smoke"]
    rows: list[tuple[str, str, str, str, str]] = []

    def verdict(key: str) -> str:
        return {True: "yes", False: "**no**", None: "-"}[met.get(key)]

    floor = _span(render["floor_seconds"], " s")
    rows.append((f"Copier floor: {render['files']} flat one-line files", *floor, "", ""))
    layout = _span(render["layout_floor_seconds"], " s")
    rows.append(("Copier floor with the template's file tree", *layout, "", ""))
    for name, variant in render["variants"].items():
        median, spread = _span(variant["seconds"], " s")
        ratios = f"{variant['ratio']:.2f}x flat, {variant['ratio_to_layout_floor']:.2f}x tree"
        rows.append((f"Render `{name}`", f"{median} ({ratios})", spread, "", ""))
    rows.append(
        (
            "Render ratio (all variants / flat floor; guard)",
            f"{report['render_ratio']:.2f}",
            f"worst variant {render['ratio_worst']:.2f}; "
            f"{render.get('ratio_to_layout_floor', float('nan')):.2f} over the same-tree floor",
            "<= 2.0",
            verdict("render_ratio"),
        )
    )
    rows.append(
        (
            "Smoke training, process start to exit",
            *_span(smoke["wall_s"], " s"),
            "< 20 s",
            verdict("smoke_wall_s"),
        )
    )
    rows.append(
        (
            "of which imports (`import lightning, <pkg>.train`)",
            *_span(smoke["import_s"], " s"),
            "",
            "",
        )
    )
    rows.append(("`<pkg>.train --help`", *_span(smoke["help_s"], " s"), "", ""))
    for device, loop in details["loop"].items():
        ratio = _span(loop["ratio"])
        steps = (
            f"{ratio[0]} ({loop['project_step_ms']['median']:.2f} vs "
            f"{loop['plain_step_ms']['median']:.2f} ms/step)"
        )
        rows.append(
            (
                f"Loop ratio {device} (project / plain PyTorch)",
                steps,
                ratio[1],
                "",
                "",
            )
        )
        floor = (
            f"{loop['lightning_floor_ratio']:.2f} "
            f"({loop['bare_lightning_step_ms']['median']:.2f} ms/step)"
        )
        rows.append((f"Lightning's floor {device} (bare Trainer / plain)", floor, "", "", ""))
        overheads = loop["repeats"]["template_overhead"]
        rows.append(
            (
                f"Template overhead {device} (project / bare Trainer)",
                f"{loop['template_overhead']:.3f}",
                f"{min(overheads):.3f}-{max(overheads):.3f}",
                "<= 1.05",
                verdict(f"template_overhead_{device}"),
            )
        )
    compiled = details.get("compile")
    if compiled:
        rows.append(
            (
                "`compile=true` step / eager step (CPU)",
                f"{compiled['step_ratio']:.2f}",
                f"{compiled['compiled_step_ms']['median']:.2f} vs "
                f"{compiled['eager_step_ms']['median']:.2f} ms/step",
                "",
                "",
            )
        )
        rows.append(
            (
                "Time compiling adds to the smoke training",
                f"{compiled['compile_s']:.1f} s",
                "",
                "",
                "",
            )
        )
    suites = details.get("project_suites")
    if suites:
        rows.append(
            (
                "Project suite, `uv run pytest` (default answers)",
                f"{suites['wall_s']:.1f} s",
                "",
                "<= 30 s",
                verdict("project_suite_wall_s"),
            )
        )
        rows.append(
            (
                'Project suite, `uv run pytest -m "not slow"`',
                f"{suites['fast_wall_s']:.1f} s",
                "",
                "<= 8 s",
                verdict("project_fast_suite_wall_s"),
            )
        )
    for name, result in (details.get("throughput") or {}).items():
        rows.append(
            (
                f"Data throughput `{name}` (loader / cached tensors)",
                f"{result['ratio']:.2f}",
                f"{result['loader_samples_per_s']} vs {result['direct_samples_per_s']} samples/s",
                "",
                "",
            )
        )
    suite = details["suite"]
    if suite:
        rows.append(
            (
                "Template test suite",
                f"{suite['wall_s']:.0f} s",
                suite["summary"],
                "< 600 s",
                verdict("suite_wall_s"),
            )
        )
    else:
        rows.append(("Template test suite", "not run (--quick)", "", "< 600 s", "-"))
    header = (
        "| Measure | Median | Min-max / detail | Target | Met |\n| --- | --- | --- | --- | --- |"
    )
    body = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    gpu = machine.get("gpu") or "no GPU"
    caption = (
        f"Measured {report['date']} on {machine['cpu_count']} CPU cores ({gpu}), "
        f"Python {machine['python']}, torch {machine['torch']}, lightning {machine['lightning']}, "
        f"copier {machine['copier']}{' (--quick)' if report['quick'] else ''}."
    )
    return f"{caption}\n\n{header}\n{body}\n"


def write_outputs(report: dict[str, Any], json_path: Path, markdown_path: Path) -> None:
    """Write the JSON report and the Markdown table."""
    for path in (json_path, markdown_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    markdown_path.write_text(markdown_table(report))


def isolate_copier() -> Path:
    """An empty Copier settings file, so a developer's own settings cannot change renders."""
    settings = Path(tempfile.mkdtemp(prefix="copier-settings-")) / "settings.yml"
    settings.write_text("{}\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and write the report."""
    args = parse_args(argv)
    import warnings

    warnings.filterwarnings("ignore", module="copier")  # DirtyLocalWarning and the like
    repeats = 3 if args.quick else 5
    isolate_copier()
    with tempfile.TemporaryDirectory(prefix="torch-template-bench-") as tmp:
        work = Path(tmp)
        print("render ...", flush=True)
        render = measure_render(work, repeats)
        print("smoke training ...", flush=True)
        root, python = install_default_project(work)
        smoke = measure_smoke(root, python, work, repeats)
        print("loop ratio ...", flush=True)
        loops = {"cpu": measure_loop(root, python, work, "cpu", repeats)}
        if args.device == "auto" and machine_info()["gpu"]:
            loops["cuda"] = measure_loop(root, python, work, "cuda", repeats)
        print("compile ...", flush=True)
        compiled = measure_compile(root, python, work, loops["cpu"], repeats)
        print("the project's suite (uv) ...", flush=True)
        project_suites = measure_project_suites(work)
        print("data throughput ...", flush=True)
        throughput = measure_throughput(work)
    suite = None
    if not args.quick:
        print("test suite ...", flush=True)
        suite = measure_suite()
    report = build_report(
        render=render,
        smoke=smoke,
        loops=loops,
        suite=suite,
        machine=machine_info(),
        quick=args.quick,
        source=source_state(),
        compiled=compiled,
        project_suites=project_suites,
        throughput=throughput,
    )
    write_outputs(report, args.json, args.markdown)
    print(markdown_table(report))
    print(f"JSON: {args.json}\nMarkdown: {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
