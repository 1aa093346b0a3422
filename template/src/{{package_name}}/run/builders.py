"""Turn config nodes into objects: models and datamodules by registry name, the rest by target.

Models and datamodules are looked up by ``name`` in the registries (the remaining keys are keyword
arguments), so a config names *what* to build, not where its code lives. Callbacks, loggers and
the trainer are plain ``_target_`` nodes built with ``hydra.utils.instantiate``.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError, InvalidValueError
from ..registry import DATAMODULES, MODELS, Registry

if TYPE_CHECKING:
    from lightning.pytorch import Callback, LightningDataModule, LightningModule
    from lightning.pytorch.loggers import Logger

log = logging.getLogger(__name__)

# A model argument the datamodule fills in from the data (``DataModule.model_arguments()``).
AUTO = "auto"


def registry_kwargs(cfg: DictConfig) -> tuple[str, dict[str, Any]]:
    """Split a ``name: ...`` node into the name and plain-Python keyword arguments."""
    kwargs = OmegaConf.to_container(cfg, resolve=True)
    if not isinstance(kwargs, dict) or "name" not in kwargs:
        raise ConfigError(f"expected a config node with a 'name' key, got {kwargs!r}")
    name = kwargs.pop("name")
    return str(name), {str(key): value for key, value in kwargs.items()}


def build_model(
    cfg: DictConfig, datamodule: LightningDataModule | None = None, **overrides: Any
) -> LightningModule:
    """Build the model that ``cfg.name`` names in ``MODELS`` (``overrides`` win over ``cfg``).

    An argument set to ``auto`` comes from ``datamodule.model_arguments()``: sizes only the
    data knows (the number of classes of a CSV's label column, a vocabulary's size).
    """
    from lightning.pytorch import LightningModule

    automatic = [str(key) for key, value in cfg.items() if value == AUTO]
    if automatic:
        overrides = {**_from_data(datamodule, automatic, str(cfg.name)), **overrides}
    model = _build(MODELS, "model", cfg, overrides)
    return _checked(model, LightningModule, f"model {cfg.name!r}")


def _from_data(
    datamodule: LightningDataModule | None, keys: list[str], model: str
) -> dict[str, Any]:
    """Return the datamodule's values of ``keys``; ``ConfigError`` for one it lacks."""
    provide = getattr(datamodule, "model_arguments", None)
    known: dict[str, Any] = provide() if callable(provide) else {}
    missing = [key for key in keys if key not in known]
    if missing:
        source = type(datamodule).__name__ if datamodule is not None else "no datamodule"
        offers = ", ".join(sorted(known)) or "nothing"
        raise ConfigError(
            f"model.{missing[0]}=auto: {source} does not provide it (it provides: {offers}); "
            f"set model.{missing[0]} for model {model!r}"
        )
    return {key: known[key] for key in keys}


def build_datamodule(cfg: DictConfig, **overrides: Any) -> LightningDataModule:
    """Build the datamodule that ``cfg.name`` names in ``DATAMODULES`` (``overrides`` win)."""
    from lightning.pytorch import LightningDataModule

    datamodule = _build(DATAMODULES, "data", cfg, overrides)
    return _checked(datamodule, LightningDataModule, f"datamodule {cfg.name!r}")


def _build(registry: Registry, node: str, cfg: DictConfig, overrides: dict[str, Any]) -> Any:
    """Build from ``registry``; bad or unknown arguments become one-line ``ConfigError``s.

    ``node`` is where the config came from (``model``), for the messages.
    """
    name, kwargs = registry_kwargs(cfg)
    kwargs = {**kwargs, **overrides}
    factory = registry.get(name)
    _check_arguments(factory, kwargs, node, f"{registry.kind} {name!r}")
    try:
        return factory(**kwargs)
    except InvalidValueError as error:
        raise error.under(node) from error


def _check_arguments(factory: Any, kwargs: dict[str, Any], node: str, what: str) -> None:
    """Refuse keys the factory does not take, and required arguments the config lacks."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C factory: nothing to check
        return
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(
            f"{node}.{unknown[0]} is not an argument of {what}; its arguments: "
            + ", ".join(accepted)
        )
    missing = [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty and p.name in accepted and p.name not in kwargs
    ]
    if missing:
        raise ConfigError(f"{node}.{missing[0]} is required by {what}: set it in the config")


def instantiate_callbacks(cfg: DictConfig | None, *, has_logger: bool = True) -> list[Callback]:
    """Instantiate every ``_target_`` entry of the ``callbacks`` node (null entries are off).

    Without a logger, callbacks that only write to loggers (LR, gradient-norm, device and
    system monitors) are left out with a warning instead of making the Trainer refuse to start.
    """
    from lightning.pytorch import Callback
    from lightning.pytorch.callbacks import DeviceStatsMonitor, LearningRateMonitor

    from .gradients import GradNormMonitor
    from .system import SystemMonitor

    callbacks = [_instantiate(node, key, Callback) for key, node in _entries(cfg, "callbacks")]
    if has_logger:
        return callbacks
    needs_logger = (LearningRateMonitor, DeviceStatsMonitor, GradNormMonitor, SystemMonitor)
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
