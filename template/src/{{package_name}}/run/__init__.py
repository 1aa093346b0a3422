"""The run lifecycle shared by ``train`` and ``evaluate`` (Lightning and Hydra level).

- ``services``: set a run up (seeds, threads), build its Trainer, collect and report metrics,
  and turn config errors and signals into exit statuses at the command line.
- ``builders``: config nodes to objects (models and datamodules through the registry).
- ``checkpoints``: which checkpoint ``ckpt_path`` (a path, ``last``, ``auto``) means; loading
  one, sharded or not.
- ``callbacks``: what every run gets: RNG states in checkpoints, the monitored metric checked,
  LR schedules that follow a changed ``max_epochs``.
- ``interrupts``: SIGTERM and Ctrl-C stop after the current batch with a checkpoint.
- ``loggers``: a CSV logger that continues a resumed run's file; logger versions on resume.
- ``manifest``: ``manifest.json``, what a run was and how far it got.
- ``results``: metrics as floats, ``metrics.json``, the monitored value.
- ``environment``: facts about the machine and the software, for the manifest and the doctor.
- ``sharding``: ``trainer=fsdp``'s strategy: FSDP2 for any model, by an auto-wrap policy.
- ``xpu``: ``trainer=xpu``'s Lightning accelerator for Intel GPUs.
"""
