"""Step time of a rendered project's training loop against a plain PyTorch loop, in one process.

Run it with the rendered project's Python (the project installed there)::

    python benchmarks/loop_ratio.py --package smoke_project [--device auto|cpu|cuda] [--json PATH]

- The *project* loop is the project's own ``train()`` on its default configs (model, batch size,
  trainer, callbacks, logger), for one epoch of ``warmup + steps`` batches, with
  ``step_timer.StepTimer`` added to its callbacks. Each timed step includes fetching the batch,
  forward, backward, the optimizer step, logging, the progress bar and every callback hook.
- The *plain* loop is what one writes without a framework: the same model with the same initial
  weights, a fresh optimizer of the same class and settings, the same training rows held in
  memory as two tensors and indexed with a shuffled index per batch, then forward,
  cross-entropy, ``backward()``, ``optimizer.step()``, ``zero_grad()``.
- The *bare Lightning* loop is Lightning's floor for the same work: a ``Trainer`` with no logger,
  progress bar, checkpointing, model summary or callback but the step timer, fitting a
  LightningModule whose step is the plain loop's (forward, cross-entropy; the same model,
  weights and optimizer) on the project's own DataLoader. ``lightning_floor_ratio`` (bare /
  plain) is what any Lightning loop costs for this model; the rest of ``loop_ratio`` is what
  the project adds (callbacks, logger, progress bar, epoch metrics): ``template_overhead`` is
  the project's step over the bare Lightning step, per repeat, and its median.

The three alternate ``--repeats`` times, so a busy machine slows them alike. The ratio
(project / plain) is the framework's cost per step; it compares times from one process, so it
means the same on fast and slow machines. On CPU both loops run on one torch thread unless
``--threads`` says otherwise: the small default model is fastest on one (as in
``experiment=smoke``), and other work on the machine then disturbs the measurement least. Rich
draws its progress bar as in a terminal (``TTY_COMPATIBLE=1``), so the bar's cost counts. The
result is printed as JSON, and written to ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Rich decides once, at import, whether it draws: draw as in a terminal unless told otherwise.
os.environ.setdefault("TTY_COMPATIBLE", "1")
os.environ.setdefault("TTY_INTERACTIVE", "1")

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule, Trainer
from step_timer import StepTimer, gpu_utilization

DEFAULT_WARMUP = 20
DEFAULT_STEPS = 200
DEFAULT_REPEATS = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--package", required=True, help="the rendered project's import name")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="untimed first steps")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="runs of each loop")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads, through the project's cpu_threads (0: the project's default)",
    )
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides of the train config")
    return parser.parse_args(argv)


def resolve_device(device: str) -> str:
    """``auto`` is ``cuda`` when torch sees a GPU, else ``cpu``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA GPU")
    return device


def compose(args: argparse.Namespace, output_dir: Path) -> Any:
    """The project's training config with only what the measurement needs overridden.

    One epoch of ``warmup + steps + 1`` training batches (enough samples for them), one
    validation batch, no test, the device, and the step timer among the callbacks.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    config_module = f"{args.package}.configs"
    with initialize_config_module(version_base="1.3", config_module=config_module):
        defaults = hydra_compose(config_name="train", overrides=list(args.overrides))
    data = defaults.data
    batches = args.warmup + args.steps + 1
    train_fraction = 1.0 - float(data.val_fraction) - float(data.test_fraction)
    n_samples = max(
        int(data.n_samples), math.ceil((batches + 1) * data.batch_size / train_fraction)
    )
    device = {
        "cpu": ["trainer.accelerator=cpu", "trainer.devices=1", "trainer.precision=32-true"],
        "cuda": ["trainer.accelerator=gpu", "trainer.devices=1"],
    }[args.device]
    threads = [f"cpu_threads={args.threads}"] if args.threads > 0 else []
    timer = f"{{_target_:step_timer.StepTimer,warmup:{args.warmup},steps:{args.steps}}}"
    overrides = [
        f"paths.output_dir={output_dir}",
        f"paths.log_dir={output_dir}",
        f"data.n_samples={n_samples}",
        "trainer.max_epochs=1",
        f"++trainer.limit_train_batches={batches}",
        "++trainer.limit_val_batches=1",
        "test=false",
        *device,
        *threads,
        *args.overrides,
        f"++callbacks.step_timer={timer}",
    ]
    with initialize_config_module(version_base="1.3", config_module=config_module):
        return hydra_compose(config_name="train", overrides=overrides)


def project_loop(args: argparse.Namespace, cfg: Any) -> StepTimer:
    """Run the project's ``train(cfg)``; return its step timer."""
    train = importlib.import_module(f"{args.package}.train").train
    StepTimer.latest = None
    train(cfg)
    timer = StepTimer.latest
    if timer is None or timer.seconds is None:
        raise RuntimeError("the project loop ran fewer batches than warmup + steps")
    return timer


