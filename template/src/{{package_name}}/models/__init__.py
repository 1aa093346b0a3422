"""Networks and LightningModules; importing this package registers the built-in models."""

from .classifier import ClassifierModule
from .mlp import MLP

__all__ = ["MLP", "ClassifierModule"]
