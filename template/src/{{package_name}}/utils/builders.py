"""Turn config nodes into objects: models and datamodules by registry name, the rest by target.

Models and datamodules are looked up by ``name`` in the registries (the remaining keys are keyword
arguments), so a config names *what* to build, not where its code lives. Callbacks, loggers and
the trainer are plain ``_target_`` nodes built with ``hydra.utils.instantiate``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from ..registry import DATAMODULES, MODELS

if TYPE_CHECKING:
    from lightning.pytorch import Callback, LightningDataModule, LightningModule
    from lightning.pytorch.loggers import Logger

log = logging.getLogger(__name__)


def registry_kwargs(cfg: DictConfig) -> tuple[str, dict[str, Any]]:
    """Split a ``name: ...`` node into the name and plain-Python keyword arguments."""
    kwargs = OmegaConf.to_container(cfg, resolve=True)
    if not isinstance(kwargs, dict) or "name" not in kwargs:
        raise ValueError(f"expected a config node with a 'name' key, got {kwargs!r}")
    name = kwargs.pop("name")
    return str(name), {str(key): value for key, value in kwargs.items()}


def build_model(cfg: DictConfig, **overrides: Any) -> LightningModule:
    """Build the model that ``cfg.name`` names in ``MODELS`` (``overrides`` win over ``cfg``)."""
    from lightning.pytorch import LightningModule

    name, kwargs = registry_kwargs(cfg)
    model = MODELS.build(name, **{**kwargs, **overrides})
    return _checked(model, LightningModule, f"model {name!r}")


def build_datamodule(cfg: DictConfig, **overrides: Any) -> LightningDataModule:
    """Build the datamodule that ``cfg.name`` names in ``DATAMODULES`` (``overrides`` win)."""
    from lightning.pytorch import LightningDataModule

    name, kwargs = registry_kwargs(cfg)
    datamodule = DATAMODULES.build(name, **{**kwargs, **overrides})
    return _checked(datamodule, LightningDataModule, f"datamodule {name!r}")


def instantiate_callbacks(cfg: DictConfig | None, *, has_logger: bool = True) -> list[Callback]:
    """Instantiate every ``_target_`` entry of the ``callbacks`` node (null entries are off).

    Without a logger, callbacks that only write to loggers (LR and device monitors) are left
    out with a warning instead of making the Trainer refuse to start.
    """
    from lightning.pytorch import Callback
    from lightning.pytorch.callbacks import DeviceStatsMonitor, LearningRateMonitor

    callbacks = [_instantiate(node, key, Callback) for key, node in _entries(cfg, "callbacks")]
    if has_logger:
        return callbacks
    needs_logger = (LearningRateMonitor, DeviceStatsMonitor)
    for callback in callbacks:
        if isinstance(callback, needs_logger):
            log.warning("No logger configured: %s is left out.", type(callback).__name__)
    return [callback for callback in callbacks if not isinstance(callback, needs_logger)]


def instantiate_loggers(cfg: DictConfig | None) -> list[Logger]:
    """Instantiate every ``_target_`` entry of the ``logger`` node (null entries are off)."""
    from lightning.pytorch.loggers import Logger

    return [_instantiate(node, key, Logger) for key, node in _entries(cfg, "logger")]


def _entries(cfg: DictConfig | None, where: str) -> list[tuple[str, DictConfig]]:
    if cfg is None:
        return []
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"{where} config must be a mapping of name -> node, got {cfg!r}")
    entries = []
    for name, node in cfg.items():
        key = str(name)
        if node is None:
            continue
        if not isinstance(node, DictConfig) or "_target_" not in node:
            raise ValueError(f"{where}.{key} has no _target_: {node!r}")
        entries.append((key, node))
    return entries


def _instantiate(node: DictConfig, key: str, expected: type) -> Any:
    from hydra.utils import instantiate

    return _checked(instantiate(node), expected, f"{key} ({node._target_})")


def _checked(obj: object, expected: type, what: str) -> Any:
    if not isinstance(obj, expected):
        raise TypeError(f"{what} built a {type(obj).__name__}, not a {expected.__name__}")
    return obj
