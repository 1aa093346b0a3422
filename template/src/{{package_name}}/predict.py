"""Predict with a checkpoint: ``python -m <package>.predict ckpt_path=PATH input=PATH``.

The model and the data's preprocessing are rebuilt from the checkpoint alone (loaded with
``weights_only=True``); the inputs are read by the checkpoint's datamodule, in its own file
format and without labels (its ``predict_inputs`` hook, see ``utils/predictions.py``). The
predictions go to ``output`` (default ``<run dir>/predictions.csv``; ``.jsonl`` and
``.parquet`` by the suffix): the columns that identify each input, then ``prediction`` and,
for classification, its ``probability`` and every class's ``p_<class>``. It runs batched,
on the configured accelerator (one device), and writes ``manifest.json`` like every run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import hydra
from omegaconf import DictConfig

from .errors import ConfigError

if TYPE_CHECKING:
    from lightning.pytorch import LightningDataModule, LightningModule

    from .utils.predictions import PredictionHooks

# The datamodule methods predict needs (utils/predictions.py documents them).
DATAMODULE_HOOKS = ("predict_inputs", "predict_dataloader", "prediction_columns")
DOCS = "see 'Using a trained model' in the docs"


def predict(cfg: DictConfig) -> Path:
    """Write the predictions of the checkpoint at ``cfg.ckpt_path`` for ``cfg.input``.

    Returns the predictions file.
    """
    import torch

    from .run import services
    from .run.manifest import RunManifest
    from .run.restore import checkpoint_path, load_checkpoint, restore_datamodule, restore_model
    from .utils.predictions import output_format, write_predictions

    with RunManifest(cfg, task="predict") as manifest:
        ckpt_path = checkpoint_path(cfg, "predict")
        if not cfg.get("input"):
            raise ConfigError("input is required: predict ckpt_path=PATH input=PATH/TO/inputs")
        output_format(cfg.output)
        services.prepare(cfg)
        checkpoint = load_checkpoint(ckpt_path)
        datamodule = restore_datamodule(cfg, checkpoint)
        hooks = check_predicts(datamodule)
        model = restore_model(cfg, checkpoint, datamodule)
        check_predict_step(model)
        identifiers = hooks.predict_inputs(str(cfg.input))
        trainer = services.build_trainer(
            cfg, enable_checkpointing=False, devices=1, num_nodes=1, strategy="auto"
        )
        batches = trainer.predict(model, datamodule=datamodule)
        outputs = torch.cat([torch.as_tensor(batch) for batch in batches or []])
        columns = hooks.prediction_columns(outputs)
        written = write_predictions(cfg.output, {**identifiers, **columns})
        manifest.update(checkpoint=str(ckpt_path), input=str(cfg.input), predictions=str(written))
        manifest.finish({"predictions": float(len(outputs))})
    print(f"Wrote {len(outputs)} predictions to {written}")
    return written


def check_predicts(datamodule: LightningDataModule) -> PredictionHooks:
    """Return the datamodule as prediction hooks; ``ConfigError`` naming those it lacks."""
    from lightning.pytorch import LightningDataModule

    missing = [
        hook
        for hook in DATAMODULE_HOOKS
        if getattr(type(datamodule), hook, None) is getattr(LightningDataModule, hook, None)
    ]
    if missing:
        raise ConfigError(
            f"datamodule {type(datamodule).__name__} cannot read prediction inputs: "
            f"add {', '.join(missing)} ({DOCS})"
        )
    return cast("PredictionHooks", datamodule)


def check_predict_step(model: LightningModule) -> None:
    """``ConfigError`` when a model keeps Lightning's default ``predict_step``."""
    from lightning.pytorch import LightningModule

    if type(model).predict_step is LightningModule.predict_step:
        raise ConfigError(
            f"model {type(model).__name__} has no predict_step: add one that returns class "
            f"probabilities or values per input ({DOCS})"
        )


@hydra.main(version_base="1.3", config_path="configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    """Command-line entry point: exits with status 1 and one line on a config error."""
    from .run.services import run_entry_point

    run_entry_point(predict, cfg)


if __name__ == "__main__":
    main()
