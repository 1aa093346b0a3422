"""The GPU check: a CUDA variant's GPU tests, smoke training and loop numbers on one GPU.

Run by ``benchmarks/gpu.sh`` (which installs the CUDA build of torch first), or directly with
an interpreter that has it::

    python benchmarks/gpu_check.py [--backend cu126] [--json PATH] [--markdown PATH]

1. Render the CUDA variant and install it editable in a venv linked to this interpreter's
   packages (the CUDA torch installed here; nothing resolved again).
2. Its GPU tests (``pytest -m gpu``) and the smoke training on the GPU (``trainer=gpu``).
3. ``loop_ratio.py --device cuda``: the loop ratio against plain PyTorch, the template
   overhead against a bare Lightning Trainer, GPU utilisation; then again with
   ``trainer.precision=bf16-mixed`` for the bf16 step time.

The result goes to ``benchmarks/results/gpu.json`` and a Markdown table
(``benchmarks/results/gpu.md``), the GPU table of ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TEMPLATE_ROOT / d) for d in ("extensions", "scripts", "benchmarks")]

from local_project import SMOKE_ANSWERS, install_editable, render  # noqa: E402

RESULTS = TEMPLATE_ROOT / "benchmarks" / "results"
LOOP_RATIO = TEMPLATE_ROOT / "benchmarks" / "loop_ratio.py"
PACKAGE = SMOKE_ANSWERS["package_name"]
# Rich draws its progress bar as in a terminal, so its cost counts (as in run.py).
TERMINAL_ENV = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "PYTEST_ADDOPTS": ""}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--backend", default="cu126", help="the CUDA variant to render")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each loop")
    parser.add_argument("--json", type=Path, default=RESULTS / "gpu.json")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "gpu.md")
    return parser.parse_args(argv)


def timed_run(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``command``; return its wall time and the finished process (not checked)."""
    import os

    start = time.perf_counter()
    proc = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **TERMINAL_ENV},
        check=False,
    )
    return time.perf_counter() - start, proc


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The last non-empty line a process printed (pytest's summary)."""
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def loop(python: Path, root: Path, work: Path, repeats: int, *overrides: str) -> dict[str, Any]:
    """``loop_ratio.py --device cuda`` with ``overrides``; its JSON result."""
    out = work / f"loop{'-'.join(('', *overrides))}.json".replace("=", "_")
    command = [str(python), str(LOOP_RATIO), "--package", PACKAGE, "--device", "cuda"]
    command += ["--repeats", str(repeats), "--json", str(out), *overrides]
    _, proc = timed_run(command, root)
    if proc.returncode != 0:
        raise RuntimeError(f"loop_ratio.py failed: {last_line(proc)}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def check(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Render, test, train and measure; return the report."""
    import torch

    if not torch.cuda.is_available():
        raise SystemExit(
            "gpu_check.py: torch sees no CUDA GPU (torch.cuda.is_available() is false)"
        )
    started = time.perf_counter()
    root = render(work / "project", {**SMOKE_ANSWERS, "torch_backend": args.backend})
    python = install_editable(root, work / "venv")
    tests_s, tests = timed_run([str(python), "-m", "pytest", "-q", "-m", "gpu", "-rs"], root)
    train = [str(python), "-m", f"{PACKAGE}.train", "experiment=smoke", "trainer=gpu"]
    smoke_s, smoke = timed_run([*train, f"hydra.run.dir={work / 'smoke'}"], root)
    fp32 = loop(python, root, work, args.repeats)
    bf16 = loop(python, root, work, args.repeats, "trainer.precision=bf16-mixed")
    utilization = fp32.get("gpu_utilization_percent") or {}
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "backend": args.backend,
        "gpu_tests": {
            "exit_code": tests.returncode,
            "summary": last_line(tests),
            "wall_s": round(tests_s, 1),
        },
        "smoke_training": {"exit_code": smoke.returncode, "wall_s": round(smoke_s, 1)},
        "loop_ratio_cuda": round(fp32["loop_ratio"], 3),
        "lightning_floor_ratio_cuda": round(fp32["lightning_floor_ratio"], 3),
        "template_overhead_cuda": round(fp32["template_overhead"], 3),
        "step_ms": fp32["project_step_ms"]["median"],
        "bf16_step_ms": bf16["project_step_ms"]["median"],
        "bf16_template_overhead": round(bf16["template_overhead"], 3),
        "gpu_utilization_percent": {k: v["median"] for k, v in utilization.items()},
        "total_s": round(time.perf_counter() - started, 1),
        "details": {"loop_fp32": fp32, "loop_bf16": bf16},
    }


def markdown(report: dict[str, Any]) -> str:
    """The GPU table of docs/performance.md."""
    tests, smoke = report["gpu_tests"], report["smoke_training"]
    used = report["gpu_utilization_percent"]
    rows = [
        ("GPU tests (`pytest -m gpu`)", tests["summary"], f"{tests['wall_s']} s"),
        ("Smoke training on the GPU", f"exit {smoke['exit_code']}", f"{smoke['wall_s']} s"),
        ("Loop ratio (project / plain PyTorch)", f"{report['loop_ratio_cuda']:.2f}", ""),
        (
            "Lightning's floor (bare Trainer / plain)",
            f"{report['lightning_floor_ratio_cuda']:.2f}",
            "",
        ),
        (
            "Template overhead (project / bare Trainer)",
            f"{report['template_overhead_cuda']:.3f}",
            "",
        ),
        ("Step, fp32", f"{report['step_ms']:.2f} ms", ""),
        ("Step, bf16-mixed", f"{report['bf16_step_ms']:.2f} ms", ""),
        (
            "GPU utilisation (project, plain)",
            f"{used.get('project', float('nan')):.0f}%, {used.get('plain', float('nan')):.0f}%",
            "",
        ),
    ]
    header = "| Measure | Value | Wall |\n| --- | --- | --- |"
    body = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    caption = (
        f"Measured {report['date']} on {report['gpu']} (torch {report['torch']}, CUDA "
        f"{report['cuda']}, the `{report['backend']}` variant), {report['total_s']} s in all."
    )
    return f"{caption}\n\n{header}\n{body}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the check; write the JSON report and the Markdown table."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        report = check(args, Path(tmp))
    for path in (args.json, args.markdown):
        path.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    args.markdown.write_text(markdown(report))
    print(markdown(report))
    failed = report["gpu_tests"]["exit_code"] or report["smoke_training"]["exit_code"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
