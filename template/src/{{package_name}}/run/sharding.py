"""Sharded training: FSDP2 (``torch.distributed.fsdp.fully_shard``) for any LightningModule.

``FullyShardStrategy`` is Lightning's ``ModelParallelStrategy`` (FSDP2, which also runs on the
CPU with gloo, unlike Lightning's ``FSDPStrategy``) plus an auto-wrap policy, so a model needs
no sharding code of its own. Each submodule whose class is named in ``auto_wrap`` becomes its own
FSDP unit, then the whole model does: parameters, gradients and optimizer states are split
across the processes, and a unit's full parameters exist only while it computes. Name the
model's repeated blocks (``[TransformerBlock]``): more units save more memory and communicate
more often. A model that defines ``configure_model`` shards itself (Lightning's contract for
``ModelParallelStrategy``) and ``auto_wrap`` is left unused.

Checkpoints are sharded (``save_distributed_checkpoint``): ``last.ckpt`` is a folder with one
file per process plus ``meta.pt``, and a run resumes from it with the same number of processes.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Iterable
from typing import Any

from lightning.pytorch import LightningModule
from lightning.pytorch.strategies import ModelParallelStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden
from torch import nn

from ..errors import ConfigError


def wrap_classes(model: nn.Module, auto_wrap: Iterable[str]) -> tuple[type, ...]:
    """Resolve ``auto_wrap``: class names (``Linear``) or import paths (``torch.nn.Linear``).

    A name must match a submodule of ``model`` (by class name, or an import path the
    submodule is an instance of); otherwise it is a ``ConfigError`` listing the model's classes.
    """
    present = {type(module) for module in model.modules()}
    found: list[type] = []
    for name in auto_wrap:
        if "." in name:
            target = _import(name)
            matches = [c for c in present if issubclass(c, target)]
        else:
            matches = [c for c in present if c.__name__ == name]
        if not matches:
            known = ", ".join(sorted({c.__name__ for c in present}))
            raise ConfigError(
                f"trainer.strategy.auto_wrap: {name!r} matches no submodule of the model; "
                f"its module classes: {known}"
            )
        found += matches
    return tuple(dict.fromkeys(found))


def _import(path: str) -> type:
    """Import the class an import path names; a ``ConfigError`` when it is none."""
    module_name, _, attribute = path.rpartition(".")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        target = None
    if not isinstance(target, type):
        raise ConfigError(f"trainer.strategy.auto_wrap: {path!r} is not an importable class")
    return target


def shard(model: nn.Module, mesh: Any, auto_wrap: Iterable[str], **options: Any) -> int:
    """Apply ``fully_shard`` to the ``auto_wrap`` submodules, then to ``model``; return the count.

    Idempotent: a model already sharded is left as it is (Lightning configures the model again
    for each stage, e.g. the test after the fit).
    """
    from torch.distributed.fsdp import FSDPModule, fully_shard

    if isinstance(model, FSDPModule):
        return 0
    wanted = wrap_classes(model, auto_wrap)
    units = [m for m in model.modules() if m is not model and wanted and isinstance(m, wanted)]
    for module in reversed(units):  # innermost first: a unit's parent is sharded after it
        fully_shard(module, mesh=mesh, **options)
    fully_shard(model, mesh=mesh, **options)
    return len(units) + 1


class FullyShardStrategy(ModelParallelStrategy):
    """``ModelParallelStrategy`` that shards any model by an auto-wrap policy (FSDP2)."""

    def __init__(
        self,
        auto_wrap: Iterable[str] = (),
        reshard_after_forward: bool = True,
        save_distributed_checkpoint: bool = True,
        **kwargs: Any,
    ) -> None:
        """Shard the submodules whose class names ``auto_wrap`` lists, then the whole model.

        ``reshard_after_forward`` frees each unit's full parameters after its forward pass
        (less memory, one more all-gather in backward). The other arguments are
        ``ModelParallelStrategy``'s (``process_group_backend``, ``timeout``...); the data-parallel
        size is every process of every node.
        """
        super().__init__(save_distributed_checkpoint=save_distributed_checkpoint, **kwargs)
        self.auto_wrap = [str(name) for name in auto_wrap]
        self.reshard_after_forward = bool(reshard_after_forward)

    def setup_environment(self) -> None:
        """Build the device mesh, then give a model without ``configure_model`` the policy's.

        Lightning calls a module's ``configure_model`` hook after this, inside the strategy's
        contexts; the hook installed here shards by ``auto_wrap`` (``shard``).
        """
        # Pure data parallelism: every process holds one shard (no tensor parallelism).
        if self._tensor_parallel_size == "auto":
            self._tensor_parallel_size = 1
        if self._data_parallel_size == "auto":
            self._data_parallel_size = self.num_nodes * self.num_processes
        super().setup_environment()
        module = self.lightning_module
        if module is None or is_overridden("configure_model", module):
            return
        strategy = self

        def configure_model(model: LightningModule) -> None:
            shard(
                model,
                strategy.device_mesh["data_parallel"],
                strategy.auto_wrap,
                reshard_after_forward=strategy.reshard_after_forward,
            )

        module.configure_model = types.MethodType(configure_model, module)  # type: ignore[method-assign]
