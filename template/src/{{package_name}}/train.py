"""Train a model: ``python -m <package>.train [overrides]`` (or the ``<project>-train`` script).

``main`` is the command-line entry point: Hydra parses the overrides, composes
``configs/train.yaml`` and creates the run directory. ``train`` does the work on a composed
config, so tests and notebooks can call it with a config from Hydra's compose API.

Every run writes ``manifest.json`` and ``metrics.json`` into its directory. SIGTERM or Ctrl-C
stops training after the current batch with ``checkpoints/last.ckpt`` saved; resume it with
``ckpt_path=last hydra.run.dir=<the run's directory>``. A run started again in its own
directory continues where it stopped: a finished one has nothing left to do. A run whose loss
or gradients stop being finite stops at once, with exit status 3 and no checkpoint holding
non-finite weights. ``tune=lr`` or ``tune=batch_size`` first runs Lightning's tuner and
reports its suggestion (``tune.apply=true`` then trains with it).

``init_from=PATH`` starts a new run from another run's weights (fine-tuning), ``compile=true``
trains a ``torch.compile``d model, and ``report.html`` is written when training ends.
"""

from __future__ import annotations

import math
from pathlib import Path

import hydra
from omegaconf import DictConfig


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured model, test its best checkpoint, and return the metrics by name.

    The result holds the last epoch's ``train/*`` and ``val/*`` metrics and the ``test/*``
    metrics; it is also written to ``<paths.output_dir>/metrics.json``, and the run is
    described in ``<paths.output_dir>/manifest.json`` however it ends.
    """
    # Heavy imports stay in here so that --help and config errors answer fast.
    from .run import services
    from .run.builders import build_datamodule, build_model
    from .run.checkpoints import resolve_ckpt_path
    from .run.interrupts import GracefulShutdown
    from .run.loggers import finishing_tracker_runs
    from .run.manifest import RunManifest

    run_dir = Path(cfg.paths.output_dir)
    with RunManifest(cfg, task="train") as manifest:
        ckpt_path = resolve_ckpt_path(cfg.get("ckpt_path"), run_dir)
        manifest.update(resumed_from=str(ckpt_path) if ckpt_path else None)
        callbacks = services.training_callbacks(cfg)
        services.prepare(cfg)
        # Resumed in its own directory, a run continues what an earlier attempt left there.
        earlier = services.earlier_attempt(cfg, ckpt_path, manifest)
        metrics, best = dict(earlier.metrics), earlier.best_checkpoint
        datamodule = build_datamodule(cfg.data)
        model = build_model(cfg.model, datamodule)
        services.warm_start(cfg, model, ckpt_path, manifest)
        model = services.compiled(cfg, model)
        shutdown = GracefulShutdown(
            run_dir / "checkpoints" / "last.ckpt",
            on_saved=lambda path: manifest.update(checkpoint_on_interrupt=str(path)),
        )
        trainer = services.build_trainer(cfg, callbacks=[*callbacks, shutdown])
        with shutdown.handling_signals(), finishing_tracker_runs(trainer.loggers):
            if cfg.get("tune"):
                from .run.tuning import tune

                tuned = tune(cfg.tune, trainer, model, datamodule, run_dir)
                manifest.update(tune=tuned)
                if not tuned["applied"]:
                    manifest.finish(metrics)  # a suggestion only: nothing trained
                    return metrics
            if cfg.get("train", True) and not earlier.fit_done:
                manifest.begin_stage("fit", **earlier.plan)
                trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
                metrics.update(services.collect(trainer))
                best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
                manifest.end_stage("fit", best_checkpoint=best)
            if cfg.get("test", True) and not earlier.test_done:
                manifest.begin_stage("test", checkpoint=best)
                trainer.test(model, datamodule=datamodule, ckpt_path=best, weights_only=True)
                metrics.update(services.collect(trainer))
                manifest.end_stage("test")
        manifest.update(best_checkpoint=best)
        if trainer.is_global_zero:
            services.record_metrics(metrics, run_dir)
        manifest.finish(metrics)
    if trainer.is_global_zero:
        services.write_run_report(cfg, run_dir)
    return metrics


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Command-line entry point; returns the monitored metric's value for Hydra sweepers.

    Exits with status 1 and a one-line message on a config error, with status 3 and a
    one-line message when training diverged (a non-finite loss or gradient norm), and with
    ``128 + signal`` (143 for SIGTERM, 130 for SIGINT) when a signal stopped the run. In a
    ``--multirun`` sweep a diverged trial returns NaN instead, so the sweep goes on: Optuna
    records the trial as failed, and its manifest says ``diverged``.
    """
    from .errors import TrainingDivergedError
    from .run.results import metric_value
    from .run.services import run_entry_point

    try:
        metrics = run_entry_point(train, cfg)
    except TrainingDivergedError:  # raised only in a sweep: this trial failed
        return math.nan
    if cfg.get("tune") and not metrics:  # tuned, not trained: no metric to return
        return None
    return run_entry_point(lambda c: metric_value(metrics, c.monitor.metric), cfg)


if __name__ == "__main__":
    main()