def training_rows(args: argparse.Namespace, cfg: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ``(features, labels)`` row of the project's training DataLoader, as two tensors."""
    builders = importlib.import_module(f"{args.package}.run.builders")
    datamodule = builders.build_datamodule(cfg.data)
    datamodule.setup("fit")
    features, labels = zip(*datamodule.train_dataloader(), strict=True)
    return torch.cat(features), torch.cat(labels)


def same_model(args: argparse.Namespace, cfg: Any, timer: StepTimer) -> torch.nn.Module:
    """A new instance of the project's model with the initial weights of its measured run."""
    builders = importlib.import_module(f"{args.package}.run.builders")
    model: torch.nn.Module = builders.build_model(cfg.model)
    model.load_state_dict(timer.initial_state)
    return model


def same_optimizer(model: torch.nn.Module, like: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """A fresh optimizer of the class and settings of ``like`` over ``model``'s parameters."""
    accepted = inspect.signature(type(like)).parameters
    settings = {key: value for key, value in like.defaults.items() if key in accepted}
    return type(like)(model.parameters(), **settings)


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager[Any]:
    """The mixed-precision context that the project's Lightning precision setting implies."""
    if precision.startswith("bf16"):
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    if precision.startswith("16"):
        return torch.autocast(device_type=device, dtype=torch.float16)
    return contextlib.nullcontext()


def shuffled_batches(
    features: torch.Tensor, labels: torch.Tensor, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless shuffled batches: one index tensor per batch into the in-memory tensors."""
    generator = torch.Generator().manual_seed(0)
    while True:
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            rows = order[start : start + batch_size]
            yield features[rows], labels[rows]


def plain_loop(
    args: argparse.Namespace,
    cfg: Any,
    timer: StepTimer,
    rows: tuple[torch.Tensor, torch.Tensor],
    precision: str,
) -> tuple[float, float | None]:
    """Seconds per step of the plain loop, and the GPU utilisation at its end (CUDA only)."""
    assert timer.optimizer is not None
    device = timer.device
    model = same_model(args, cfg, timer)
    model.to(device).train()
    optimizer = same_optimizer(model, timer.optimizer)
    batches = shuffled_batches(*rows, batch_size=int(cfg.data.batch_size))
    on_gpu = device.type == "cuda"
    start = 0.0
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            if on_gpu:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        x, y = next(batches)
        if on_gpu:
            x, y = x.pin_memory(), y.pin_memory()
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device.type, precision):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    utilization = gpu_utilization() if on_gpu else None
    if on_gpu:
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / args.steps, utilization


class BareModule(LightningModule):
    """The plain loop's step as a LightningModule: forward and cross-entropy, nothing else."""

    def __init__(self, model: torch.nn.Module, like: torch.optim.Optimizer) -> None:
        super().__init__()
        self.model = model
        self.like = like

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> Any:
        """Return the batch's cross-entropy."""
        x, y = batch
        return F.cross_entropy(self.model(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """A fresh optimizer like the project's."""
        return same_optimizer(self.model, self.like)


def bare_lightning_loop(
    args: argparse.Namespace, cfg: Any, timer: StepTimer, precision: str
) -> float:
    """Seconds per step of a bare Lightning ``Trainer`` on the project's model and DataLoader."""
    builders = importlib.import_module(f"{args.package}.run.builders")
    model = same_model(args, cfg, timer)
    assert timer.optimizer is not None
    bare_timer = StepTimer(args.warmup, args.steps)
    trainer = Trainer(
        accelerator="gpu" if timer.device.type == "cuda" else "cpu",
        devices=1,
        precision=precision,  # type: ignore[arg-type]
        max_epochs=1,
        limit_train_batches=args.warmup + args.steps + 1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[bare_timer],
    )
    trainer.fit(BareModule(model, timer.optimizer), datamodule=builders.build_datamodule(cfg.data))
    if bare_timer.seconds is None:
        raise RuntimeError("the bare Lightning loop ran fewer batches than warmup + steps")
    return bare_timer.seconds / args.steps


def summarize(values: list[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Alternate the three loops ``args.repeats`` times; return the ratios and step times."""
    args.device = resolve_device(args.device)
    hardware = importlib.import_module(f"{args.package}.utils.hardware")
    project_ms: list[float] = []
    plain_ms: list[float] = []
    bare_ms: list[float] = []
    ratios: list[float] = []
    floor_ratios: list[float] = []
    overheads: list[float] = []
    utilization: dict[str, list[float]] = {"project": [], "plain": []}
    rows: tuple[torch.Tensor, torch.Tensor] | None = None
    with tempfile.TemporaryDirectory(prefix="loop-ratio-") as tmp:
        cfg = compose(args, Path(tmp) / "run-0")
        precision = str(
            hardware.resolve_precision(cfg.trainer.get("precision"), cfg.trainer.get("accelerator"))
        )
        timer: StepTimer | None = None
        for repeat in range(args.repeats):
            # The project loop runs first in the first repeat: the others copy its setup.
            order = ["project", "plain", "bare"]
            if repeat % 2:
                order.reverse()
            seconds: dict[str, float] = {}
            for which in order:
                if which == "project":
                    timer = project_loop(args, compose(args, Path(tmp) / f"run-{repeat}"))
                    seconds[which] = float(timer.seconds or 0.0) / args.steps
                    used = timer.utilization
                elif which == "plain":
                    assert timer is not None
                    rows = rows if rows is not None else training_rows(args, cfg)
                    seconds[which], used = plain_loop(args, cfg, timer, rows, precision)
                else:
                    assert timer is not None
                    seconds[which], used = bare_lightning_loop(args, cfg, timer, precision), None
                if used is not None:
                    utilization[which].append(used)
            project_ms.append(seconds["project"] * 1e3)
            plain_ms.append(seconds["plain"] * 1e3)
            bare_ms.append(seconds["bare"] * 1e3)
            ratios.append(seconds["project"] / seconds["plain"])
            floor_ratios.append(seconds["bare"] / seconds["plain"])
            overheads.append(seconds["project"] / seconds["bare"])
    return {
        "loop_ratio": statistics.median(ratios),
        "ratio": summarize(ratios),
        "lightning_floor_ratio": statistics.median(floor_ratios),
        "template_overhead": statistics.median(overheads),
        "project_step_ms": summarize(project_ms),
        "plain_step_ms": summarize(plain_ms),
        "bare_lightning_step_ms": summarize(bare_ms),
        "repeats": {
            "ratio": ratios,
            "lightning_floor_ratio": floor_ratios,
            "template_overhead": overheads,
            "project_step_ms": project_ms,
            "plain_step_ms": plain_ms,
            "bare_lightning_step_ms": bare_ms,
        },
        "device": args.device,
        "gpu_name": torch.cuda.get_device_name() if args.device == "cuda" else None,
        "gpu_utilization_percent": {
            which: summarize(values) for which, values in utilization.items() if values
        }
        or None,
        "model": str(cfg.model.name),
        "batch_size": int(cfg.data.batch_size),
        "steps": args.steps,
        "warmup": args.warmup,
        "precision": precision,
        "torch_threads": torch.get_num_threads(),
        "overrides": list(args.overrides),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "lightning": importlib.import_module("lightning").__version__,
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Measure, print the result as JSON and write it to ``--json``."""
    args = parse_args(argv)
    result = measure(args)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
