"""Check that this machine can run the project: ``python -m <package>.doctor [--json] [--strict]``.

Reports Python, the torch build (CPU, CUDA, ROCm or XPU), the GPUs with their memory and
architecture, the NVIDIA driver against the minimum this variant's wheels need, the host's ROCm
against the wheels' HIP version (where amd-smi or rocm-smi is installed), Intel GPUs, Apple's
MPS, cuDNN, torch's CPU threads and the BLAS, LAPACK and OpenMP it was built with, the shared
memory DataLoader workers use, the cache folders and the settings that affect reproducibility.
Prints a table, or JSON with ``--json``. Exits 0 when healthy, 1 with a specific fix for each
problem. A GPU variant on a machine without a GPU only warns (the project then runs on the
CPU); ``--strict`` turns every warning into a failure. ``--bench`` also measures, in a few
seconds, what this machine delivers (``bench.py``): matrix products, host-to-device copies,
the configured data loader.
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
KIND_NAMES = {"cpu": "CPU", "cuda": "CUDA", "rocm": "ROCm", "xpu": "XPU"}
INTEL_DRIVER_URL = (
    "https://www.intel.com/content/www/us/en/developer/articles/tool/"
    "pytorch-prerequisites-for-intel-gpu.html"
)


@dataclass(frozen=True)
class Variant:
    """What the project was generated for (``variant.py``), as the checks need it."""

    backend: str = variant.BACKEND
    kind: str = variant.KIND
    cuda_version: str = variant.CUDA_VERSION
    rocm_version: str = variant.ROCM_VERSION
    min_driver: str = variant.MIN_DRIVER
    index_url: str = variant.INDEX_URL
    torch_spec: str = variant.TORCH_SPEC
    torch_min: str = variant.TORCH_MIN
    torch_max_exclusive: str = variant.TORCH_MAX_EXCLUSIVE
    python_min: str = variant.PYTHON_MIN

    @property
    def is_gpu(self) -> bool:
        """Whether the variant's wheels target a GPU (CUDA, ROCm or XPU)."""
        return self.kind != "cpu"

    @property
    def build(self) -> str:
        """The variant's build as the report names it: 'CUDA 12.6', 'ROCm 7.2', 'XPU', 'CPU'."""
        version = {"cuda": self.cuda_version, "rocm": self.rocm_version}.get(self.kind, "")
        return f"{KIND_NAMES[self.kind]} {version}".strip()


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
        "amd": environment.amd_host(),
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
        _torch_build(torch_facts, target),
        _gpus(torch_facts, target),
        *_gpu_archs(torch_facts),
        *_driver(facts, target),
        *_xpu(torch_facts, target),
        _mps(torch_facts, facts["env"]),
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


def build_of(torch_facts: dict[str, Any]) -> tuple[str, str]:
    """Return the kind of a torch build and its version: ('rocm', '7.2.53211'), ('cpu', '')."""
    for kind in ("hip", "cuda", "xpu"):
        version = torch_facts.get(kind)
        if version:
            return ("rocm" if kind == "hip" else kind), str(version)
    return "cpu", ""


def _backend_for(kind: str, version: str) -> str:
    """Return the variant a build of this kind and version matches, for ``copier update``."""
    numbers = _version(version)
    if kind == "cuda" and len(numbers) >= 2:
        return f"cu{numbers[0]}{numbers[1]}"
    if kind == "rocm" and len(numbers) >= 2:
        return f"rocm{numbers[0]}.{numbers[1]}"
    return kind


def _torch_build(torch_facts: dict[str, Any], target: Variant) -> Check:
    kind, version = build_of(torch_facts)
    build = f"{KIND_NAMES[kind]} {version}".strip()
    if kind != target.kind and target.is_gpu:
        problem = "CPU-only" if kind == "cpu" else f"{KIND_NAMES[kind]}"
        fix = f"a {target.build} project with a {problem} torch: {_reinstall(target)}"
        return Check("torch build", FAIL, build, fix)
    if kind != target.kind:
        fix = (
            f"a {KIND_NAMES[kind]} build in a CPU project: "
            f"`copier update --trust --defaults --data torch_backend={_backend_for(kind, version)}`"
            " to match"
        )
        return Check("torch build", WARN, build, fix)
    wanted = {"cuda": (target.cuda_version, 1), "rocm": (target.rocm_version, 2)}.get(kind)
    if wanted and _version(version)[: wanted[1]] != _version(wanted[0])[: wanted[1]]:
        fix = f"the project's variant is {target.build}: {_reinstall(target)}"
        return Check("torch build", WARN, build, fix)
    return Check("torch build", OK, build)


def _gpus(torch_facts: dict[str, Any], target: Variant) -> Check:
    devices = torch_facts.get("devices") or []
    if devices:
        names = "; ".join(f"{d['name']} ({d['memory_gib']} GiB, {_arch(d)})" for d in devices)
        return Check("gpus", OK, names)
    if target.kind in ("cpu", "xpu"):  # Intel GPUs have their own line
        return Check("gpus", OK, f"none ({target.build} variant)")
    if build_of(torch_facts)[0] != target.kind:
        return Check("gpus", WARN, "none visible", f"install a {target.build} build first (above)")
    if target.kind == "rocm":
        fix = (
            "no AMD GPU visible: the project runs on the CPU. Check `amd-smi list` (or "
            "`rocm-smi`) and that your user is in the render and video groups; in Docker pass "
            "--device /dev/kfd --device /dev/dri --group-add video --group-add $RENDER_GID "
            "(the host's render group id); check HIP_VISIBLE_DEVICES"
        )
    else:
        fix = (
            "no GPU visible: the project runs on the CPU. Check `nvidia-smi`; in Docker pass "
            "`--gpus all` (NVIDIA Container Toolkit); check CUDA_VISIBLE_DEVICES"
        )
    return Check("gpus", WARN, "none visible", fix)


