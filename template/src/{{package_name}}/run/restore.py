"""Rebuild a trained model and its datamodule from a checkpoint alone.

A checkpoint holds the model's hyperparameters (``hyper_parameters``), the datamodule's
(``datamodule_hyper_parameters``, with the preprocessing fitted at training: class names,
statistics, vocabularies) and the registry names both were built from (``registry_names``).
``evaluate``, ``predict`` and ``export`` read it with ``weights_only=True``: tensors and plain
values only, no pickled code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError, MissingCheckpointError
from .callbacks import registry_names
from .checkpoints import CHECKPOINT_DIR, is_checkpoint
from .checkpoints import load_checkpoint as load_checkpoint_file

if TYPE_CHECKING:
    from lightning.pytorch import LightningDataModule, LightningModule

# Data settings that describe how to load, not what the data is: the config keeps them.
RUNTIME_DATA_KEYS = ("batch_size", "num_workers", "pin_memory")


def checkpoint_path(cfg: DictConfig, command: str) -> Path:
    """Return the checkpoint ``cfg.ckpt_path`` names; ``ConfigError`` if unset or missing.

    ``command`` (``evaluate``) is what the message tells the user to run.
    """
    if OmegaConf.is_missing(cfg, "ckpt_path") or not cfg.get("ckpt_path"):
        raise ConfigError(f"ckpt_path is required: {command} ckpt_path=PATH/TO/checkpoint.ckpt")
    path = Path(str(cfg.ckpt_path))
    if not is_checkpoint(path):
        raise MissingCheckpointError(
            f"ckpt_path={str(path)!r} is not a checkpoint file (or sharded checkpoint folder)"
        )
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True``; one line when it is not one.

    A sharded checkpoint folder (FSDP) is consolidated into one state.
    """
    try:
        checkpoint = load_checkpoint_file(Path(path))
    except Exception as error:  # a truncated file, or not a checkpoint at all
        raise ConfigError(f"{path}: not a readable checkpoint ({type(error).__name__})") from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ConfigError(f"{path}: not a Lightning checkpoint (no state_dict)")
    return checkpoint


def restore_datamodule(
    cfg: DictConfig, checkpoint: dict[str, Any], *, from_checkpoint: bool = True
) -> LightningDataModule:
    """Return the datamodule the checkpoint was trained with (runtime settings from ``cfg.data``).

    With ``from_checkpoint`` false, or a checkpoint without datamodule hyperparameters, the
    datamodule is built from ``cfg.data`` as composed.
    """
    from .builders import build_datamodule

    saved = checkpoint.get("datamodule_hyper_parameters")
    if not (from_checkpoint and saved):
        return build_datamodule(cfg.data)
    name = registry_names(checkpoint).get("datamodule", cfg.data.name)
    runtime = {key: cfg.data[key] for key in RUNTIME_DATA_KEYS if key in cfg.data}
    return build_datamodule(OmegaConf.create({"name": name, **saved}), **runtime)


def restore_model(
    cfg: DictConfig, checkpoint: dict[str, Any], datamodule: LightningDataModule | None = None
) -> LightningModule:
    """Return the checkpoint's model with its trained weights, in eval mode."""
    from .builders import build_model

    saved = checkpoint.get("hyper_parameters")
    name = registry_names(checkpoint).get("model", cfg.model.name)
    model_cfg = OmegaConf.create({"name": name, **saved}) if saved else cfg.model
    model = build_model(model_cfg, datamodule)
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def run_dir_of(ckpt_path: Path) -> Path:
    """Return the run directory of a checkpoint (``<run>`` for ``<run>/checkpoints/x.ckpt``)."""
    parent = ckpt_path.resolve().parent
    return parent.parent if parent.name == CHECKPOINT_DIR else parent
