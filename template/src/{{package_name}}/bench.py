"""What this machine delivers, measured in a few seconds: ``python -m <package>.doctor --bench``.

- **Matrix products**: float32 throughput on the CPU or the GPU; on a GPU also TF32 (float32
  on tensor cores) and bfloat16, each against the device's nominal dense peak when it is
  known (``NOMINAL_TFLOPS``, from NVIDIA's datasheets). A far lower fraction than your
  neighbours' on the same GPU points at the install, clocks, or a shared device.
- **Host-to-device bandwidth**: copies of 256 MiB from pinned and from ordinary (pageable)
  host memory to the GPU; on a machine without one, a host-memory copy instead.
- **The data loader**: the training loader of the datamodule that the training config names
  (composed as ``train.yaml``, with any overrides, and built through the registry): samples
  and batches per second, and how long the first batch took (worker start-up included).

Each measurement runs for about ``seconds`` after a warm-up. Numbers vary from run to run
by a few percent, more on a busy machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

PACKAGE = (__package__ or __name__).split(".")[0]
MIB = 2**20
COPY_BYTES = 256 * MIB
CPU_MATMUL_SIZE = 1024
GPU_MATMUL_SIZE = 8192

# Nominal dense peaks in TFLOPS (without sparsity): (substrings of torch's device name, peaks).
# Sources: the NVIDIA datasheets of A100 (2021), H100 (2023; SXM, PCIe and NVL), H200 (2024),
# L4 (2023), L40S (2023), T4 (2019) and V100 (2020). The first entry whose substrings all occur
# in the name wins, so the more specific names come first.
NOMINAL_TFLOPS: list[tuple[tuple[str, ...], dict[str, float]]] = [
    (("H200", "NVL"), {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5}),
    (("H200",), {"fp32": 67.0, "tf32": 494.5, "bf16": 989.5}),
    (("H100", "NVL"), {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5}),
    (("H100", "PCIe"), {"fp32": 51.0, "tf32": 378.0, "bf16": 756.5}),
    (("H100",), {"fp32": 67.0, "tf32": 494.5, "bf16": 989.5}),
    (("A100",), {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0}),
    (("L40S",), {"fp32": 91.6, "tf32": 183.0, "bf16": 366.5}),
    (("L4",), {"fp32": 30.3, "tf32": 60.0, "bf16": 121.0}),
    (("T4",), {"fp32": 8.1}),
    (("V100", "PCIE"), {"fp32": 14.0}),
    (("V100",), {"fp32": 15.7}),
]


@dataclass(frozen=True)
class Result:
    """One measurement: its value and unit, the nominal peak when known, and how it was made."""

    name: str
    value: float | None
    unit: str
    peak: float | None = None
    detail: str = ""

    @property
    def fraction(self) -> float | None:
        """Return the measured share of the nominal peak (None when no peak is known)."""
        if self.value is None or not self.peak:
            return None
        return self.value / self.peak


def nominal_peaks(device_name: str) -> dict[str, float]:
    """Return the nominal dense TFLOPS of a GPU by its name; empty when it is not in the table."""
    for parts, peaks in NOMINAL_TFLOPS:
        if all(part in device_name for part in parts):
            return dict(peaks)
    return {}


def _timed(
    work: Callable[[], object], seconds: float, sync: Callable[[], None]
) -> tuple[int, float]:
    """Run ``work`` repeatedly for about ``seconds`` after a warm-up; return (runs, seconds)."""
    work()
    sync()
    runs, start = 0, time.perf_counter()
    while True:
        for _ in range(4):
            work()
        runs += 4
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return runs, elapsed


def _sync(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def matmul(
    device: torch.device, dtype: torch.dtype, seconds: float, *, tf32: bool = False
) -> float:
    """Return the TFLOPS of square matrix products of ``dtype`` on ``device``."""
    size = GPU_MATMUL_SIZE if device.type == "cuda" else CPU_MATMUL_SIZE
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    previous = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        runs, elapsed = _timed(lambda: a @ b, seconds, _sync(device))
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous
    return 2 * size**3 * runs / elapsed / 1e12


def copy_bandwidth(device: torch.device, seconds: float, *, pinned: bool) -> float:
    """Return GB/s of copies from host memory to ``device`` (host to host on the CPU)."""
    count = COPY_BYTES // 4
    source = torch.empty(count, dtype=torch.float32, pin_memory=pinned)
    target = torch.empty(count, dtype=torch.float32, device=device)
    runs, elapsed = _timed(
        lambda: target.copy_(source, non_blocking=pinned), seconds, _sync(device)
    )
    return COPY_BYTES * runs / elapsed / 1e9


def _batch_size(batch: Any) -> int:
    """Return the number of samples in a batch: the first dimension of its first tensor."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    if isinstance(batch, dict):
        return _batch_size(next(iter(batch.values())))
    if isinstance(batch, Sequence) and batch:
        return _batch_size(batch[0])
    return 1


