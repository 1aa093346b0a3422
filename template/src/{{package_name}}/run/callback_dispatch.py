"""Per-batch callback hooks: Lightning calls only those a callback implements.

Lightning calls every per-batch hook (``on_train_batch_start``, ``on_before_backward``, ...,
twelve of them) on every callback, whether or not the callback's class overrides the no-op of
``Callback``. Each call opens a profiler context and builds the callback's ``state_key`` (for
``ModelCheckpoint`` and ``EarlyStopping``, a string made from their settings), so a dozen
callbacks cost a dozen times six calls on every training step. Lightning skips a hook that is
not callable (``lightning/pytorch/trainer/call.py``, ``_call_callback_hooks``): setting the
hooks a callback does not override, or cannot act on with its settings, to ``None`` on the
instance removes those calls and changes nothing else. Only per-batch hooks are touched; they
are called nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable

from lightning.pytorch import Callback
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint

BATCH_HOOKS = (
    "on_train_batch_start",
    "on_train_batch_end",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_validation_batch_start",
    "on_validation_batch_end",
    "on_test_batch_start",
    "on_test_batch_end",
    "on_predict_batch_start",
    "on_predict_batch_end",
)


def skip_unimplemented_batch_hooks(callbacks: Iterable[Callback]) -> int:
    """Set to ``None`` each per-batch hook a callback does not override or cannot act on.

    A hook cannot act when the callback's settings leave it nothing to do (``idle``). Returns
    how many hook calls per batch this saves. A callback that sets a hook on the instance
    itself (not through its class) keeps it.
    """
    skipped = 0
    for callback in callbacks:
        for hook in BATCH_HOOKS:
            if hook in vars(callback):
                continue
            if getattr(type(callback), hook, None) is getattr(Callback, hook) or idle(
                callback, hook
            ):
                setattr(callback, hook, None)
                skipped += 1
    return skipped


def idle(callback: Callback, hook: str) -> bool:
    """Whether ``hook`` of ``callback`` can do nothing with the callback's settings.

    ``ModelCheckpoint`` saves from ``on_train_batch_end`` only with ``every_n_train_steps`` or
    ``train_time_interval``; ``LearningRateMonitor`` logs from ``on_train_batch_start`` only
    with ``logging_interval`` other than ``"epoch"``.
    """
    if isinstance(callback, ModelCheckpoint) and hook == "on_train_batch_end":
        return not callback._every_n_train_steps and callback._train_time_interval is None
    if isinstance(callback, LearningRateMonitor) and hook == "on_train_batch_start":
        return callback.logging_interval == "epoch"
    return False
