"""Evaluate a checkpoint: ``python -m <package>.evaluate ckpt_path=PATH [overrides]``.

Rebuilds the model from the hyperparameters saved in the checkpoint (loaded with
``weights_only=True``), runs ``trainer.test`` on the datamodule's test split and prints the
metrics. Like training, it writes ``manifest.json`` into its run directory. ``evaluate`` works
on a composed config; ``main`` is the command-line entry point.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError, MissingCheckpointError

if TYPE_CHECKING:
    from lightning.pytorch import LightningDataModule

log = logging.getLogger(__name__)

# Data settings that describe how to load, not what the data is: the config keeps them.
RUNTIME_DATA_KEYS = ("batch_size", "num_workers", "pin_memory")


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Test the checkpoint at ``cfg.ckpt_path`` and return its ``test/*`` metrics by name.

    The metrics are also written to ``<paths.output_dir>/metrics.json``, and the run is
    described in ``<paths.output_dir>/manifest.json`` however it ends.
    """
    from .utils.manifest import RunManifest

    with RunManifest(cfg, task="eval") as manifest:
        metrics = _evaluate(cfg)
        manifest.finish(metrics)
    return metrics


def _evaluate(cfg: DictConfig) -> dict[str, float]:
    import torch
    from hydra.utils import instantiate
    from lightning.pytorch import Trainer

    from .utils.builders import build_model, instantiate_loggers
    from .utils.hardware import resolve_precision
    from .utils.metrics import save_metrics, to_floats
    from .utils.runtime import prepare_run

    if OmegaConf.is_missing(cfg, "ckpt_path") or not cfg.ckpt_path:
        raise ConfigError("ckpt_path is required: evaluate ckpt_path=PATH/TO/checkpoint.ckpt")
    ckpt_path = Path(str(cfg.ckpt_path))
    if not ckpt_path.is_file():
        raise MissingCheckpointError(f"ckpt_path={str(ckpt_path)!r} is not a file")
    prepare_run(cfg)
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    saved = checkpoint.get("hyper_parameters")
    model = build_model(OmegaConf.create({"name": cfg.model.name, **saved}) if saved else cfg.model)
    model.load_state_dict(checkpoint["state_dict"])
    datamodule = _datamodule(cfg, checkpoint)

    loggers = instantiate_loggers(cfg.get("logger"))
    precision = resolve_precision(cfg.trainer.get("precision"), cfg.trainer.get("accelerator"))
    trainer: Trainer = instantiate(
        cfg.trainer, logger=loggers or False, precision=precision, enable_checkpointing=False
    )
    trainer.test(model, datamodule=datamodule)
    metrics = to_floats(trainer.callback_metrics)
    if trainer.is_global_zero:
        path = save_metrics(metrics, Path(cfg.paths.output_dir) / "metrics.json")
        summary = ", ".join(f"{name}={value:.4f}" for name, value in sorted(metrics.items()))
        log.info("Metrics of %s (also in %s): %s", ckpt_path, path, summary)
    return metrics


def _datamodule(cfg: DictConfig, checkpoint: dict[str, Any]) -> LightningDataModule:
    from .utils.builders import build_datamodule

    saved = checkpoint.get("datamodule_hyper_parameters")
    if not (cfg.get("data_from_ckpt", True) and saved):
        return build_datamodule(cfg.data)
    runtime = {key: cfg.data[key] for key in RUNTIME_DATA_KEYS if key in cfg.data}
    return build_datamodule(OmegaConf.create({"name": cfg.data.name, **saved}), **runtime)


@hydra.main(version_base="1.3", config_path="configs", config_name="eval")
def main(cfg: DictConfig) -> None:
    """Command-line entry point."""
    try:
        evaluate(cfg)
    except ConfigError as error:
        raise SystemExit(f"Error: {error}") from None


if __name__ == "__main__":
    main()
