"""Fréchet distance between two Gaussians, the quantity behind FID (Heusel et al., 2017).

    d^2 = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr sqrt(S1 S2)

Tr sqrt(S1 S2) is the sum of the square roots of the eigenvalues of S1 S2. That product is not symmetric, but
for any factor S1 = F F^T it is F (F^T S2) while F^T S2 F = (F^T S2) F, and XY and YX have the same
eigenvalues; F^T S2 F is symmetric positive semi-definite, so a symmetric eigensolver applies (no general matrix
square root, no complex arithmetic, no eigenvalues of a non-symmetric matrix). F is the Cholesky factor of S1 (or of S2,
with the roles swapped, since S2 S1 has the same eigenvalues) and, when both are singular (N <= d samples)
and Cholesky breaks down, the pivoted Cholesky factor of S1 truncated at its numerical rank.
"""

import ctypes
import functools
import warnings

import numpy as np
from scipy.linalg import lapack

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

    trace_sqrt = _trace_sqrt_product(sigma1, sigma2)

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
    >>> round(frechet_score(s, s, name="fd_toy").value, 9)  # a Gaussian's distance to itself, up to rounding
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


def _trace_sqrt_product(sigma1, sigma2):
    """Tr sqrt(sigma1 sigma2) as the sum of square roots of the eigenvalues of a symmetric matrix similar to it.

    With any factor sigma1 = F F^T, F^T sigma2 F has the eigenvalues of F F^T sigma2. With F the Cholesky
    factor (LAPACK potrf, d^3/3 flops, backward stable whenever it completes), LAPACK's sygst forms F^T sigma2 F
    in d^3 flops, exploiting the symmetry of sigma2 and of the result (two triangular products would take 2 d^3,
    the plain product 4 d^3). Cholesky breaks down when sigma1 is singular (N <= d samples); since sigma2 sigma1
    has the same eigenvalues, sigma2's factor is tried next (typically the reference set is large and only the
    generated set small). When both are singular, F is sigma1's pivoted Cholesky factor (Higham, "Analysis of
    the Cholesky decomposition of a semi-definite matrix", 1990), d x r with r its numerical rank.
    """
    if sigma1.shape[0] == 0:
        return 0.0
    for first, second in ((sigma1, sigma2), (sigma2, sigma1)):
        # Both matrices are symmetric, so the transpose (a Fortran-ordered view) spares LAPACK a reordering copy.
        factor, info = lapack.dpotrf(first.T, lower=1, clean=0)
        if info == 0:
            middle, _ = lapack.dsygst(second.T, factor, itype=2, lower=1)
            break
    else:
        middle = _pivoted_cholesky_product(sigma1, sigma2)
    # Eigenvalues of a PSD matrix that rounding pushed slightly below zero are zero.
    return np.sqrt(np.clip(_symmetric_eigenvalues(middle), 0.0, None)).sum()


def _pivoted_cholesky_product(sigma1, sigma2):
    """F^T sigma2 F (r x r, lower triangle) for the pivoted Cholesky factor F of a singular sigma1 (d x r).

    LAPACK pstrf stops at rank r when the largest remaining pivot falls below d * eps * max(diag sigma1); the
    remainder it drops is rounding noise (eigenvalues below that tolerance), whose square roots the other paths
    would add to the trace.
    """
    factor, pivots, rank, _ = lapack.dpstrf(sigma1.T, lower=1)
    if rank == 0:
        return np.zeros((0, 0))
    # pstrf factors P^T sigma1 P = L L^T; F = P L, so row k of L is row pivots[k] of F.
    permuted = np.tril(factor[:, :rank])
    order = pivots - 1
    middle = permuted.T @ (sigma2[np.ix_(order, order)] @ permuted)
    return np.asfortranarray(middle)


