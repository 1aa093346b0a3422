"""Datasets and LightningDataModules; importing this package registers the built-in ones."""

from .synthetic import SyntheticClassificationDataModule, make_classification

__all__ = ["SyntheticClassificationDataModule", "make_classification"]
