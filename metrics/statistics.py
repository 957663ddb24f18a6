"""Streaming mean and covariance of feature vectors, in O(d^2) memory, saved and loaded as `.npz`.

Batches are merged with the pairwise update of Chan, Golub & LeVeque (1979): each batch is centred on its own
mean before its scatter matrix is formed, so large feature means do not cancel catastrophically as they would
in a raw running sum of X^T X. Everything is accumulated in float64.
"""

import os

import numpy as np

from kspec.errors import SpecError


def as_feature_array(value, argument):
    """`value` as a float64 `(samples, dim)` array of finite features; a `SpecError` naming `argument` otherwise.

    Example:
    >>> as_feature_array([[1, 2], [3, 4]], "features").dtype
    dtype('float64')
    """
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2:
        raise SpecError(f"`{argument}` must be a 2-D array (samples, dim). Received: shape={array.shape}")
    if not np.all(np.isfinite(array)):
        raise SpecError(f"`{argument}` contains NaN or infinite values")
    return array


class FeatureStatistics:
    """Running count, mean and scatter matrix of d-dimensional features.

    The covariance is the unbiased sample covariance (divided by N - 1), as in the FID definition of
    Heusel et al. (2017). Memory is O(d^2) whatever the number of samples.

    Args:
        dim: feature dimension; `None` to take it from the first batch.
        extractor: name of the feature extractor, kept in the saved file so statistics from different
            networks are not compared by mistake.

    Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(100, 3))
    >>> stats = FeatureStatistics()
    >>> for batch in np.array_split(x, 7):
    ...     _ = stats.update(batch)
    >>> stats.count, bool(np.allclose(stats.covariance, np.cov(x, rowvar=False)))
    (100, True)
    """

    def __init__(self, dim=None, extractor=""):
        if dim is not None and (not isinstance(dim, (int, np.integer)) or dim < 1):
            raise ValueError(f"Invalid value for argument `dim`: expected a positive integer. Received: dim={dim!r}")
        self.extractor = extractor
        self.count = 0
        self._mean = None if dim is None else np.zeros(dim)  # holds the declared dim until the first batch
        self._scatter = None  # the first non-empty batch sets it, and it is read only from two samples on

    @property
    def dim(self):
        return None if self._mean is None else self._mean.shape[0]

    def update(self, features):
        """Adds a batch of features, an array of shape `(batch, d)`; returns `self`."""
        batch = np.asarray(features, dtype=np.float64)
        if batch.ndim != 2:
            raise SpecError(f"features must be a 2-D array (samples, dim). Received: shape={batch.shape}")
        if self.dim is not None and batch.shape[1] != self.dim:
            raise SpecError(f"features must have dim {self.dim}. Received: shape={batch.shape}")
        if not np.all(np.isfinite(batch)):
            raise SpecError("features contain NaN or infinite values; check the generator's output and the extractor")
        n_batch = batch.shape[0]
        if n_batch == 0:
            return self
        batch_mean = batch.mean(axis=0)
        centred = batch - batch_mean
        batch_scatter = centred.T @ centred
        if self.count == 0:
            self._mean, self._scatter = batch_mean, batch_scatter
        else:
            # Chan et al. (1979): M2 = M2_a + M2_b + delta delta^T * n_a n_b / n.
            total = self.count + n_batch
            delta = batch_mean - self._mean
            self._scatter = self._scatter + batch_scatter + np.outer(delta, delta) * (self.count * n_batch / total)
            self._mean = self._mean + delta * (n_batch / total)
        self.count += n_batch
        return self

    @property
    def mean(self):
        self._require(1)
        return self._mean.copy()

    @property
    def covariance(self):
        self._require(2)
        # The scatter matrix is symmetric by construction up to rounding; make it exactly so.
        scatter = (self._scatter + self._scatter.T) / 2
        return scatter / (self.count - 1)

    def _require(self, minimum):
        if self.count < minimum:
            raise SpecError(
                f"statistics need at least {minimum} feature vector(s). Received: {self.count} "
                f"(extractor `{self.extractor or '?'}`)"
            )

    @classmethod
    def from_features(cls, features, extractor=""):
        """Statistics of one array of features, shape `(samples, d)`."""
        return cls(extractor=extractor).update(features)

    @classmethod
    def from_moments(cls, mean, covariance, count, extractor=""):
        """Statistics from a mean, an (N - 1)-normalised covariance and a count; they can keep streaming."""
        mean = np.asarray(mean, dtype=np.float64)
        covariance = np.asarray(covariance, dtype=np.float64)
        count = int(count)
        if mean.ndim != 1 or covariance.shape != (mean.shape[0], mean.shape[0]):
            raise SpecError(
                f"expected a mean of shape (d,) and a covariance of shape (d, d). "
                f"Received: mean shape {mean.shape}, covariance shape {covariance.shape}"
            )
        if count < 2:
            raise SpecError(f"expected a sample count of at least 2. Received: N={count}")
        stats = cls(extractor=extractor)
        stats.count, stats._mean, stats._scatter = count, mean, covariance * (count - 1)
        return stats

    def save(self, path):
        """Writes `mu`, `sigma`, `N` (and `extractor`) to an `.npz` file; returns the path written."""
        path = os.fspath(path)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # Write next to the target and rename, so a reader never sees half a file.
        temporary = f"{path}.{os.getpid()}.tmp.npz"
        try:
            np.savez(temporary, mu=self.mean, sigma=self.covariance, N=np.int64(self.count), extractor=self.extractor)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):  # a failed write (full disk) leaves no half file behind
                os.remove(temporary)
        return path

    @classmethod
    def load(cls, path):
        """Reads statistics written by `save` (or any `.npz` holding `mu`, `sigma` and `N`)."""
        path = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [key for key in ("mu", "sigma", "N") if key not in data.files]
                if missing:
                    raise SpecError(
                        f"{path}: expected arrays `mu`, `sigma` and `N` in the statistics file. "
                        f"Missing: {', '.join(missing)}"
                    )
                extractor = str(data["extractor"]) if "extractor" in data.files else ""
                return cls.from_moments(data["mu"], data["sigma"], int(data["N"]), extractor=extractor)
        except (OSError, ValueError) as error:
            raise SpecError(f"{path}: cannot read feature statistics ({error})") from None

    def __repr__(self):
        return f"FeatureStatistics(dim={self.dim}, count={self.count}, extractor={self.extractor!r})"