def _epochs(loader: Iterable[Any], limit: int = 1000) -> Iterator[Any]:
    """Yield the loader's batches epoch after epoch (a short epoch times too little alone)."""
    for _ in range(limit):
        yield from loader


def loader_throughput(overrides: Sequence[str], seconds: float) -> Result:
    """Time the training loader of the datamodule the training config names."""
    from hydra import compose, initialize_config_module

    from .run.builders import build_datamodule

    with initialize_config_module(version_base="1.3", config_module=f"{PACKAGE}.configs"):
        cfg = compose(config_name="train", overrides=list(overrides))
    datamodule = build_datamodule(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    start = time.perf_counter()
    first_at = last_at = 0.0
    batches = first_samples = samples = 0
    for batch in _epochs(datamodule.train_dataloader()):
        last_at = time.perf_counter()
        batches += 1
        if batches == 1:
            first_at, first_samples = last_at, _batch_size(batch)
            continue
        samples += _batch_size(batch)
        if last_at - first_at >= seconds:
            break
    where = f"data.name={cfg.data.name}"
    if batches == 0:
        return Result("data loader (training)", None, "samples/s", None, f"{where}: no batches")
    first_ms = (first_at - start) * 1e3
    if batches == 1:  # a single batch: its time is all there is
        rate = first_samples / max(first_at - start, 1e-9)
    else:
        rate = samples / max(last_at - first_at, 1e-9)
    per_batch = rate * (batches - 1) / samples if samples else 0.0
    detail = f"{where}: {batches} batches, {per_batch:.0f} batches/s; first batch {first_ms:.0f} ms"
    return Result("data loader (training)", rate, "samples/s", None, detail)


def run(seconds: float = 1.0, overrides: Sequence[str] = ()) -> list[Result]:
    """Measure everything this machine has: matrix products, copies, the data loader."""
    results: list[Result] = []
    if torch.cuda.is_available():
        device = torch.device("cuda", torch.cuda.current_device())
        name = torch.cuda.get_device_name(device)
        peaks = nominal_peaks(name)
        where = f"{name}, {GPU_MATMUL_SIZE}x{GPU_MATMUL_SIZE}"
        results.append(
            Result(
                "matmul fp32",
                matmul(device, torch.float32, seconds),
                "TFLOPS",
                peaks.get("fp32"),
                where,
            )
        )
        results.append(
            Result(
                "matmul tf32",
                matmul(device, torch.float32, seconds, tf32=True),
                "TFLOPS",
                peaks.get("tf32"),
                where,
            )
        )
        if torch.cuda.is_bf16_supported():
            results.append(
                Result(
                    "matmul bf16",
                    matmul(device, torch.bfloat16, seconds),
                    "TFLOPS",
                    peaks.get("bf16"),
                    where,
                )
            )
        for pinned in (True, False):
            memory = "pinned" if pinned else "pageable"
            results.append(
                Result(
                    f"host to device ({memory})",
                    copy_bandwidth(device, seconds, pinned=pinned),
                    "GB/s",
                    None,
                    f"{COPY_BYTES // MIB} MiB copies to {name}",
                )
            )
    else:
        cpu = torch.device("cpu")
        threads = torch.get_num_threads()
        results.append(
            Result(
                "matmul fp32",
                matmul(cpu, torch.float32, seconds),
                "TFLOPS",
                None,
                f"CPU, {threads} threads, {CPU_MATMUL_SIZE}x{CPU_MATMUL_SIZE}; no nominal peak",
            )
        )
        results.append(Result("host to device", None, "GB/s", None, "no GPU"))
        results.append(
            Result(
                "host memory copy",
                copy_bandwidth(cpu, seconds, pinned=False),
                "GB/s",
                None,
                f"{COPY_BYTES // MIB} MiB copies in host memory",
            )
        )
    results.append(loader_throughput(overrides, seconds))
    return results


def render_bench(results: list[Result]) -> str:
    """Format the measurements for people: one line each, with the share of the peak."""
    width = max(len(result.name) for result in results)
    lines = ["bench:"]
    for result in results:
        if result.value is None:
            shown = "n/a"
        elif result.value >= 100:
            shown = f"{result.value:,.0f} {result.unit}"
        else:
            shown = f"{result.value:.3g} {result.unit}"
        if result.fraction is not None:
            shown += f" ({result.fraction:.0%} of {result.peak:g} nominal)"
        detail = f"  [{result.detail}]" if result.detail else ""
        lines.append(f"  {result.name:<{width}}  {shown}{detail}")
    return "\n".join(lines)
