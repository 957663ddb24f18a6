"""What a data source returns: in-memory NumPy arrays plus what the pipeline needs to know about them.

A source returns either `Examples` (independent examples, split at random) or a `Series` (one time series,
split chronologically and then cut into windows, so that no validation value is seen in training). Translation
sources return two image domains (`kspec.data.domains.Domains`), which the pipeline splits into `Examples`.
"""

from __future__ import annotations  # NumPy only in annotations: `kspec validate` imports this without NumPy

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

TASKS = ("classification", "segmentation", "forecasting", "regression", "reconstruction", "generation", "translation",
         "unpaired_translation")


@dataclass
class Examples:
    """Independent examples as NumPy arrays.

    Args:
        inputs: model inputs, first axis the example (images are NHWC float32).
        targets: what the model should output per example, or None (generative models train on inputs only).
        task: one of `TASKS`; `reconstruction` means the targets are the inputs themselves; `translation`
            means the targets are images of another domain, `targets[i]` the translation of `inputs[i]`;
            `unpaired_translation` that they are images of another domain unrelated to the inputs.
        num_classes: number of classes for `classification` and `segmentation`, else None.
        value_range: `(low, high)` of raw input values, for `unit`/`symmetric` scaling; None to take the
            training inputs' minimum and maximum.
        default_normalize: the `normalize` used when the spec does not say.
        class_names: names of the classes, when the source knows them.

    Example:
    >>> import numpy as np
    >>> examples = Examples(np.zeros((4, 2), "float32"), np.arange(4), task="classification", num_classes=4)
    >>> len(examples)
    4
    """

    inputs: np.ndarray
    targets: np.ndarray | None
    task: str
    num_classes: int | None = None
    value_range: tuple | None = None
    default_normalize: str = "none"
    class_names: tuple | None = None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}. Received: task={self.task!r}")
        if self.targets is not None and len(self.targets) != len(self.inputs):
            raise ValueError(f"inputs and targets differ in length: {len(self.inputs)} != {len(self.targets)}")

    def __len__(self):
        return len(self.inputs)

    def subset(self, indices):
        """The examples at `indices`, with the same description."""
        targets = None if self.targets is None else self.targets[indices]
        return Examples(self.inputs[indices], targets, self.task, self.num_classes, self.value_range,
                        self.default_normalize, self.class_names)


@dataclass
class Series:
    """One multivariate time series to forecast from: the pipeline splits, normalizes, then windows it.

    Args:
        values: float array `(time, features)`.
        window: past time steps in one input.
        horizon: future steps of the target feature to predict.
        target_feature: index of the feature to forecast.
        stride: steps between the starts of consecutive windows.
        feature_names: names of the features (CSV column names), for `describe()`.
        default_normalize: the `normalize` used when the spec does not say.

    Example:
    >>> import numpy as np
    >>> series = Series(np.arange(10, dtype="float32")[:, None], window=3, horizon=2)
    >>> series.values.shape
    (10, 1)
    """

    values: np.ndarray
    window: int
    horizon: int
    target_feature: int = 0
    stride: int = 1
    feature_names: tuple = field(default_factory=tuple)
    default_normalize: str = "none"

    task = "forecasting"

    def __post_init__(self):
        if self.values.ndim != 2:
            raise ValueError(f"values must be (time, features). Received shape {self.values.shape}")

    def __len__(self):
        return len(self.values)
