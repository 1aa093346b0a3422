"""The run lifecycle shared by the entry points (Lightning and Hydra level).

- ``services``: set a run up (seeds, threads), build its Trainer, collect and report metrics,
  and turn config errors and signals into exit statuses at the command line.
- ``builders``: config nodes to objects (models and datamodules through the registry).
- ``checkpoints``: which checkpoint ``ckpt_path`` (a path, ``last``, ``auto``) means; loading
  one, sharded or not.
- ``callbacks``: what every run gets: RNG states in checkpoints, the monitored metric checked,
  LR schedules that follow a changed ``max_epochs``.
- ``divergence``: a non-finite loss or gradient norm stops training at once (exit status 3).
- ``gradients``, ``activations``: the gradient norm every logging step; dead and saturated
  activations once per epoch (``debug=activations``).
- ``system``: GPU, CPU and RAM use at a low rate; ``memory``: a CUDA memory snapshot
  (``debug=memory``).
- ``interrupts``: SIGTERM and Ctrl-C stop after the current batch with a checkpoint.
- ``loggers``: a CSV logger that continues a resumed run's file; logger versions on resume;
  W&B's run ended with the run (a sweep's jobs each get their own).
- ``mlflow_store``: MLflow on the project's one store.
- ``hyperparameters``: the run's hyperparameters, logged once under names that cannot
  collide (``seed``, ``model/*``, ``data/*``).
- ``manifest``: ``manifest.json``, what a run was and how far it got.
- ``results``: metrics as floats, ``metrics.json``, the monitored value.
- ``restore``: a model and its datamodule rebuilt from a checkpoint alone (evaluate, predict,
  export).
- ``warm_start``: ``init_from``, a new run that begins from another run's weights.
- ``exporting``: ``torch.export`` and ONNX files, and their parity with the eager model.
- ``model_card``: ``model_card.md`` beside exported models.
- ``run_log``: a run directory's curves, metrics and manifest, read back (for reports).
- ``environment``: facts about the machine and the software, for the manifest and the doctor.
- ``sharding``: ``trainer=fsdp``'s strategy: FSDP2 for any model, by an auto-wrap policy.
- ``xpu``: ``trainer=xpu``'s Lightning accelerator for Intel GPUs.
"""
