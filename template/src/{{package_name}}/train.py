"""Train a model: ``python -m <package>.train [overrides]`` (or the ``<project>-train`` script).

``main`` is the command-line entry point: Hydra parses the overrides, composes
``configs/train.yaml`` and creates the run directory. ``train`` does the work on a composed
config, so tests and notebooks can call it with a config from Hydra's compose API.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError, MissingCheckpointError

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured model, test its best checkpoint, and return the metrics by name.

    The result holds the last epoch's ``train/*`` and ``val/*`` metrics and the ``test/*``
    metrics; it is also written to ``<paths.output_dir>/metrics.json``.
    """
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path and not Path(ckpt_path).is_file():
        raise MissingCheckpointError(f"ckpt_path={ckpt_path!r} is not a file")

    # Heavy imports stay here so that --help and config errors answer fast.
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
    from .utils.runtime import prepare_run

    prepare_run(cfg)
    datamodule = build_datamodule(cfg.data)
    model = build_model(cfg.model)
    loggers = instantiate_loggers(cfg.get("logger"))
    precision = resolve_precision(cfg.trainer.get("precision"), cfg.trainer.get("accelerator"))
    trainer: Trainer = instantiate(
        cfg.trainer,
        callbacks=instantiate_callbacks(cfg.get("callbacks"), has_logger=bool(loggers)),
        logger=loggers or False,
        precision=precision,
    )
    for experiment_logger in loggers:
        experiment_logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]

    metrics: dict[str, float] = {}
    if cfg.get("train", True):
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        metrics.update(to_floats(trainer.callback_metrics))
    if cfg.get("test", True):
        # The best checkpoint of this fit, or the given checkpoint when there was no fit.
        trained = cfg.get("train", True)
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") if trained else ckpt_path
        if not best:
            log.warning("No checkpoint to test; testing the current weights.")
        trainer.test(model, datamodule=datamodule, ckpt_path=best or None, weights_only=True)
        metrics.update(to_floats(trainer.callback_metrics))

    if trainer.is_global_zero:
        path = save_metrics(metrics, Path(cfg.paths.output_dir) / "metrics.json")
        log.info("Metrics (also in %s): %s", path, _format(metrics))
    return metrics


def _format(metrics: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:.4f}" for name, value in sorted(metrics.items()))


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Command-line entry point; returns ``cfg.optimized_metric``'s value for Hydra sweepers."""
    from .utils.metrics import metric_value

    try:
        metrics = train(cfg)
    except ConfigError as error:
        raise SystemExit(f"Error: {error}") from None
    return metric_value(metrics, cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
