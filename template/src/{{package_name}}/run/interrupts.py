"""Interrupted runs that can be resumed: SIGTERM and Ctrl-C stop after the current batch.

``GracefulShutdown`` turns SIGTERM (a scheduler's preemption, ``docker stop``, ``kill``) and
the first Ctrl-C (SIGINT) into a clean stop after the current batch, with a checkpoint to
resume from. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from .divergence import weights_finite

log = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class RunInterrupted(BaseException):
    """The run stopped on a signal; ``signum`` is the signal's number."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(f"interrupted by {signal.Signals(self.signum).name}")


class GracefulShutdown(Callback):
    """Stop on SIGTERM or SIGINT after the current batch and save ``checkpoint_path``.

    Use ``handling_signals()`` around the whole run. While ``trainer.fit`` trains, a signal asks
    Lightning to stop at the next batch boundary (Lightning raises ``SIGTERMException``), and
    this callback saves a checkpoint there. Outside training (set-up, testing) a signal raises
    ``RunInterrupted`` at once. Either way the caller sees ``RunInterrupted``.
    """

    def __init__(
        self, checkpoint_path: str | Path, on_saved: Callable[[Path], None] | None = None
    ) -> None:
        """Save the interrupted run's checkpoint to ``checkpoint_path``, then call ``on_saved``."""
        self.checkpoint_path = Path(checkpoint_path)
        self.received: int | None = None
        self.saved: Path | None = None
        self._training = False
        self._on_saved = on_saved

    @contextmanager
    def handling_signals(self) -> Iterator[GracefulShutdown]:
        """Install the signal handlers for the block; turn Lightning's stop into RunInterrupted.

        Signal handlers can only be installed from the main thread, and Lightning handles
        SIGTERM on POSIX systems only: elsewhere the block runs with the process's handlers.
        """
        if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.getsignal(signum) for signum in HANDLED_SIGNALS}
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, self._on_signal)
        try:
            yield self
        except SIGTERMException:
            raise RunInterrupted(self.received or signal.SIGTERM) from None
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        first = self.received is None
        self.received = self.received or signum
        if not self._training:
            raise RunInterrupted(signum)
        if first:
            log.warning(
                "Received %s: stopping after this batch and saving %s (Ctrl-C again to abort).",
                signal.Signals(signum).name,
                self.checkpoint_path,
            )
        if signum != signal.SIGTERM:
            # Lightning's SIGTERM handler (which calls this one too) makes it stop cleanly.
            signal.raise_signal(signal.SIGTERM)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """From here on, Lightning's own SIGTERM handler runs: signals stop at a batch end."""
        self._training = True

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Training is over: signals interrupt at once again."""
        self._training = False

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        """Save the checkpoint when Lightning stopped training because of a signal."""
        self._training = False
        fitting = trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking
        if not (isinstance(exception, SIGTERMException) and fitting):
            return
        if trainer.world_size > 1:
            log.warning("Not saving on interrupt with %d processes.", trainer.world_size)
            return
        if not weights_finite(pl_module):
            log.warning("Not saving %s: the weights are not finite.", self.checkpoint_path)
            return
        trainer.save_checkpoint(self.checkpoint_path)
        self.saved = self.checkpoint_path
        log.warning("Saved %s (step %d).", self.checkpoint_path, trainer.global_step)
        if self._on_saved is not None:
            self._on_saved(self.checkpoint_path)
