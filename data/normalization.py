"""How input values are scaled before training (`data.normalize`), fitted on the training split only."""

from dataclasses import dataclass

from kspec.data.lazy_numpy import np

METHODS = ("unit", "symmetric", "standardize", "none")


@dataclass(frozen=True)
class Normalization:
    """An affine scaling `normalized = (raw - offset) / scale`, per channel (last axis) or overall.

    Args:
        method: one of `METHODS`: `unit` maps the value range to [0, 1], `symmetric` to [-1, 1] (for
            tanh generators), `standardize` gives each channel zero mean and unit variance on the training
            split, `none` leaves values as they are.
        offset: subtracted first (a float, or one float per channel).
        scale: divided by next (same form as `offset`).

    Example:
    >>> import numpy as np
    >>> norm = Normalization.fit("symmetric", np.array([0.0, 255.0]), value_range=(0, 255))
    >>> norm.apply(np.array([0.0, 127.5, 255.0])).tolist()
    [-1.0, 0.0, 1.0]
    """

    method: str
    offset: tuple = (0.0,)
    scale: tuple = (1.0,)

    @classmethod
    def fit(cls, method, train_values, value_range=None):
        """The scaling of `method` for `train_values`; `value_range` (raw low, high) overrides their min/max."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}. Received: method={method!r}")
        if method == "none":
            return cls("none")
        if method == "standardize":
            # Statistics over every axis but the last: one mean and deviation per channel or feature.
            values = np.asarray(train_values, dtype="float64")
            values = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values.reshape(-1, 1)
            std = values.std(axis=0)
            std = np.where(std > 0, std, 1.0)  # a constant channel stays constant instead of dividing by 0
            return cls("standardize", tuple(values.mean(axis=0).tolist()), tuple(std.tolist()))
        low, high = value_range if value_range is not None else (np.min(train_values), np.max(train_values))
        low, high = float(low), float(high)
        width = high - low if high > low else 1.0
        if method == "unit":
            return cls("unit", (low,), (width,))
        return cls("symmetric", ((low + high) / 2,), (width / 2,))

    @property
    def output_range(self):
        """The range normalized values lie in: (0, 1) for `unit`, (-1, 1) for `symmetric`, else None.

        Example:
        >>> Normalization("symmetric").output_range
        (-1.0, 1.0)
        """
        return {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}.get(self.method)

    def apply(self, values):
        """Raw values to normalized float32 values."""
        return ((np.asarray(values, "float32") - np.float32(self.offset)) / np.float32(self.scale)).astype("float32")

    def invert(self, values):
        """Normalized values back to raw ones (for showing generated images in their original range)."""
        return (np.asarray(values, "float32") * np.float32(self.scale) + np.float32(self.offset)).astype("float32")

    def for_feature(self, index):
        """The scaling of one channel, to apply to a target that is that feature alone (forecasting)."""
        if len(self.offset) == 1:
            return self
        return Normalization(self.method, (self.offset[index],), (self.scale[index],))

    def describe(self):
        if self.method == "none":
            return "none"
        def fmt(values):
            text = ", ".join(f"{v:.4g}" for v in values)
            return text if len(values) == 1 else f"[{text}]"
        return f"{self.method} ((x - {fmt(self.offset)}) / {fmt(self.scale)})"