def _arch(device: dict[str, Any]) -> str:
    """Return a device's architecture as the wheels name it (sm_90, gfx942)."""
    return str(device.get("arch") or "sm_" + device["capability"].replace(".", ""))


def _gpu_archs(torch_facts: dict[str, Any]) -> list[Check]:
    archs = set(torch_facts.get("arch_list") or [])
    checks = []
    for device in torch_facts.get("devices") or []:
        arch = _arch(device)
        if archs and arch not in archs:
            built = ", ".join(sorted(archs))
            fix = f"this torch build has kernels for {built} only: choose a variant for {arch}"
            checks.append(Check(f"gpu {device['index']} arch", FAIL, arch, fix))
    return checks


def _driver(facts: dict[str, Any], target: Variant) -> list[Check]:
    if target.kind == "rocm":
        return [_rocm_host(facts.get("amd") or {}, facts["torch"], target)]
    if target.kind == "cuda":
        return [_nvidia_driver(facts.get("driver"), facts["torch"], target)]
    return [Check("nvidia driver", INFO, facts.get("driver") or "none (not needed)")]


def _nvidia_driver(found: str | None, torch_facts: dict[str, Any], target: Variant) -> Check:
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


def _rocm_host(amd: dict[str, Any], torch_facts: dict[str, Any], target: Variant) -> Check:
    """Judge the host's ROCm (amd-smi, rocm-smi) against the wheels' HIP version."""
    hip = torch_facts.get("hip") or ""
    wheels = f"HIP {hip}" if hip else f"ROCm {target.rocm_version} wheels"
    host = amd.get("rocm")
    if not amd.get("tool"):
        value = f"no amd-smi or rocm-smi; {wheels} bring ROCm's user space"
        fix = f"the host needs the AMD GPU driver: {target.min_driver}"
        return Check("rocm host", INFO, value, fix)
    if not host:
        driver = amd.get("driver") or "unknown"
        return Check("rocm host", INFO, f"amdgpu driver {driver} ({amd['tool']}); {wheels}")
    wheel_version = _version(hip or target.rocm_version)[:2]
    if _version(host)[:2] < wheel_version:
        fix = (
            f"the host's ROCm {host} is older than the wheels' {wheels}: upgrade the AMD GPU "
            f"driver ({target.min_driver}), or switch to a ROCm variant no newer than the host's "
            "(copier update --trust --defaults --data torch_backend=rocmX.Y)"
        )
        return Check("rocm host", WARN, f"ROCm {host} ({amd['tool']})", fix)
    return Check("rocm host", OK, f"ROCm {host} ({amd['tool']}), {wheels}")


def _xpu(torch_facts: dict[str, Any], target: Variant) -> list[Check]:
    devices = torch_facts.get("xpu_devices") or []
    if devices:
        names = "; ".join(f"{d['name']} ({d['memory_gib']} GiB)" for d in devices)
        hint = "" if target.kind != "xpu" else " (train on it with trainer=xpu)"
        return [Check("intel gpus", OK, names + hint)]
    if target.kind != "xpu":
        return []
    if not torch_facts.get("xpu"):
        return [Check("intel gpus", WARN, "none visible", "install the XPU build of torch (above)")]
    fix = (
        "torch.xpu.is_available() is false: the project runs on the CPU. Install the Intel GPU "
        f"driver ({INTEL_DRIVER_URL}); in Docker pass --device /dev/dri --group-add $RENDER_GID "
        "(the host's render group id), and the image needs Intel's GPU user-space driver "
        "(Intel's compute-runtime packages)"
    )
    return [Check("intel gpus", WARN, "none visible", fix)]


def _mps(torch_facts: dict[str, Any], env: dict[str, str | None]) -> Check:
    if not torch_facts.get("mps_built"):
        return Check("mps", INFO, "not in this torch build (Apple silicon Macs only)")
    if not torch_facts.get("mps_available"):
        fix = "MPS needs Apple silicon and macOS 14 or later; training runs on the CPU"
        return Check("mps", INFO, "built, not available", fix)
    fallback = env.get("PYTORCH_ENABLE_MPS_FALLBACK")
    if fallback == "1":
        return Check("mps", OK, "available (accelerator=auto trains on it; CPU fallback on)")
    fix = (
        "operations MPS lacks raise NotImplementedError: export PYTORCH_ENABLE_MPS_FALLBACK=1 "
        "to run them on the CPU (slower), or pin the CPU with trainer=cpu"
    )
    return Check("mps", INFO, "available (accelerator=auto trains on it)", fix)


def _cudnn(torch_facts: dict[str, Any], target: Variant) -> Check:
    version = torch_facts.get("cudnn")
    if version:
        return Check("cudnn", OK, str(version))
    if target.kind == "cuda" and torch_facts.get("cuda_available"):
        return Check("cudnn", WARN, "not available", _reinstall(target))
    return Check("cudnn", INFO, "not available (not needed here)")


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
    if target.kind == "cuda":
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
        help="fail on warnings too (e.g. a GPU variant on a machine without a GPU)",
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
