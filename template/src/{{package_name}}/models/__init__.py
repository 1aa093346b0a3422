"""Your LightningModules.

Every module in this package is imported on the registry's first lookup, so a model
registered with ``@MODELS.register("name")`` in any file here is found.
"""

from .classifier import ClassifierModule

__all__ = ["ClassifierModule"]
