"""k-nearest-neighbour precision and recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020).

FID mixes quality and variety into one number; these four separate them. Each sample's neighbourhood is the
closed ball around it whose radius is the distance to its k-th nearest neighbour in its own set (the sample
itself not counted); the union of the balls of a set estimates the support of its distribution.

With real features x_1..x_N, generated features y_1..y_M, r(x_i) and r(y_j) the k-NN radii:

- precision = 1/M sum_j [y_j lies in some real ball]: how much of the generated data looks real;
- recall = 1/N sum_i [x_i lies in some generated ball]: how much of the real data the generator reaches;
- density = 1/(kM) sum_j #{i : y_j in the ball of x_i}: precision that counts how many real balls hold each
  sample, so a few real outliers with large balls cannot inflate it (about 1 when both sets come from one
  distribution; can exceed 1);
- coverage = 1/N sum_i [the ball of x_i holds some y_j]: recall measured with real balls only, robust to
  generated outliers.

Distances are Euclidean, computed in float64 in blocks of rows, so memory is O(block * max(N, M)) and
10,000 x 10,000 feature sets (d = 128) peak at 187 MiB.
"""

import numpy as np

from kspec.errors import SpecError
from kspec.metrics.score import Score
from kspec.metrics.statistics import as_feature_array

METRICS = ("precision", "recall", "density", "coverage")
DEFAULT_K = 3
# Rows per block of the distance matrix: 2^22 float64 distances (32 MiB) at most at a time; a block and its
# few temporaries then stay under 200 MiB.
_BLOCK_ELEMENTS = 2**22


def nearest_neighbor_radii(features, k=DEFAULT_K, block_rows=None):
    """Distance from each row of `features` to its k-th nearest other row.

    Args:
        features: array `(n, d)` with n > k.
        k: which neighbour (1 is the nearest).
        block_rows: rows per block of the distance matrix; default so a block holds 2^22 distances.

    Returns:
        Array `(n,)`.

    Example:
    >>> nearest_neighbor_radii(np.array([[0.0], [1.0], [3.0]]), k=1).tolist()
    [1.0, 1.0, 2.0]
    """
    features = as_feature_array(features, "features")
    _check_k(k, features.shape[0], "features")
    return np.sqrt(_squared_radii(_Distances(features, features, block_rows), k))


def precision_recall_density_coverage(real_features, generated_features, k=DEFAULT_K, metrics=METRICS,
                                      block_rows=None):
    """The k-NN manifold metrics of generated features against real ones.

    A sample on the boundary of a ball counts as inside (closed balls, as in Kynkäänniemi et al.; Naeem et
    al.'s code uses open ones). This matters only for ties, such as identical sets, where density is
    (k + 1) / k: each sample is the centre of its own ball and its k-th neighbour lies on the boundary.

    Args:
        real_features: array `(N, d)`.
        generated_features: array `(M, d)` from the same extractor.
        k: neighbourhood size, 3 as in both papers (k = 5 in Naeem et al.'s code for density and coverage).
        metrics: any of `precision`, `recall`, `density`, `coverage`; only the distances they need are computed.
        block_rows: rows per block of each distance matrix (default: 2^22 distances per block).

    Returns:
        A dict from metric name to its value (a float).

    Example:
    >>> x = np.random.default_rng(0).normal(size=(50, 4))
    >>> scores = precision_recall_density_coverage(x, x)
    >>> scores["precision"], scores["recall"], scores["coverage"], round(scores["density"], 4)  # (k + 1) / k
    (1.0, 1.0, 1.0, 1.3333)
    """
    real = as_feature_array(real_features, "real_features")
    generated = as_feature_array(generated_features, "generated_features")
    if real.shape[1] != generated.shape[1]:
        raise SpecError(f"feature sets must have the same dimension. Received: {real.shape[1]} (real) and "
                        f"{generated.shape[1]} (generated)")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise SpecError(f"unknown metric(s) {', '.join(map(repr, unknown))}; expected any of {', '.join(METRICS)}")
    wanted = set(metrics)
    _check_k(k, real.shape[0], "real_features")
    if "recall" in wanted:
        _check_k(k, generated.shape[0], "generated_features")
    # Distances do not change under a common shift; centring on the real mean keeps the norms in the
    # expansion ||a||^2 + ||b||^2 - 2 a.b small, and with them its rounding error.
    centre = real.mean(axis=0)
    real, generated = real - centre, generated - centre
    results = {}
    real_radii = _squared_radii(_Distances(real, real, block_rows), k) if wanted - {"recall"} else None
    if wanted & {"precision", "density"}:
        inside, balls = 0, 0
        for _, within in _Distances(generated, real, block_rows).within(real_radii):
            inside += int(within.any(axis=1).sum())  # generated row j lies in some real ball
            balls += int(within.sum())  # in how many
        results["precision"] = inside / generated.shape[0]
        results["density"] = balls / (k * generated.shape[0])
    if "recall" in wanted:
        generated_radii = _squared_radii(_Distances(generated, generated, block_rows), k)
        reached = sum(int(within.any(axis=1).sum())
                      for _, within in _Distances(real, generated, block_rows).within(generated_radii))
        results["recall"] = reached / real.shape[0]
    if "coverage" in wanted:
        # Real row i is covered when its own ball holds some generated sample: compare along rows.
        covered = 0
        for start, within in _Distances(real, generated, block_rows).within(real_radii, along_rows=True):
            covered += int(within.any(axis=1).sum())
        results["coverage"] = covered / real.shape[0]
    return {metric: results[metric] for metric in metrics}


