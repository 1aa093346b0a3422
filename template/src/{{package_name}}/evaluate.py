"""Evaluate a checkpoint: ``python -m <package>.evaluate ckpt_path=PATH [overrides]``.

Rebuilds the model from the hyperparameters saved in the checkpoint (loaded with
``weights_only=True``; a sharded checkpoint folder is consolidated first), runs ``trainer.test``
on the datamodule's test split and prints the metrics. Like training, it writes ``manifest.json``
and ``metrics.json`` into its run directory. ``evaluate`` works on a composed config; ``main`` is
the command-line entry point.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Test the checkpoint at ``cfg.ckpt_path`` and return its ``test/*`` metrics by name.

    The metrics are also written to ``<paths.output_dir>/metrics.json``, and the run is
    described in ``<paths.output_dir>/manifest.json`` however it ends.
    """
    from .run import services
    from .run.manifest import RunManifest
    from .run.restore import checkpoint_path, load_checkpoint, restore_datamodule, restore_model

    with RunManifest(cfg, task="eval") as manifest:
        ckpt_path = checkpoint_path(cfg, "evaluate")
        services.prepare(cfg)
        checkpoint = load_checkpoint(ckpt_path)
        from_checkpoint = bool(cfg.get("data_from_ckpt", True))
        datamodule = restore_datamodule(cfg, checkpoint, from_checkpoint=from_checkpoint)
        model = restore_model(cfg, checkpoint, datamodule)
        trainer = services.build_trainer(cfg, enable_checkpointing=False)
        trainer.test(model, datamodule=datamodule)
        metrics = services.collect(trainer)
        if trainer.is_global_zero:
            services.record_metrics(metrics, cfg.paths.output_dir, what=f"Metrics of {ckpt_path}")
        manifest.finish(metrics)
    return metrics


@hydra.main(version_base="1.3", config_path="configs", config_name="eval")
def main(cfg: DictConfig) -> None:
    """Command-line entry point: exits with status 1 and one line on a config error."""
    from .run.services import run_entry_point

    run_entry_point(evaluate, cfg)


if __name__ == "__main__":
    main()
