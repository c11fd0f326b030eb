"""Datasets for NN Designer: the built-in ones, CSV files and folders of images, split for training.

``load_dataset(spec, base_dir)`` turns a project's ``dataset`` block into a ``Dataset`` of torch tensors;
``describe(spec)`` summarises one in a line. Everything a user can get wrong raises ``DataError``.
numpy only at import: torch loads when tensors are first made, Pillow when images are first read.
"""
from .builtin import BUILTIN_DATASETS
from .dataset import CLASSIFICATION, REGRESSION, Dataset
from .errors import SILENT, DataError, LoadCancelled, Progress
from .loading import KINDS, describe, load_dataset

__all__ = ["BUILTIN_DATASETS", "CLASSIFICATION", "KINDS", "REGRESSION", "SILENT", "DataError", "Dataset",
           "LoadCancelled", "Progress", "describe", "load_dataset"]
