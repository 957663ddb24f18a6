"""Kernel Inception Distance (Bińkowski et al., 2018): unbiased MMD^2 with a cubic polynomial kernel."""

import numpy as np

from kspec.errors import SpecError
from kspec.metrics.score import Score
from kspec.metrics.statistics import as_feature_array


def polynomial_kernel(x, y):
    """k(x, y) = (x . y / d + 1)^3, the KID kernel, for all pairs of rows of `x` and `y`."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y):
    """Unbiased estimate of MMD^2 between the samples `x` (m, d) and `y` (n, d) (Gretton et al., 2012, eq. 3).

    Within-set sums leave out the diagonal k(x_i, x_i), so the estimate is 0 in expectation when both sets come
    from one distribution (and can then be slightly negative).
    """
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return within_x + within_y - 2.0 * k_xy.mean()


def kernel_inception_distance(real_features, generated_features, subsets=100, subset_size=1000, seed=0, name="kid"):
    """KID between two feature sets: mean and spread of unbiased MMD^2 over random subsets.

    Each of `subsets` rounds draws min(subset_size, N_real, N_generated) rows of each set without replacement
    and computes the unbiased MMD^2. Unlike FID it has no bias in N, so it is the score to use for small sample
    counts. The spread is 0 only when both sets have the same N <= subset_size (every round then uses both
    whole); otherwise the larger set is subsampled differently in each round.

    Args:
        real_features: array `(n_real, d)`.
        generated_features: array `(n_generated, d)`, from the same extractor.
        subsets: number of rounds (100 as in Bińkowski et al.).
        subset_size: rows per round and set (1000 as in Bińkowski et al.).
        seed: seed of the draws.
        name: log key: `kid` for the Inception network, `kid_<extractor>` otherwise.

    Returns:
        A `Score`: mean over the rounds, their population standard deviation, `n` the generated count and
        `n_reference` the real count.

    Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(200, 8))
    >>> kernel_inception_distance(x, x + 1.0, subsets=10).value > 0.1
    True
    """
    real = as_feature_array(real_features, "real_features")
    generated = as_feature_array(generated_features, "generated_features")
    if real.shape[1] != generated.shape[1]:
        raise SpecError(
            f"feature sets must have the same dimension. Received: {real.shape[1]} (real) and "
            f"{generated.shape[1]} (generated)"
        )
    for argument, value in (("subsets", subsets), ("subset_size", subset_size)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise SpecError(f"`{argument}` must be a positive integer. Received: {argument}={value!r}")
    size = min(subset_size, real.shape[0], generated.shape[0])
    if size < 2:
        raise SpecError(f"KID needs at least 2 samples in each set. Received: {real.shape[0]} and {generated.shape[0]}")

    rng = np.random.default_rng(seed)
    estimates = np.empty(subsets)
    for index in range(subsets):
        x = real[rng.choice(real.shape[0], size, replace=False)]
        y = generated[rng.choice(generated.shape[0], size, replace=False)]
        estimates[index] = mmd2_unbiased(x, y)
    return Score(name, float(estimates.mean()), std=float(estimates.std()), n=generated.shape[0], n_reference=real.shape[0])
