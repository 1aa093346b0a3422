"""Tuning helpers: ``tune=lr`` and ``tune=batch_size`` run Lightning's ``Tuner`` on the run.

``tune=lr`` runs the learning-rate finder (``Tuner.lr_find``) and writes ``lr_find.json`` (the
suggestion and the loss curve) and, when matplotlib is installed (the ``plots`` extra),
``lr_find.png``. ``tune=batch_size`` runs ``Tuner.scale_batch_size`` and writes
``batch_size.json``. Both change nothing unless ``tune.apply=true``: without it the run
reports the suggestion and trains nothing; with it, training goes on with the suggested value.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningDataModule, LightningModule, Trainer
from lightning.pytorch.tuner import Tuner
from lightning.pytorch.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError
from ..validation import boolean, one_of

log = logging.getLogger(__name__)

WHAT = ("lr", "batch_size")


def tune(
    cfg: DictConfig,
    trainer: Trainer,
    model: LightningModule,
    datamodule: LightningDataModule,
    run_dir: Path,
) -> dict[str, Any]:
    """Run the tuner ``cfg.what`` names; return what the manifest records (and the files)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    options = {str(key): value for key, value in container.items()}
    what = one_of("tune.what", options.pop("what", None), WHAT)
    apply = boolean("tune.apply", options.pop("apply", False))
    run_dir.mkdir(parents=True, exist_ok=True)
    if what == "lr":
        return _lr(trainer, model, datamodule, run_dir, apply, options)
    return _batch_size(trainer, model, datamodule, run_dir, apply, options)


def _lr(
    trainer: Trainer,
    model: LightningModule,
    datamodule: LightningDataModule,
    run_dir: Path,
    apply: bool,
    options: dict[str, Any],
) -> dict[str, Any]:
    try:
        finder = Tuner(trainer).lr_find(model, datamodule=datamodule, update_attr=apply, **options)
    except AttributeError as error:  # update_attr found no learning-rate attribute
        raise ConfigError(
            "tune.apply=true needs the model to keep its learning rate as `lr` or "
            f"`learning_rate` (an attribute or a hyperparameter): {error}"
        ) from None
    assert finder is not None
    suggestion = finder.suggestion()
    result: dict[str, Any] = {
        "what": "lr",
        "suggestion": suggestion,
        "applied": apply and suggestion is not None,
        "files": [str(run_dir / "lr_find.json")],
    }
    curve = {"lr": list(finder.results["lr"]), "loss": list(finder.results["loss"])}
    (run_dir / "lr_find.json").write_text(json.dumps({**result, **options, **curve}, indent=2))
    if importlib.util.find_spec("matplotlib") is not None:
        figure = finder.plot(suggest=True)
        figure.savefig(run_dir / "lr_find.png")  # type: ignore[union-attr]
        result["files"].append(str(run_dir / "lr_find.png"))
    else:
        log.info("No lr_find.png: the plot needs matplotlib (the plots extra).")
    _report("learning rate", suggestion, result)
    return result


def _batch_size(
    trainer: Trainer,
    model: LightningModule,
    datamodule: LightningDataModule,
    run_dir: Path,
    apply: bool,
    options: dict[str, Any],
) -> dict[str, Any]:
    try:
        size = Tuner(trainer).scale_batch_size(model, datamodule=datamodule, **options)
    except MisconfigurationException as error:  # no batch_size to scale
        raise ConfigError(
            f"tune=batch_size needs a batch_size argument in the data config: {error}"
        ) from None
    result = {
        "what": "batch_size",
        "suggestion": size,
        "applied": apply and size is not None,
        "files": [str(run_dir / "batch_size.json")],
    }
    (run_dir / "batch_size.json").write_text(json.dumps({**result, **options}, indent=2))
    _report("batch size", size, result)
    return result


def _report(name: str, value: Any, result: dict[str, Any]) -> None:
    files = ", ".join(result["files"])
    if value is None:
        log.warning("No %s suggested (see %s).", name, files)
    elif result["applied"]:
        log.info("Suggested %s: %s, applied (%s). Training with it.", name, value, files)
    else:
        log.info(
            "Suggested %s: %s (%s). Set it, or run again with tune.apply=true.", name, value, files
        )
