"""Fréchet distance against closed forms and against the scipy.linalg.sqrtm formulation (a test-only reference)."""

import warnings

import numpy as np
import pytest
import scipy.linalg

from kspec.errors import SpecError
from kspec.metrics.frechet import SmallSampleWarning, frechet_distance, frechet_score
from kspec.metrics.statistics import FeatureStatistics


def sqrtm_reference(mu1, sigma1, mu2, sigma2):
    """The textbook formula with a general matrix square root, as the reference implementations write it."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root).real)


def random_covariance(rng, dim, samples):
    features = rng.normal(size=(samples, dim)) @ rng.normal(size=(dim, dim))
    return features.mean(axis=0), np.cov(features, rowvar=False)


def test_diagonal_covariances_match_closed_form():
    # For commuting (here diagonal) covariances Tr sqrt(S1 S2) = sum sqrt(a_i b_i), so
    # d^2 = ||mu1 - mu2||^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 5, size=6), rng.uniform(0.1, 5, size=6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_commuting_covariances_in_a_rotated_basis_match_closed_form():
    rng = np.random.default_rng(1)
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a, b = rng.uniform(0.5, 3, size=5), rng.uniform(0.5, 3, size=5)
    sigma1, sigma2 = rotation @ np.diag(a) @ rotation.T, rotation @ np.diag(b) @ rotation.T
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(np.zeros(5), sigma1, np.zeros(5), sigma2) == pytest.approx(expected, rel=1e-10)


def test_scalar_gaussians_match_closed_form():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s1, s2.
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_distance_of_a_set_to_itself_is_zero_and_never_negative():
    rng = np.random.default_rng(2)
    for samples in (10, 64, 500):  # rank-deficient, barely full rank, comfortably full rank
        mu, sigma = random_covariance(rng, 32, samples)
        distance = frechet_distance(mu, sigma, mu, sigma)
        assert 0.0 <= distance < 1e-6


@pytest.mark.parametrize("samples", [8, 33, 400], ids=["rank-deficient", "near-singular", "full-rank"])
def test_agrees_with_sqrtm_formulation(samples):
    rng = np.random.default_rng(samples)
    mu1, sigma1 = random_covariance(rng, 32, samples)
    mu2, sigma2 = random_covariance(rng, 32, samples)
    expected = sqrtm_reference(mu1, sigma1, mu2, sigma2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-6)


def low_rank_covariance(rng, dim, rank):
    factor = rng.normal(size=(dim, rank))
    return factor @ factor.T


def test_singular_first_covariance_agrees():
    # Rank 3 in 10 dimensions: Cholesky of sigma1 breaks down; sigma2's factor is used with roles swapped.
    rng = np.random.default_rng(3)
    sigma1 = low_rank_covariance(rng, 10, 3)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(sigma1)
    _, sigma2 = random_covariance(rng, 10, 50)
    mu = np.zeros(10)
    expected = sqrtm_reference(mu, sigma1, mu, sigma2)
    assert frechet_distance(mu, sigma1, mu, sigma2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(mu, sigma2, mu, sigma1) == pytest.approx(expected, rel=1e-6)


def test_both_covariances_singular_use_eigendecomposition_and_agree():
    # Neither has a Cholesky factor; the distance through F = V sqrt(w) must still match, and an exact
    # factor of sigma1 (the low-rank matrix itself) gives the noise-free value to compare with.
    rng = np.random.default_rng(6)
    factor = rng.normal(size=(12, 4))
    sigma1, sigma2 = factor @ factor.T, low_rank_covariance(rng, 12, 5)
    mu1, mu2 = rng.normal(size=12), rng.normal(size=12)
    small = factor.T @ sigma2 @ factor
    exact = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(np.linalg.eigvalsh(small), 0, None)).sum()
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(exact, rel=1e-9)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(sqrtm_reference(mu1, sigma1, mu2, sigma2), rel=1e-6)
    assert frechet_distance(mu1, sigma1, mu1, sigma1) < 1e-6


def test_zero_covariances_give_squared_mean_distance():
    assert frechet_distance([0.0, 0.0], np.zeros((2, 2)), [3.0, 4.0], np.zeros((2, 2))) == pytest.approx(25.0)


def test_score_warns_for_small_samples_and_reports_counts():
    rng = np.random.default_rng(4)
    small = FeatureStatistics.from_features(rng.normal(size=(8, 16)), extractor="toy")
    large = FeatureStatistics.from_features(rng.normal(size=(100, 16)), extractor="toy")
    with pytest.warns(SmallSampleWarning, match=r"N = 8 samples for 16 feature dimensions.*KID"):
        score = frechet_score(large, small, name="fd_toy")
    assert (score.name, score.n, score.n_reference) == ("fd_toy", 8, 100)
    assert str(score).endswith("(N = 8, reference N = 100)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frechet_score(large, large, name="fd_toy").value < 1e-6


def test_score_refuses_statistics_of_different_extractors():
    rng = np.random.default_rng(5)
    a = FeatureStatistics.from_features(rng.normal(size=(20, 3)), extractor="inception")
    b = FeatureStatistics.from_features(rng.normal(size=(20, 3)), extractor="digits")
    with pytest.raises(SpecError) as caught:
        frechet_score(a, b)
    assert str(caught.value) == ("statistics come from different extractors: `inception` (reference) and `digits` "
                                 "(generated); compute both with the same network")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (([0, 0], np.eye(2), [0, 0, 0], np.eye(3)), "`mu1` and `mu2` must have the same dimension. Received: 2 and 3"),
        (([0, 0], np.eye(3), [0, 0], np.eye(2)), "`sigma1` must have shape (2, 2). Received: shape=(3, 3)"),
        (([0, 0], np.eye(2), [0, 0], np.eye(2)[None]), "`sigma2` must have shape (2, 2). Received: shape=(1, 2, 2)"),
        (([0, 0], np.eye(2), [0, 0], [[1, 2], [0, 1]]), "`sigma2` must be a symmetric covariance matrix; it is not "
                                                        "symmetric"),
        (([0, np.nan], np.eye(2), [0, 0], np.eye(2)), "`mu1` contains NaN or infinite values"),
        (([0, 0], np.eye(2), [np.inf, 0], np.eye(2)), "`mu2` contains NaN or infinite values"),
        (([[0, 0]], np.eye(2), [0, 0], np.eye(2)), "`mu1` must be a vector of shape (d,). Received: shape=(1, 2)"),
        ((0.0, np.eye(1), [0.0], np.eye(1)), "`mu1` must be a vector of shape (d,). Received: shape=()"),
        (([0, 0], [[1, 0], [0, np.nan]], [0, 0], np.eye(2)), "`sigma1` contains NaN or infinite values"),
        (([0, 0], np.eye(2), [0, 0], [[-np.inf, 0], [0, 1]]), "`sigma2` contains NaN or infinite values"),
        (([0, 0], np.eye(2), [0, 0], [[np.inf, 0], [0, 1]]), "`sigma2` contains NaN or infinite values"),
    ],
)
def test_invalid_arguments_are_refused(arguments, message):
    with pytest.raises(SpecError) as caught:
        frechet_distance(*arguments)
    assert str(caught.value) == message


@pytest.mark.parametrize("scale", [1e-100, 1.0, 1e100])
def test_symmetry_is_judged_relative_to_the_largest_entry(scale):
    # An asymmetry of 1e-7 of the largest entry is rounding and is averaged out; 1e-5 of it is an error.
    sigma = np.array([[1.0, 0.5], [0.5 + 1e-7, 1.0]]) * scale
    assert frechet_distance([0, 0], sigma, [0, 0], sigma) == pytest.approx(0.0, abs=1e-6 * scale)
    sigma[1, 0] = (0.5 + 1e-5) * scale
    with pytest.raises(SpecError) as caught:
        frechet_distance([0, 0], sigma, [0, 0], np.eye(2))
    assert str(caught.value) == "`sigma1` must be a symmetric covariance matrix; it is not symmetric"


def centred_features(rng, dim, samples):
    features = rng.normal(size=(samples, dim)) @ rng.normal(size=(dim, dim)) / np.sqrt(dim)
    return features - features.mean(axis=0)


def moments(features):
    return features.mean(axis=0), np.cov(features, rowvar=False)


# d = 160 spans several of the 128-wide blocks of the symmetry check; the sample counts pick the factor:
# Cholesky of sigma1, Cholesky of sigma2 (sigma1 rank-deficient), pivoted Cholesky (both rank-deficient).
PATHS = {"cholesky-of-sigma1": (640, 640), "near-singular": (161, 170), "cholesky-of-sigma2": (40, 640), "pivoted-cholesky": (40, 60)}


@pytest.mark.parametrize("samples", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize("two_stage", [True, False], ids=["two-stage-eigensolver", "one-stage-eigensolver"])
def test_each_factor_path_and_eigensolver_agree_with_sqrtm(samples, two_stage, monkeypatch):
    from kspec.metrics import frechet

    if two_stage:
        monkeypatch.setattr(frechet, "_TWO_STAGE_MIN_DIM", 1)  # it runs from d = 2048 only, too slow for a test
    else:
        monkeypatch.setattr(frechet, "_two_stage_eigensolver", lambda: None)
    rng = np.random.default_rng(sum(samples))
    mu1, sigma1 = moments(centred_features(rng, 160, samples[0]))
    mu2, sigma2 = moments(centred_features(rng, 160, samples[1]) + 0.1)
    expected = sqrtm_reference(mu1, sigma1, mu2, sigma2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(expected, rel=1e-6)
    assert 0.0 <= frechet_distance(mu1, sigma1, mu1, sigma1) < 1e-9 * np.trace(sigma1)


def test_pivoted_cholesky_path_matches_the_exact_low_rank_factor():
    # Both sets have fewer samples than dimensions. The centred features themselves are an exact factor of
    # sigma1 (sigma1 = X^T X / (N - 1)), free of the rounding noise in its null space that sqrtm takes roots of.
    rng = np.random.default_rng(7)
    x, y = centred_features(rng, 200, 50), centred_features(rng, 200, 80)
    mu1, sigma1 = moments(x)
    mu2, sigma2 = moments(y + 0.2)
    factor = x.T / np.sqrt(len(x) - 1)
    small = factor.T @ sigma2 @ factor
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((small + small.T) / 2), 0, None)).sum()
    exact = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(exact, rel=1e-9)


def test_memory_layout_of_the_covariances_does_not_change_the_distance():
    rng = np.random.default_rng(8)
    mu1, sigma1 = moments(centred_features(rng, 40, 200))
    mu2, sigma2 = moments(centred_features(rng, 40, 200))
    expected = frechet_distance(mu1, sigma1, mu2, sigma2)
    padded = np.zeros((80, 80))
    padded[::2, ::2] = sigma2  # a strided view, neither C- nor Fortran-contiguous
    assert frechet_distance(mu1, np.asfortranarray(sigma1), mu2, padded[::2, ::2]) == pytest.approx(expected, rel=1e-12)


def test_asymmetry_is_checked_in_every_block_and_rounding_asymmetry_is_averaged_out():
    rng = np.random.default_rng(9)
    mu, sigma = moments(centred_features(rng, 300, 600))
    for row, column in ((290, 10), (290, 260)):  # block pairs (2, 0) and (2, 2) of the 128-wide check
        far_off_diagonal = sigma.copy()
        far_off_diagonal[row, column] += 1e-3 * np.abs(sigma).max()
        with pytest.raises(SpecError, match="`sigma2` must be a symmetric covariance matrix; it is not symmetric"):
            frechet_distance(mu, sigma, mu, far_off_diagonal)
    # Below the tolerance, but far above rounding: a distance computed from one triangle only would differ.
    rounding = sigma.copy()
    rounding[290, 10] += 1e-7 * np.abs(sigma).max()
    averaged = sigma.copy()
    averaged[290, 10] = averaged[10, 290] = (rounding[290, 10] + rounding[10, 290]) / 2
    other_mu, other = moments(centred_features(rng, 300, 600))
    expected = frechet_distance(other_mu, other, mu, averaged)
    assert frechet_distance(other_mu, other, mu, rounding) == pytest.approx(expected, rel=1e-12)


def test_gaussians_of_dimension_zero_are_at_distance_zero():
    # Two points in R^0: nothing differs (the per-feature statistics of an empty feature set).
    assert frechet_distance(np.zeros(0), np.zeros((0, 0)), np.zeros(0), np.zeros((0, 0))) == 0.0


def test_rank_one_covariances_match_closed_form():
    # S1 = v v^T, S2 = w w^T: S1 S2 = (v . w) v w^T has the single non-zero eigenvalue (v . w)^2, so
    # Tr sqrt(S1 S2) = |v . w| and d^2 = ||mu1 - mu2||^2 + |v|^2 + |w|^2 - 2 |v . w|. Both are singular, so this
    # is the pivoted Cholesky path at rank 1.
    v, w = np.array([1.0, 2.0, -1.0]), np.array([0.5, -1.0, 3.0])
    mu1, mu2 = np.array([0.0, 1.0, 0.0]), np.array([1.0, 1.0, -2.0])
    expected = 5.0 + v @ v + w @ w - 2 * abs(v @ w)
    assert frechet_distance(mu1, np.outer(v, v), mu2, np.outer(w, w)) == pytest.approx(expected, rel=1e-12)


def test_single_precision_inputs_are_computed_in_double_precision():
    rng = np.random.default_rng(10)
    mu1, sigma1 = (a.astype(np.float32) for a in moments(centred_features(rng, 30, 100)))
    mu2, sigma2 = (a.astype(np.float32) for a in moments(centred_features(rng, 30, 100) + 0.3))
    symmetric = (sigma1 + sigma1.T) / 2, (sigma2 + sigma2.T) / 2  # exactly symmetric in float32
    as_double = [np.asarray(a, np.float64) for a in (mu1, symmetric[0], mu2, symmetric[1])]
    assert frechet_distance(mu1, symmetric[0], mu2, symmetric[1]) == frechet_distance(*as_double)


def test_an_asymmetry_of_exactly_the_tolerance_is_accepted():
    # The tolerance is 1e-6 of the largest entry: with that entry a power of two, the product is exact.
    sigma = np.eye(2) * 2.0**20
    sigma[1, 0] = 1e-6 * 2.0**20
    assert frechet_distance([0, 0], sigma, [0, 0], np.eye(2) * 2.0**20) > 0.0
    sigma[1, 0] = np.nextafter(sigma[1, 0], np.inf)
    with pytest.raises(SpecError, match="`sigma1` must be a symmetric covariance matrix"):
        frechet_distance([0, 0], sigma, [0, 0], np.eye(2))


def test_a_failed_eigensolver_is_an_error_naming_lapacks_code():
    from kspec.metrics.frechet import _checked

    with pytest.raises(np.linalg.LinAlgError) as caught:
        _checked(np.zeros(2), 3)
    assert str(caught.value) == "symmetric eigensolver failed (LAPACK info=3)"
    assert _checked(np.ones(2), 0).tolist() == [1.0, 1.0]


def test_score_is_named_fid_by_default():
    stats = FeatureStatistics.from_features(np.random.default_rng(11).normal(size=(30, 3)))
    assert frechet_score(stats, stats).name == "fid"


@pytest.mark.parametrize("small", ["reference", "generated"])
def test_small_sample_warning_names_the_set_and_points_at_the_caller(small):
    # As many samples as dimensions is already rank-deficient (the centred data span at most N - 1 dimensions).
    rng = np.random.default_rng(12)
    sets = {"reference": rng.normal(size=(100, 16)), "generated": rng.normal(size=(100, 16))}
    sets[small] = sets[small][:16]
    reference, generated = (FeatureStatistics.from_features(sets[k]) for k in ("reference", "generated"))
    with pytest.warns(SmallSampleWarning) as caught:
        frechet_score(reference, generated, name="fd_toy")
    assert [str(w.message) for w in caught] == [
        f"fd_toy: {small} set has N = 16 samples for 16 feature dimensions, so its covariance is rank-deficient "
        "and the Fréchet distance is biased upward (bias ~ 1/N); use more samples or KID, which is unbiased at small N"]
    # Under benchmarks/mutation.sh, mutmut calls every function through a trampoline, one frame more.
    caller = frechet_score.__code__.co_filename if hasattr(frechet_score, "__wrapped__") else __file__
    assert caught[0].filename == caller


@pytest.mark.parametrize("dim, solver", [(2047, "one-stage"), (2048, "two-stage")])
def test_the_two_stage_eigensolver_runs_from_the_measured_crossover(dim, solver, monkeypatch):
    # The crossover (d = 2048) was measured with benchmarks/bench_frechet.py; both solvers are stubbed here,
    # so only the choice is tested, not the (seconds-long) decomposition.
    from kspec.metrics import frechet

    if frechet._two_stage_eigensolver() is None:
        pytest.skip("scipy links a LAPACK without LAPACKE_dsyevd_2stage here: the one-stage solver always runs")
    called = []
    monkeypatch.setattr(frechet, "_eigenvalues_one_stage", lambda matrix: called.append("one-stage"))
    monkeypatch.setattr(frechet, "_eigenvalues_two_stage", lambda matrix, solver: called.append("two-stage"))
    frechet._symmetric_eigenvalues(np.zeros((dim, dim), order="F"))
    assert called == [solver]


def test_a_constant_first_feature_uses_the_other_covariances_factor():
    # A feature that never varies (a dead unit of the extractor) makes sigma1 singular at its first pivot:
    # Cholesky stops with info = 1 and the factor of sigma2 must be used instead.
    rng = np.random.default_rng(13)
    x = centred_features(rng, 12, 200)
    x[:, 0] = 0.5
    mu1, sigma1 = moments(x)
    mu2, sigma2 = moments(centred_features(rng, 12, 200) + 0.1)
    # sigma1's square root is zero in the first row and column, so Tr sqrt(sigma1 sigma2) is that of the other
    # features alone; the first feature adds its squared mean difference and its variance in sigma2.
    rest = sqrtm_reference(mu1[1:], sigma1[1:, 1:], mu2[1:], sigma2[1:, 1:])
    expected = rest + (mu1[0] - mu2[0]) ** 2 + sigma2[0, 0]
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-6)  # sqrtm's own accuracy
