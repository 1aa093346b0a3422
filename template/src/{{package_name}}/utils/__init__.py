"""Torch-level helpers that models and datamodules build on (no run lifecycle here).

- ``seeding``: one master seed, derived seeds per random stream, deterministic mode.
- ``sampling``: epoch orders that depend only on (seed, epoch); batches as index tensors.
- ``batches``: in-memory datasets served a whole batch at a time, and their DataLoaders.
- ``epoch_metrics``: loss and accuracy accumulated on the device, computed once per epoch.
- ``optim``: optimizers and learning-rate schedules by name.
- ``step_logging``: which training steps Lightning writes to the loggers.
- ``hardware``: mixed precision, TF32, pinned memory and CPU threads for this machine.
- ``supervised``: loss, epoch metrics and optimization around a network (``SupervisedModule``).
- ``layers``: building blocks (``MLP``).
- ``files``, ``processed``, ``splits``: reading data files with one-line errors, processed
  caches keyed by the files and settings, deterministic stratified splits.
- ``images``, ``text_encoding``: decoding and augmenting images; byte and character encoding.
- ``predictions``: the datamodule hooks ``predict`` uses, and writing predictions files.

The run lifecycle (trainer, checkpoints, manifest, signals) is in ``<package>.run``.
"""
