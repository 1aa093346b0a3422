"""Process-wide setup shared by training and evaluation runs."""

from __future__ import annotations

import logging
import warnings

from omegaconf import DictConfig

from .hardware import configure_matmul_precision, set_cpu_threads
from .seeding import seed_everything

# Lightning suggests DataLoader workers; for in-memory tensors they only add start-up time.
_EXPECTED_WARNINGS = (r".*does not have many workers.*",)


def prepare_run(cfg: DictConfig) -> None:
    """Seed everything from ``cfg.seed``, apply ``cfg.deterministic`` and tune the hardware."""
    for message in _EXPECTED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    log_once()
    seed_everything(int(cfg.seed), deterministic=bool(cfg.get("deterministic", False)))
    configure_matmul_precision()
    threads = cfg.get("cpu_threads")
    set_cpu_threads(None if threads is None else int(threads))


def log_once() -> None:
    """Drop the console handler ``import lightning`` adds when the root logger already has one.

    Under Hydra (or pytest) the root logger prints and files every record; Lightning's own
    handler would print each of its messages a second time.
    """
    import lightning  # noqa: F401  (installs the handler this removes)

    if not logging.getLogger().handlers:
        return
    lightning_logger = logging.getLogger("lightning")
    for handler in list(lightning_logger.handlers):
        if type(handler) is logging.StreamHandler:
            lightning_logger.removeHandler(handler)
