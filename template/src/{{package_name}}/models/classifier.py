"""A LightningModule that trains an MLP classifier with cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from ..registry import MODELS
from ..utils.layers import MLP
from ..utils.supervised import SupervisedModule
from ..validation import fraction, int_list, positive_int


@MODELS.register("mlp_classifier")
class ClassifierModule(SupervisedModule):
    """An MLP classifier; loss, metrics and optimizer come from ``SupervisedModule``.

    Every argument is a plain number, string or list, saved with ``save_hyperparameters()``, so a
    checkpoint rebuilds the module with ``torch.load(..., weights_only=True)`` (no pickled
    objects). Logs ``train/loss``, ``train/acc``, ``val/loss``, ``val/acc``, ``test/loss`` and
    ``test/acc`` once per epoch. A bad argument raises ``InvalidValueError`` naming it
    (``model.lr``, one line at the command line).
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        hidden_dims: Sequence[int] = (128, 128),
        dropout: float = 0.1,
        lr: float = 3e-3,
        weight_decay: float = 1e-2,
        optimizer: str = "adamw",
        scheduler: str = "cosine",
    ) -> None:
        super().__init__(
            task="classification",
            num_outputs=num_classes,
            lr=lr,
            weight_decay=weight_decay,
            optimizer=optimizer,
            scheduler=scheduler,
        )
        input_dim = positive_int("input_dim", input_dim)
        # save_hyperparameters() reads the arguments' current values: store plain, checked ones.
        hidden_dims = int_list("hidden_dims", hidden_dims)
        dropout = fraction("dropout", dropout, open_high=True)
        lr, weight_decay = self.optim_settings["lr"], self.optim_settings["weight_decay"]
        self.save_hyperparameters()
        self.net = MLP(input_dim, hidden_dims, num_classes, dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Return class logits of shape ``(batch, num_classes)``."""
        return self.net(x)
