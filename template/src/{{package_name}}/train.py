"""Train a model: ``python -m <package>.train [overrides]`` (or the ``<project>-train`` script).

``main`` is the command-line entry point: Hydra parses the overrides, composes
``configs/train.yaml`` and creates the run directory. ``train`` does the work on a composed
config, so tests and notebooks can call it with a config from Hydra's compose API.

Every run writes ``manifest.json`` into its directory (see ``utils/manifest.py``). SIGTERM or
Ctrl-C stops training after the current batch with ``checkpoints/last.ckpt`` saved; resume it
with ``ckpt_path=last hydra.run.dir=<the run's directory>``.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError

if TYPE_CHECKING:
    from .utils.manifest import RunManifest
    from .utils.resumable import GracefulShutdown

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured model, test its best checkpoint, and return the metrics by name.

    The result holds the last epoch's ``train/*`` and ``val/*`` metrics and the ``test/*``
    metrics; it is also written to ``<paths.output_dir>/metrics.json``, and the run is
    described in ``<paths.output_dir>/manifest.json`` however it ends.
    """
    from .utils.manifest import RunManifest

    with RunManifest(cfg, task="train") as manifest:
        metrics = _resume_or_start(cfg, manifest)
        manifest.finish(metrics)
    return metrics


def _resume_or_start(cfg: DictConfig, manifest: RunManifest) -> dict[str, float]:
    """Find the checkpoint to resume from, then train with SIGTERM and SIGINT handled."""
    from .utils.resume import resolve_ckpt_path

    output_dir = Path(cfg.paths.output_dir)
    ckpt_path = resolve_ckpt_path(cfg.get("ckpt_path"), output_dir)
    manifest.update(resumed_from=str(ckpt_path) if ckpt_path else None)

    # Heavy imports stay below this point so that --help and config errors answer fast.
    from .utils.resumable import GracefulShutdown

    shutdown = GracefulShutdown(output_dir / "checkpoints" / "last.ckpt")
    try:
        with shutdown.handling_signals():
            return _fit_and_test(cfg, ckpt_path, shutdown, manifest)
    finally:
        if shutdown.saved is not None:
            manifest.update(checkpoint_on_interrupt=str(shutdown.saved))


def _fit_and_test(
    cfg: DictConfig, ckpt_path: Path | None, shutdown: GracefulShutdown, manifest: RunManifest
) -> dict[str, float]:
    from hydra.utils import instantiate
    from lightning.pytorch import Trainer

    from .utils.builders import (
        build_datamodule,
        build_model,
        instantiate_callbacks,
        instantiate_loggers,
    )
    from .utils.hardware import resolve_precision
    from .utils.metrics import save_metrics, to_floats
    from .utils.resumable import RngStateCheckpoint
    from .utils.resume import continue_logger_versions, is_inside
    from .utils.runtime import prepare_run

    output_dir = Path(cfg.paths.output_dir)
    prepare_run(cfg)
    if ckpt_path is not None and is_inside(ckpt_path, output_dir):
        # Resuming in the run's own directory: continue its logs rather than start anew.
        continued = continue_logger_versions(cfg.get("logger"))
        log.info("Resuming %s; continuing the logs of: %s", ckpt_path, continued or "none")
    datamodule = build_datamodule(cfg.data)
    model = build_model(cfg.model)
    loggers = instantiate_loggers(cfg.get("logger"))
    callbacks = instantiate_callbacks(cfg.get("callbacks"), has_logger=bool(loggers))
    precision = resolve_precision(cfg.trainer.get("precision"), cfg.trainer.get("accelerator"))
    trainer: Trainer = instantiate(
        cfg.trainer,
        # RNG states in every checkpoint, and a checkpoint on SIGTERM / Ctrl-C: exact resumes.
        callbacks=[*callbacks, RngStateCheckpoint(), shutdown],
        logger=loggers or False,
        precision=precision,
    )
    for experiment_logger in loggers:
        experiment_logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]

    metrics: dict[str, float] = {}
    best = str(ckpt_path) if ckpt_path else ""
    if cfg.get("train", True):
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        metrics.update(to_floats(trainer.callback_metrics))
        # The best checkpoint of this fit is what gets tested.
        best = getattr(trainer.checkpoint_callback, "best_model_path", "")
        manifest.update(best_checkpoint=best or None)
    if cfg.get("test", True):
        if not best:
            log.warning("No checkpoint to test; testing the current weights.")
        trainer.test(model, datamodule=datamodule, ckpt_path=best or None, weights_only=True)
        metrics.update(to_floats(trainer.callback_metrics))

    if trainer.is_global_zero:
        path = save_metrics(metrics, output_dir / "metrics.json")
        log.info("Metrics (also in %s): %s", path, _format(metrics))
    return metrics


def _format(metrics: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:.4f}" for name, value in sorted(metrics.items()))


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Command-line entry point; returns ``cfg.optimized_metric``'s value for Hydra sweepers.

    Exits with status 1 and a one-line message on a config error, and with ``128 + signal``
    (143 for SIGTERM, 130 for SIGINT) when a signal stopped the run.
    """
    from .utils.metrics import metric_value
    from .utils.resumable import RunInterrupted

    try:
        metrics = train(cfg)
    except ConfigError as error:
        raise SystemExit(f"Error: {error}") from None
    except RunInterrupted as interrupted:
        log.warning(
            "Stopped by %s. Resume with the same overrides and: ckpt_path=last hydra.run.dir=%s",
            signal.Signals(interrupted.signum).name,
            cfg.paths.output_dir,
        )
        raise SystemExit(128 + interrupted.signum) from None
    return metric_value(metrics, cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
