"""Check that this machine can run the project: ``python -m <package>.doctor [--json] [--strict]``.

Reports Python, the torch build (CPU or CUDA), the GPUs with their memory, the NVIDIA driver
against the minimum this variant's wheels need, cuDNN, torch's CPU threads and the BLAS,
LAPACK and OpenMP it was built with, the shared memory DataLoader workers use, the cache
folders and the settings that affect reproducibility. Prints a table, or JSON with ``--json``.
Exits 0 when healthy, 1 with a specific fix for each problem. A CUDA variant on a machine
without a GPU only warns (the project then runs on the CPU); ``--strict`` turns every warning
into a failure. ``--bench`` also measures, in a few seconds, what this machine delivers
(``bench.py``): matrix products, host-to-device copies, the configured data loader.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from typing import Any

from . import variant

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
PACKAGE = (__package__ or __name__).split(".")[0]
MIN_SHM_GIB = 1.0


@dataclass(frozen=True)
class Variant:
    """What the project was generated for (``variant.py``), as the checks need it."""

    backend: str = variant.BACKEND
    is_cuda: bool = variant.IS_CUDA
    cuda_version: str = variant.CUDA_VERSION
    min_driver: str = variant.MIN_DRIVER
    index_url: str = variant.INDEX_URL
    torch_spec: str = variant.TORCH_SPEC
    torch_min: str = variant.TORCH_MIN
    torch_max_exclusive: str = variant.TORCH_MAX_EXCLUSIVE
    python_min: str = variant.PYTHON_MIN


@dataclass(frozen=True)
class Check:
    """One line of the report: a status, what was found, and how to fix a problem."""

    name: str
    status: str
    value: str
    fix: str = ""


def gather() -> dict[str, Any]:
    """Collect the facts the checks judge (imports torch; never Lightning)."""
    from .run import environment

    return {
        "python": environment.python_info(),
        "torch": environment.torch_info(),
        "driver": environment.nvidia_driver_version(),
        "cpu": environment.cpu_backends(),
        "shm": environment.shared_memory(),
        "caches": environment.cache_dirs(),
        "env": environment.determinism_env(),
        "versions": environment.distribution_versions(),
        "host": environment.host_info(),
    }


def diagnose(facts: dict[str, Any], target: Variant | None = None) -> list[Check]:
    """Judge the facts against the variant; one ``Check`` per line of the report."""
    target = target or Variant()
    torch_facts = facts["torch"]
    return [
        _python(facts["python"]["version"], target),
        _torch_version(torch_facts["version"], target),
        _torch_build(torch_facts.get("cuda"), target),
        _gpus(torch_facts, target),
        *_gpu_archs(torch_facts, target),
        _driver(facts.get("driver"), torch_facts, target),
        _cudnn(torch_facts, target),
        *_cpu(facts.get("cpu")),
        _shm(facts.get("shm")),
        *_caches(facts["caches"]),
        *_determinism(facts["env"], target),
    ]


def exit_code(checks: list[Check], *, strict: bool = False) -> int:
    """0 when no check failed (and, with ``strict``, none warned); else 1."""
    bad = {FAIL, WARN} if strict else {FAIL}
    return 1 if any(check.status in bad for check in checks) else 0


def _version(text: str) -> tuple[int, ...]:
    """Return the leading numbers of a version: '2.13.0+cpu' -> (2, 13, 0)."""
    numbers = []
    for part in text.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def _reinstall(target: Variant) -> str:
    return (
        f"reinstall torch from {target.index_url}: `uv sync --reinstall-package torch`, or "
        f"`pip install --force-reinstall 'torch{target.torch_spec}' --index-url {target.index_url}`"
    )


def _python(found: str, target: Variant) -> Check:
    if _version(found) < _version(target.python_min):
        return Check("python", FAIL, found, f"use Python >= {target.python_min}")
    return Check("python", OK, found)


def _torch_version(found: str, target: Variant) -> Check:
    within = (
        _version(target.torch_min) <= _version(found)[:2] < _version(target.torch_max_exclusive)
    )
    if not within:
        return Check("torch", WARN, found, f"the project supports torch{target.torch_spec}")
    return Check("torch", OK, found)


def _torch_build(cuda: str | None, target: Variant) -> Check:
    build = f"CUDA {cuda}" if cuda else "CPU"
    if target.is_cuda and not cuda:
        fix = f"a CUDA {target.cuda_version} project with a CPU-only torch: {_reinstall(target)}"
        return Check("torch build", FAIL, build, fix)
    if target.is_cuda and _version(cuda or "")[:1] != _version(target.cuda_version)[:1]:
        fix = f"the project's variant is CUDA {target.cuda_version}: {_reinstall(target)}"
        return Check("torch build", WARN, build, fix)
    if not target.is_cuda and cuda:
        fix = "a CUDA build in a CPU project: `copier update --data torch_backend=cu126` to match"
        return Check("torch build", WARN, build, fix)
    return Check("torch build", OK, build)


def _gpus(torch_facts: dict[str, Any], target: Variant) -> Check:
    devices = torch_facts.get("devices") or []
    if devices:
        names = "; ".join(
            f"{d['name']} ({d['memory_gib']} GiB, sm {d['capability']})" for d in devices
        )
        return Check("gpus", OK, names)
    if not target.is_cuda:
        return Check("gpus", OK, "none (CPU variant)")
    if not torch_facts.get("cuda"):
        return Check("gpus", WARN, "none visible", "install a CUDA build of torch first (above)")
    fix = (
        "no GPU visible: the project runs on the CPU. Check `nvidia-smi`; in Docker pass "
        "`--gpus all` (NVIDIA Container Toolkit); check CUDA_VISIBLE_DEVICES"
    )
    return Check("gpus", WARN, "none visible", fix)


def _gpu_archs(torch_facts: dict[str, Any], target: Variant) -> list[Check]:
    archs = set(torch_facts.get("arch_list") or [])
    checks = []
    for device in torch_facts.get("devices") or []:
        sm = "sm_" + device["capability"].replace(".", "")
        if archs and sm not in archs:
            built = ", ".join(sorted(archs))
            fix = f"this torch build has kernels for {built} only: choose a variant for {sm}"
            checks.append(Check(f"gpu {device['index']} arch", FAIL, sm, fix))
    return checks


def _driver(found: str | None, torch_facts: dict[str, Any], target: Variant) -> Check:
    if not target.is_cuda:
        return Check("nvidia driver", INFO, found or "none (not needed)")
    if found is None:
        status = WARN if torch_facts.get("cuda_available") else INFO
        return Check("nvidia driver", status, "not found", "install the NVIDIA driver to use a GPU")
    if target.min_driver and _version(found) < _version(target.min_driver):
        fix = (
            f"CUDA {target.cuda_version} wheels need driver >= {target.min_driver}: upgrade the "
            "driver, or switch to an older CUDA variant (copier update --data torch_backend=...)"
        )
        return Check("nvidia driver", FAIL, found, fix)
    return Check("nvidia driver", OK, f"{found} (>= {target.min_driver})")


def _cudnn(torch_facts: dict[str, Any], target: Variant) -> Check:
    version = torch_facts.get("cudnn")
    if version:
        return Check("cudnn", OK, str(version))
    if target.is_cuda and torch_facts.get("cuda_available"):
        return Check("cudnn", WARN, "not available", _reinstall(target))
    return Check("cudnn", INFO, "not available (not needed on the CPU)")


def _cpu(cpu: dict[str, Any] | None) -> list[Check]:
    if not cpu:
        return []
    env = cpu.get("env") or {}
    limits = ", ".join(f"{name}={value}" for name, value in env.items() if value) or "unset"
    threads = f"intra-op {cpu['intra_op_threads']}, inter-op {cpu['inter_op_threads']}"
    return [
        Check("cpu threads", INFO, f"{threads} (OMP_NUM_THREADS/MKL_NUM_THREADS: {limits})"),
        Check(
            "blas / lapack", INFO, f"{cpu.get('blas') or 'none'} / {cpu.get('lapack') or 'none'}"
        ),
        Check(
            "openmp",
            INFO,
            f"{cpu.get('openmp') or 'not built with OpenMP'} "
            f"(parallel backend: {cpu.get('parallel_backend') or 'unknown'})",
        ),
        Check("onednn", INFO, str(cpu.get("onednn") or "not available")),
        Check("cpu capability", INFO, str(cpu.get("cpu_capability") or "unknown")),
    ]


def _shm(shm: dict[str, Any] | None) -> Check:
    if shm is None:
        return Check("shared memory", INFO, "no /dev/shm (not Linux)")
    value = f"{shm['total_gib']} GiB ({shm['free_gib']} GiB free) at {shm['path']}"
    if shm["total_gib"] < MIN_SHM_GIB:
        fix = (
            "DataLoader workers pass batches through /dev/shm: run Docker with --shm-size=2g "
            "(compose: shm_size), or use data.num_workers=0"
        )
        return Check("shared memory", WARN, value, fix)
    return Check("shared memory", OK, value)


def _caches(caches: dict[str, dict[str, Any]]) -> list[Check]:
    checks = []
    for variable, cache in caches.items():
        value = cache["path"] + ("" if cache["set"] else " (default)")
        if cache["writable"]:
            checks.append(Check(variable, OK, value))
        else:
            checks.append(Check(variable, WARN, value, f"set {variable} to a writable folder"))
    return checks


def _determinism(env: dict[str, str | None], target: Variant) -> list[Check]:
    hashseed = env.get("PYTHONHASHSEED")
    checks = [Check("PYTHONHASHSEED", INFO, hashseed if hashseed is not None else "unset (random)")]
    if target.is_cuda:
        cublas = env.get("CUBLAS_WORKSPACE_CONFIG")
        shown = cublas or "unset (set at run time by deterministic=true)"
        checks.append(Check("CUBLAS_WORKSPACE_CONFIG", INFO, shown))
    return checks


def render_table(checks: list[Check], target: Variant) -> str:
    """Format the report for people: a line per check, each fix indented below its line."""
    width = max(len(check.name) for check in checks)
    lines = [f"{PACKAGE} doctor: variant {target.backend} (torch{target.torch_spec})", ""]
    for check in checks:
        lines.append(f"  {check.status.upper():<4}  {check.name:<{width}}  {check.value}")
        if check.fix:
            lines.append(f"        {'':<{width}}  fix: {check.fix}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {PACKAGE}.doctor",
        description="Check that this machine can run the project (torch build, GPU, driver).",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on warnings too (e.g. a CUDA variant on a machine without a GPU)",
    )
    parser.add_argument(
        "--bench",
        action="store_true",
        help="also measure matmul throughput, host-to-device bandwidth and the configured "
        "data loader (a few seconds)",
    )
    parser.add_argument(
        "--bench-seconds",
        type=float,
        default=1.0,
        help="time spent on each measurement of --bench (default 1.0)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        help="Hydra overrides of the training config for --bench's loader (data.batch_size=512)",
    )
    args = parser.parse_args(argv)
    target = Variant()
    facts = gather()
    checks = diagnose(facts, target)
    code = exit_code(checks, strict=args.strict)
    measured = None
    if args.bench:
        from . import bench

        measured = bench.run(seconds=args.bench_seconds, overrides=args.overrides)
    if args.json:
        report = {
            "healthy": code == 0,
            "strict": args.strict,
            "variant": asdict(target),
            "checks": [asdict(check) for check in checks],
            "facts": facts,
        }
        if measured is not None:
            report["bench"] = [asdict(result) for result in measured]
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render_table(checks, target))
        if measured is not None:
            from .bench import render_bench

            print("\n" + render_bench(measured))
        print("\nhealthy" if code == 0 else "\nproblems found: see the fixes above")
    return code


def cli() -> None:
    """Console-script entry point (``<project>-doctor``)."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
