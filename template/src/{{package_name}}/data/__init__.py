"""Your LightningDataModules.

Every module in this package is imported on the registry's first lookup, so a datamodule
registered with ``@DATAMODULES.register("name")`` in any file here is found.
"""

from .synthetic import SyntheticClassificationDataModule, make_classification

__all__ = ["SyntheticClassificationDataModule", "make_classification"]