def _symmetric_eigenvalues(matrix):
    """Eigenvalues of a symmetric matrix given by its lower triangle (Fortran order); the matrix is overwritten.

    The eigenvalues take most of the distance's time. LAPACK's two-stage solver (dsyevd_2stage: a blocked
    reduction to band form, then band to tridiagonal) does the reduction in matrix-matrix form, but scipy does
    not wrap it; it is called from the OpenBLAS that scipy's wheels bundle, where present, from
    `_TWO_STAGE_MIN_DIM` on (see there), and scipy's one-stage dsyevd runs otherwise.
    """
    dim = matrix.shape[0]
    if dim == 0:
        return np.zeros(0)
    two_stage = _two_stage_eigensolver() if dim >= _TWO_STAGE_MIN_DIM else None
    return _eigenvalues_two_stage(matrix, two_stage) if two_stage is not None else _eigenvalues_one_stage(matrix)


def _eigenvalues_one_stage(matrix):
    lwork, liwork, _ = lapack.dsyevd_lwork(matrix.shape[0], compute_v=0, lower=1)
    # The wrapper's default workspace is the minimum, which forces the unblocked tridiagonal reduction and
    # costs 1.7x more at d = 2048; the queried size allows the blocked one.
    eigenvalues, _, info = lapack.dsyevd(matrix, compute_v=0, lower=1, lwork=int(lwork), liwork=int(liwork), overwrite_a=1)
    return _checked(eigenvalues, info)


def _eigenvalues_two_stage(matrix, two_stage):
    dim = matrix.shape[0]
    matrix = np.require(matrix, np.float64, ["F_CONTIGUOUS", "WRITEABLE", "ALIGNED"])
    eigenvalues = np.empty(dim)
    info = two_stage(_COLUMN_MAJOR, b"N", b"L", dim, matrix.ctypes.data, dim, eigenvalues.ctypes.data)
    return _checked(eigenvalues, info)


def _checked(eigenvalues, info):
    if info != 0:
        raise np.linalg.LinAlgError(f"symmetric eigensolver failed (LAPACK info={info})")
    return eigenvalues


_COLUMN_MAJOR = 102  # LAPACKE's LAPACK_COL_MAJOR
# From `python benchmarks/bench_frechet.py --only-eigensolvers --cpu-time` with OPENBLAS_NUM_THREADS=1 on the
# 2-core development VM (two runs, 9 alternating repetitions each, median of paired one-stage/two-stage CPU-time
# ratios): the two-stage solver is slower up to d = 1536 (0.57-0.93x) and faster from d = 2048 (1.08x in both
# runs, 1.22-1.25x at 2560-3072); at 1792 it breaks even (1.03x).
_TWO_STAGE_MIN_DIM = 2048


@functools.cache
def _two_stage_eigensolver():
    """LAPACKE_dsyevd_2stage of the OpenBLAS in scipy's wheels (32-bit integers: its 64-bit build names its
    symbols `..._64_`), or None where scipy links another LAPACK."""
    try:
        from scipy.linalg import _flapack

        function = ctypes.CDLL(_flapack.__file__).scipy_LAPACKE_dsyevd_2stage
    except (ImportError, OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    return function


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
    # max and min propagate NaN and reach inf: they check finiteness and give the scale without a temporary.
    high, low = float(array.max(initial=0.0)), float(array.min(initial=0.0))
    if not (np.isfinite(high) and np.isfinite(low)):
        raise SpecError(f"`{argument}` contains NaN or infinite values")
    scale = max(high, -low)
    asymmetry = _asymmetry(array)
    if asymmetry > 1e-6 * max(scale, np.finfo(np.float64).tiny):
        raise SpecError(f"`{argument}` must be a symmetric covariance matrix; it is not symmetric")
    # Covariances from X^T X products are exactly symmetric and pass through without a copy.
    return (array + array.T) / 2 if asymmetry > 0 else array


def _asymmetry(array, block=128):
    """max |a_ij - a_ji|, compared block against transposed block: a whole-matrix `a - a.T` walks the
    transpose across cache lines and costs 7x more at d = 2048."""
    worst = 0.0
    for i in range(0, array.shape[0], block):
        for j in range(0, i + 1, block):
            difference = array[i : i + block, j : j + block] - array[j : j + block, i : i + block].T
            worst = max(worst, float(np.abs(difference).max(initial=0.0)))
    return worst
