"""Evaluate a checkpoint: ``python -m <package>.evaluate ckpt_path=PATH [overrides]``.

Rebuilds the model from the hyperparameters saved in the checkpoint (loaded with
``weights_only=True``; a sharded checkpoint folder is consolidated first), runs ``trainer.test``
on the datamodule's test split and prints the metrics. Like training, it writes ``manifest.json``
and ``metrics.json`` into its run directory. ``evaluate`` works on a composed config; ``main`` is
the command-line entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError, MissingCheckpointError

if TYPE_CHECKING:
    from lightning.pytorch import LightningDataModule

# Data settings that describe how to load, not what the data is: the config keeps them.
RUNTIME_DATA_KEYS = ("batch_size", "num_workers", "pin_memory")


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Test the checkpoint at ``cfg.ckpt_path`` and return its ``test/*`` metrics by name.

    The metrics are also written to ``<paths.output_dir>/metrics.json``, and the run is
    described in ``<paths.output_dir>/manifest.json`` however it ends.
    """
    from .run import services
    from .run.builders import build_model
    from .run.callbacks import registry_names
    from .run.checkpoints import load_checkpoint
    from .run.manifest import RunManifest

    with RunManifest(cfg, task="eval") as manifest:
        ckpt_path = checkpoint_path(cfg)
        services.prepare(cfg)
        checkpoint = load_checkpoint(ckpt_path)
        saved = checkpoint.get("hyper_parameters")
        name = registry_names(checkpoint).get("model", cfg.model.name)
        model = build_model(OmegaConf.create({"name": name, **saved}) if saved else cfg.model)
        model.load_state_dict(checkpoint["state_dict"])
        datamodule = _datamodule(cfg, checkpoint)
        trainer = services.build_trainer(cfg, enable_checkpointing=False)
        trainer.test(model, datamodule=datamodule)
        metrics = services.collect(trainer)
        if trainer.is_global_zero:
            services.report(metrics, cfg.paths.output_dir, what=f"Metrics of {ckpt_path}")
        manifest.finish(metrics)
    return metrics


def checkpoint_path(cfg: DictConfig) -> Path:
    """Return the checkpoint ``cfg.ckpt_path`` names; ``ConfigError`` if unset or missing."""
    if OmegaConf.is_missing(cfg, "ckpt_path") or not cfg.ckpt_path:
        raise ConfigError("ckpt_path is required: evaluate ckpt_path=PATH/TO/checkpoint.ckpt")
    from .run.checkpoints import is_checkpoint

    path = Path(str(cfg.ckpt_path))
    if not is_checkpoint(path):
        raise MissingCheckpointError(
            f"ckpt_path={str(path)!r} is not a checkpoint file (or sharded checkpoint folder)"
        )
    return path


def _datamodule(cfg: DictConfig, checkpoint: dict[str, Any]) -> LightningDataModule:
    from .run.builders import build_datamodule
    from .run.callbacks import registry_names

    saved = checkpoint.get("datamodule_hyper_parameters")
    if not (cfg.get("data_from_ckpt", True) and saved):
        return build_datamodule(cfg.data)
    name = registry_names(checkpoint).get("datamodule", cfg.data.name)
    runtime = {key: cfg.data[key] for key in RUNTIME_DATA_KEYS if key in cfg.data}
    return build_datamodule(OmegaConf.create({"name": name, **saved}), **runtime)


@hydra.main(version_base="1.3", config_path="configs", config_name="eval")
def main(cfg: DictConfig) -> None:
    """Command-line entry point: exits with status 1 and one line on a config error."""
    from .run.services import run_entry_point

    run_entry_point(evaluate, cfg)


if __name__ == "__main__":
    main()
