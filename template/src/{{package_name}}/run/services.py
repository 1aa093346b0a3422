"""What ``train`` and ``evaluate`` share: the steps of a run around Lightning's own.

Set a run up, build its Trainer, collect and report its metrics, and exit cleanly at the
command line on a config error, a diverged run or a signal.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from omegaconf import DictConfig

from ..errors import DIVERGED_EXIT, ConfigError, TrainingDivergedError
from ..utils.hardware import configure_matmul_precision, resolve_precision, set_cpu_threads
from ..utils.seeding import seed_everything
from ..validation import boolean, one_of
from .results import FILENAME, save_metrics, to_floats

if TYPE_CHECKING:
    from lightning.pytorch import Callback, LightningModule, Trainer

    from .manifest import RunManifest

log = logging.getLogger(__name__)

# Lightning suggests DataLoader workers; for in-memory tensors they only add start-up time.
_EXPECTED_WARNINGS = (r".*does not have many workers.*",)
MONITOR_MODES = ("min", "max")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
T = TypeVar("T")


def prepare(cfg: DictConfig) -> None:
    """Seed everything from ``cfg.seed``, apply ``cfg.deterministic`` and tune the hardware."""
    for message in _EXPECTED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    log_once()
    deterministic = boolean("deterministic", cfg.get("deterministic", False))
    seed_everything(cfg.seed, deterministic=deterministic)
    configure_matmul_precision()
    set_cpu_threads(cfg.get("cpu_threads"))


def monitor(cfg: DictConfig) -> tuple[str, str]:
    """Return the monitored metric and its mode (``min`` or ``max``), checked."""
    node = cfg.get("monitor") or {}
    metric, mode = node.get("metric"), node.get("mode")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"monitor.metric={metric!r} is not valid: expected a metric name")
    return metric, one_of("monitor.mode", mode, MONITOR_MODES)


def training_callbacks(cfg: DictConfig) -> list[Callback]:
    """Return the callbacks every training run gets, before the configured ones.

    The monitored metric is checked, random generators and registry names go into the
    checkpoints, LR schedules follow a ``max_epochs`` changed on resume, a diverging run
    stops at once (``divergence.stop``), and the loggers get the hyperparameters once, under
    names that cannot collide.
    """
    from .callbacks import (
        MonitoredMetricCheck,
        RegistryNamesCheckpoint,
        RngStateCheckpoint,
        ScheduleFollowsMaxEpochs,
    )
    from .hyperparameters import LogHyperparametersOnce

    metric, _ = monitor(cfg)
    callbacks: list[Callback] = [
        MonitoredMetricCheck(metric),
        RngStateCheckpoint(),
        RegistryNamesCheckpoint(cfg.model.name, cfg.data.name),
        ScheduleFollowsMaxEpochs(),
        LogHyperparametersOnce(cfg.seed),
    ]
    guard = divergence_guard(cfg)
    return [guard, *callbacks] if guard is not None else callbacks


def divergence_guard(cfg: DictConfig) -> Callback | None:
    """Return the guard that ``cfg.divergence`` asks for (None with ``divergence.stop=false``)."""
    from .divergence import DivergenceGuard

    node = cfg.get("divergence") or {}
    if not boolean("divergence.stop", node.get("stop", True)):
        return None
    every = node.get("gradients_every_n_steps", 10)
    lr_key = "model.lr" if "lr" in (cfg.get("model") or {}) else None
    return DivergenceGuard(gradients_every_n_steps=every, lr_key=lr_key)


@dataclass(frozen=True)
class EarlierAttempt:
    """What an earlier attempt in this run directory left for this one to build on."""

    metrics: dict[str, float] = field(default_factory=dict)
    fit_done: bool = False
    test_done: bool = False
    best_checkpoint: str | None = None
    plan: dict[str, Any] = field(default_factory=dict)


def earlier_attempt(
    cfg: DictConfig, ckpt_path: Path | None, manifest: RunManifest
) -> EarlierAttempt:
    """Tell what is already done when a run resumes in its own directory.

    Its metrics are kept; a fit that completed towards the same ``max_epochs`` and
    ``max_steps`` is not run again (a requeued job that had finished), and neither is its
    test. Anything else, a new directory or a checkpoint from elsewhere, starts afresh.
    """
    from .checkpoints import is_inside
    from .loggers import continue_logger_versions
    from .results import load_metrics

    run_dir = Path(cfg.paths.output_dir)
    plan = {key: cfg.trainer.get(key) for key in ("max_epochs", "max_steps")}
    if ckpt_path is None or not is_inside(ckpt_path, run_dir):
        return EarlierAttempt(plan=plan)
    continue_logger_versions(cfg.get("logger"))
    fit_done = manifest.stage_completed("fit", **plan)
    if fit_done:
        log.info("Nothing left to train in %s: the fit finished before.", run_dir)
    return EarlierAttempt(
        metrics=load_metrics(run_dir / FILENAME),
        fit_done=fit_done,
        test_done=fit_done and manifest.stage_completed("test"),
        best_checkpoint=manifest.stage("fit").get("best_checkpoint") if fit_done else None,
        plan=plan,
    )


def build_trainer(cfg: DictConfig, *, callbacks: Iterable[Callback] = (), **kwargs: Any) -> Trainer:
    """Build the configured Trainer: ``cfg.trainer``, its loggers and callbacks.

    ``precision: auto`` is resolved, and ``callbacks`` go before the configured ones (they
    check what those rely on).

    ``kwargs`` override Trainer arguments (``enable_checkpointing=False`` for evaluation).
    """
    from hydra.utils import instantiate

    from .builders import instantiate_callbacks, instantiate_loggers
    from .callback_dispatch import skip_unimplemented_batch_hooks

    loggers = instantiate_loggers(cfg.get("logger"))
    configured = instantiate_callbacks(cfg.get("callbacks"), has_logger=bool(loggers))
    precision = resolve_precision(cfg.trainer.get("precision"), cfg.trainer.get("accelerator"))
    trainer: Trainer = instantiate(
        cfg.trainer,
        callbacks=[*callbacks, *configured],
        logger=loggers or False,
        precision=precision,
        **kwargs,
    )
    skip_unimplemented_batch_hooks(trainer.callbacks)  # type: ignore[attr-defined]
    return trainer


def collect(trainer: Trainer) -> dict[str, float]:
    """Return the metrics Lightning holds now (``trainer.callback_metrics``), as floats."""
    return to_floats(trainer.callback_metrics)


def record_metrics(
    metrics: dict[str, float], output_dir: str | Path, *, what: str = "Metrics"
) -> Path:
    """Write ``metrics.json`` into the run directory and log the metrics on one line."""
    path = save_metrics(metrics, Path(output_dir) / FILENAME)
    summary = ", ".join(f"{name}={value:.4f}" for name, value in sorted(metrics.items()))
    log.info("%s (also in %s): %s", what, path, summary)
    return path


def warm_start(
    cfg: DictConfig, model: LightningModule, resuming: Path | None, manifest: RunManifest
) -> None:
    """Load ``cfg.init_from``'s weights into a new run's model (not into a resumed one).

    A run that resumes (``ckpt_path``) gets its weights from its own checkpoint: a requeued job
    with ``init_from=X ckpt_path=auto`` starts from X once and then resumes.
    """
    source = cfg.get("init_from")
    if not source:
        return
    if resuming is not None:
        log.info("Resuming from %s: init_from=%s is not applied again.", resuming, source)
        return
    from .warm_start import load_weights

    strict = boolean("init_strict", cfg.get("init_strict", True))
    manifest.update(warm_start=load_weights(model, str(source), strict=strict).summary())


def compiled(cfg: DictConfig, model: LightningModule) -> LightningModule:
    """``torch.compile`` the model's forward when ``cfg.compile`` is true (``cfg.compile_mode``).

    ``nn.Module.compile`` compiles calls of the module (``self(inputs)`` in the steps) in
    place: the step methods, with their logging, run as written, and the weights keep their
    names, so checkpoints load into a model that is not compiled.
    """
    if not boolean("compile", cfg.get("compile", False)):
        return model
    mode = one_of("compile_mode", cfg.get("compile_mode") or "default", COMPILE_MODES)
    model.compile(mode=mode)
    return model


def write_run_report(cfg: DictConfig, run_dir: Path) -> None:
    """Write ``report.html`` into the run directory when ``cfg.report`` is on.

    A report that cannot be drawn is logged, never a failed run: the run's results are saved.
    """
    if not boolean("report", cfg.get("report", True)):
        return
    from ..report import write_report

    try:
        path = write_report([run_dir])
    except Exception as error:  # the run itself succeeded: say so and go on
        log.warning("No run report: %s: %s", type(error).__name__, error)
        return
    log.info("Report: %s", path)


def run_entry_point(work: Callable[[DictConfig], T], cfg: DictConfig) -> T:
    """Run ``work(cfg)`` for a command-line entry point.

    A ``ConfigError`` exits with status 1 and its message on one line (``HYDRA_FULL_ERROR=1``
    raises it with the traceback instead); a diverged run exits with status 3
    (``DIVERGED_EXIT``) and its one line (in a ``--multirun`` sweep the error propagates, so
    that one trial's divergence does not end the sweep); a signal exits with ``128 + signal``
    (143 for SIGTERM, 130 for Ctrl-C) after saying how to resume.
    """
    from .interrupts import RunInterrupted

    try:
        return work(cfg)
    except ConfigError as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        raise SystemExit(f"Error: {error}") from None
    except TrainingDivergedError as diverged:
        # Where it happened is in the message: a traceback into the callback would not help.
        print(f"Error: {diverged}", file=sys.stderr, flush=True)
        if sweeping():
            raise  # one trial of a sweep: the caller reports it to the sweeper
        raise SystemExit(DIVERGED_EXIT) from None
    except RunInterrupted as interrupted:
        log.warning(
            "Stopped by %s. Resume with the same overrides and: ckpt_path=last hydra.run.dir=%s",
            signal.Signals(interrupted.signum).name,
            cfg.paths.output_dir,
        )
        raise SystemExit(128 + interrupted.signum) from None


def sweeping() -> bool:
    """Tell whether this process runs a job of a Hydra ``--multirun`` sweep."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def log_once() -> None:
    """Drop the console handler ``import lightning`` adds when the root logger already has one.

    Under Hydra (or pytest) the root logger prints and files every record; Lightning's own
    handler would print each of its messages a second time.
    """
    import lightning  # noqa: F401  (installs the handler this removes)

    if not logging.getLogger().handlers:
        return
    lightning_logger = logging.getLogger("lightning")
    for handler in list(lightning_logger.handlers):
        if type(handler) is logging.StreamHandler:
            lightning_logger.removeHandler(handler)