def manifold_scores(real_features, generated_features, k=DEFAULT_K, metrics=METRICS, names=None, block_rows=None):
    """`precision_recall_density_coverage` as `Score`s (with N, reference N and k), keyed by log name.

    Args:
        real_features, generated_features, k, metrics, block_rows: as `precision_recall_density_coverage`.
        names: log name of each metric (default: the metric names), e.g. `{"precision": "precision_digits"}`.

    Returns:
        A dict from log name to `Score`.
    """
    values = precision_recall_density_coverage(real_features, generated_features, k, metrics, block_rows)
    names = names or {}
    n_generated, n_real = np.shape(generated_features)[0], np.shape(real_features)[0]
    return {
        names.get(metric, metric): Score(names.get(metric, metric), value, n=n_generated, n_reference=n_real)
        for metric, value in values.items()
    }


class _Distances:
    """Squared Euclidean distances between the rows of two arrays, one block of rows at a time."""

    def __init__(self, rows, columns, block_rows=None):
        self.rows, self.columns = rows, columns
        self.block_rows = block_rows or max(1, _BLOCK_ELEMENTS // max(1, columns.shape[0]))
        self.row_norms = np.einsum("ij,ij->i", rows, rows)
        self.column_norms = np.einsum("ij,ij->i", columns, columns)

    def blocks(self):
        """Yields `(start, squared, slack)` for `rows[start:start + block_rows]` against every column."""
        for start in range(0, self.rows.shape[0], self.block_rows):
            block = self.rows[start : start + self.block_rows]
            norms = self.row_norms[start : start + block.shape[0], None] + self.column_norms[None, :]
            # ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, rounded within a few hundred ulps of the norms: the
            # slack, so that a pair at exactly a ball's radius (the k-th neighbour itself) counts alike
            # however the blocks fall.
            yield start, norms - 2.0 * (block @ self.columns.T), 1e-13 * norms

    def within(self, squared_radii, along_rows=False):
        """Yields `(start, mask)`: which (row, column) pairs lie within the column's ball (or the row's)."""
        for start, squared, slack in self.blocks():
            radii = squared_radii[start : start + squared.shape[0], None] if along_rows else squared_radii[None, :]
            yield start, squared <= radii + slack


def _squared_radii(distances, k):
    """Squared distance of each row to its k-th nearest other row (the distances of a set to itself)."""
    radii = np.empty(distances.rows.shape[0])
    for start, squared, _ in distances.blocks():
        # Column k of each sorted row: column 0 is the row itself (distance 0).
        radii[start : start + squared.shape[0]] = np.partition(squared, k, axis=1)[:, k]
    return np.maximum(radii, 0.0)


def _check_k(k, count, argument):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise SpecError(f"`k` must be a positive integer. Received: k={k!r}")
    if count <= k:
        raise SpecError(f"k-NN radii with k={k} need more than {k} samples in `{argument}`. Received: {count}")
