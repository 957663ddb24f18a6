"""Fréchet distance between two Gaussians, the quantity behind FID (Heusel et al., 2017).

    d^2 = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr sqrt(S1 S2)

Tr sqrt(S1 S2) is the sum of the square roots of the eigenvalues of S1 S2. That product is not symmetric, but
for any factor S1 = F F^T it is F (F^T S2) while F^T S2 F = (F^T S2) F, and XY and YX have the same
eigenvalues; F^T S2 F is symmetric positive semi-definite, so a symmetric eigensolver applies (no general matrix
square root, no complex arithmetic, no eigenvalues of a non-symmetric matrix). F is the Cholesky factor of S1 (or of S2,
with the roles swapped, since S2 S1 has the same eigenvalues) and, when both are singular (N <= d samples)
and Cholesky breaks down, V diag(sqrt(w)) from the eigendecomposition S1 = V diag(w) V^T.
"""

import warnings

import numpy as np

from kspec.errors import SpecError
from kspec.metrics.score import Score


class SmallSampleWarning(UserWarning):
    """A Fréchet distance computed from no more samples than feature dimensions: rank-deficient covariance."""


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1: mean of the first Gaussian, shape `(d,)`.
        sigma1: its covariance, symmetric positive semi-definite, shape `(d, d)`; may be singular.
        mu2: mean of the second Gaussian, shape `(d,)`.
        sigma2: its covariance, shape `(d, d)`.

    Returns:
        A float >= 0 (rounding below zero is clipped; the distance of a Gaussian to itself is 0).

    Example:
    >>> import numpy as np
    >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 6)  # 2 + (2 - 1)^2 * 2
    4.0
    """
    mu1, mu2 = _vector(mu1, "mu1"), _vector(mu2, "mu2")
    dim = mu1.shape[0]
    if mu2.shape[0] != dim:
        raise SpecError(f"`mu1` and `mu2` must have the same dimension. Received: {dim} and {mu2.shape[0]}")
    sigma1, sigma2 = _covariance(sigma1, "sigma1", dim), _covariance(sigma2, "sigma2", dim)

    middle = _symmetric_similar_product(sigma1, sigma2)
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None)).sum()

    difference = mu1 - mu2
    distance = difference @ difference + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt
    return max(float(distance), 0.0)


def frechet_score(reference, generated, name="fid"):
    """Fréchet distance between two `FeatureStatistics`, with the sample counts it rests on.

    Warns (`SmallSampleWarning`) when either set has no more samples than feature dimensions: the covariance
    is then rank-deficient and the distance strongly biased upward (the bias of FID falls roughly like 1/N);
    prefer KID, which is unbiased, for small N.

    Args:
        reference: statistics of the real data (`kspec.metrics.statistics.FeatureStatistics`).
        generated: statistics of the generated samples, from the same extractor.
        name: log key of the score: `fid` for the Inception network, `fd_<extractor>` otherwise.

    Returns:
        A `Score` with `n` the generated count and `n_reference` the reference count.

    Example:
    >>> import numpy as np
    >>> from kspec.metrics.statistics import FeatureStatistics
    >>> x = np.random.default_rng(0).normal(size=(50, 4))
    >>> s = FeatureStatistics.from_features(x)
    >>> frechet_score(s, s, name="fd_toy").value
    0.0
    """
    if reference.extractor and generated.extractor and reference.extractor != generated.extractor:
        raise SpecError(
            f"statistics come from different extractors: `{reference.extractor}` (reference) and "
            f"`{generated.extractor}` (generated); compute both with the same network"
        )
    for label, stats in (("reference", reference), ("generated", generated)):
        if stats.count <= stats.dim:
            warnings.warn(
                f"{name}: {label} set has N = {stats.count} samples for {stats.dim} feature dimensions, so its "
                f"covariance is rank-deficient and the Fréchet distance is biased upward (bias ~ 1/N); use more "
                f"samples or KID, which is unbiased at small N",
                SmallSampleWarning,
                stacklevel=2,
            )
    value = frechet_distance(reference.mean, reference.covariance, generated.mean, generated.covariance)
    return Score(name, value, n=generated.count, n_reference=reference.count)


def _symmetric_similar_product(sigma1, sigma2):
    """A symmetric PSD matrix with the eigenvalues of sigma1 @ sigma2.

    With any factor sigma1 = F F^T, F^T sigma2 F has the eigenvalues of F F^T sigma2. Cholesky gives F in
    d^3/3 flops and is backward stable whenever it completes. It breaks down when sigma1 is singular (N <= d
    samples); since sigma2 sigma1 has the same eigenvalues, sigma2's Cholesky factor is tried next (typically
    the reference set is large and only the generated set small), and when both are singular
    F = V diag(sqrt(w)) from the eigendecomposition sigma1 = V diag(w) V^T, which always exists.
    """
    for first, second in ((sigma1, sigma2), (sigma2, sigma1)):
        try:
            factor = np.linalg.cholesky(first)
            break
        except np.linalg.LinAlgError:
            continue
    else:
        eigenvalues, eigenvectors = np.linalg.eigh(sigma1)
        # Eigenvalues of a PSD matrix that rounding pushed slightly below zero are zero.
        factor = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))[None, :]
        second = sigma2
    middle = factor.T @ second @ factor
    return (middle + middle.T) / 2


def _vector(value, argument):
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1:
        raise SpecError(f"`{argument}` must be a vector of shape (d,). Received: shape={array.shape}")
    if not np.all(np.isfinite(array)):
        raise SpecError(f"`{argument}` contains NaN or infinite values")
    return array


def _covariance(value, argument, dim):
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (dim, dim):
        raise SpecError(f"`{argument}` must have shape ({dim}, {dim}). Received: shape={array.shape}")
    if not np.all(np.isfinite(array)):
        raise SpecError(f"`{argument}` contains NaN or infinite values")
    scale = max(float(np.abs(array).max()), np.finfo(np.float64).tiny)
    if float(np.abs(array - array.T).max()) > 1e-6 * scale:
        raise SpecError(f"`{argument}` must be a symmetric covariance matrix; it is not symmetric")
    return (array + array.T) / 2
