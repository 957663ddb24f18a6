"""Streaming feature statistics: equal to batch statistics, numerically stable, round trip through .npz."""

import numpy as np
import pytest

from kspec.errors import SpecError
from kspec.metrics.statistics import FeatureStatistics


def test_streaming_equals_batch_statistics_for_uneven_batches():
    features = np.random.default_rng(0).normal(size=(257, 6)) * [1, 2, 3, 4, 5, 6]
    stats = FeatureStatistics()
    for batch in np.split(features, [1, 2, 50, 51, 200]):
        stats.update(batch)
    assert stats.count == 257
    np.testing.assert_allclose(stats.mean, features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.covariance, np.cov(features, rowvar=False), rtol=1e-10, atol=1e-12)


def test_covariance_divides_by_n_minus_one():
    stats = FeatureStatistics.from_features([[0.0], [2.0]])
    assert stats.covariance[0, 0] == pytest.approx(2.0)  # ((0 - 1)^2 + (2 - 1)^2) / (2 - 1)


def test_large_offset_does_not_cancel_catastrophically():
    # A running sum of X^T X would lose every digit of this spread to the 1e8 offset.
    rng = np.random.default_rng(1)
    features = 1e8 + rng.normal(size=(1000, 3))
    stats = FeatureStatistics()
    for batch in np.array_split(features, 10):
        stats.update(batch)
    centred = features - features.mean(axis=0)
    np.testing.assert_allclose(stats.covariance, centred.T @ centred / 999, rtol=1e-6)


def test_float32_features_are_accumulated_in_float64():
    features = np.random.default_rng(2).normal(size=(100, 4)).astype(np.float32)
    stats = FeatureStatistics.from_features(features)
    assert stats.mean.dtype == np.float64 and stats.covariance.dtype == np.float64
    np.testing.assert_allclose(stats.covariance, np.cov(features.astype(np.float64), rowvar=False), rtol=1e-12)


def test_npz_round_trip_keeps_moments_count_and_extractor(tmp_path):
    features = np.random.default_rng(3).normal(size=(40, 5))
    stats = FeatureStatistics.from_features(features, extractor="digits")
    path = stats.save(tmp_path / "sub" / "real.npz")
    with np.load(path) as data:
        assert sorted(data.files) == ["N", "extractor", "mu", "sigma"]
    loaded = FeatureStatistics.load(path)
    assert (loaded.count, loaded.extractor) == (40, "digits")
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_allclose(loaded.covariance, stats.covariance, rtol=1e-15)


def test_loaded_statistics_keep_streaming():
    features = np.random.default_rng(4).normal(size=(60, 3))
    first = FeatureStatistics.from_features(features[:25])
    resumed = FeatureStatistics.from_moments(first.mean, first.covariance, first.count).update(features[25:])
    np.testing.assert_allclose(resumed.covariance, np.cov(features, rowvar=False), rtol=1e-10)


def test_load_reports_missing_arrays(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, mu=np.zeros(2))
    with pytest.raises(SpecError, match=r"bad.npz: expected arrays `mu`, `sigma` and `N` .* Missing: sigma, N"):
        FeatureStatistics.load(path)


def test_load_of_a_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read feature statistics"):
        FeatureStatistics.load(tmp_path / "absent.npz")


def test_covariance_needs_two_samples_and_matching_dimensions():
    stats = FeatureStatistics.from_features(np.zeros((1, 3)), extractor="toy")
    with pytest.raises(SpecError, match=r"need at least 2 feature vector\(s\). Received: 1 \(extractor `toy`\)"):
        stats.covariance
    with pytest.raises(SpecError, match=r"features must have dim 3. Received: shape=\(2, 4\)"):
        stats.update(np.zeros((2, 4)))
    with pytest.raises(SpecError, match="NaN or infinite"):
        stats.update(np.full((2, 3), np.inf))


@pytest.mark.parametrize("dim", [0, -1, 2.0, "3"])
def test_dim_must_be_a_positive_integer(dim):
    with pytest.raises(ValueError) as caught:
        FeatureStatistics(dim=dim)
    assert str(caught.value) == f"Invalid value for argument `dim`: expected a positive integer. Received: dim={dim!r}"


def test_a_declared_dim_starts_at_zero_and_checks_the_first_batch():
    stats = FeatureStatistics(dim=1)
    assert (stats.dim, stats.count, stats.extractor) == (1, 0, "")
    with pytest.raises(SpecError) as caught:
        stats.update(np.ones((2, 3)))
    assert str(caught.value) == "features must have dim 1. Received: shape=(2, 3)"
    stats = FeatureStatistics(dim=3).update(np.zeros((0, 3)))  # an empty batch keeps the declared zeros
    assert stats.dim == 3 and stats.count == 0


@pytest.mark.parametrize("features, message", [
    (np.ones(3), "features must be a 2-D array (samples, dim). Received: shape=(3,)"),
    (np.array([[1.0, np.inf]]), "features contain NaN or infinite values; check the generator's output and the extractor"),
])
def test_bad_feature_batches_are_refused_in_one_line(features, message):
    with pytest.raises(SpecError) as caught:
        FeatureStatistics().update(features)
    assert str(caught.value) == message


@pytest.mark.parametrize("value, message", [
    (np.ones(3), "`fake` must be a 2-D array (samples, dim). Received: shape=(3,)"),
    (np.array([[np.nan]]), "`fake` contains NaN or infinite values"),
])
def test_feature_arrays_are_checked_with_the_arguments_name(value, message):
    from kspec.metrics.statistics import as_feature_array

    with pytest.raises(SpecError) as caught:
        as_feature_array(value, "fake")
    assert str(caught.value) == message


def test_too_few_samples_name_an_unknown_extractor_as_a_question_mark():
    with pytest.raises(SpecError) as caught:
        FeatureStatistics().update(np.ones((1, 2))).covariance
    assert str(caught.value) == "statistics need at least 2 feature vector(s). Received: 1 (extractor `?`)"


@pytest.mark.parametrize("mean, covariance, count, message", [
    (np.zeros((1, 2)), np.eye(2), 5, "expected a mean of shape (d,) and a covariance of shape (d, d). Received: mean "
                                     "shape (1, 2), covariance shape (2, 2)"),
    (np.zeros(2), np.eye(3), 5, "expected a mean of shape (d,) and a covariance of shape (d, d). Received: mean "
                                "shape (2,), covariance shape (3, 3)"),
    (np.zeros(2), np.eye(2), 1, "expected a sample count of at least 2. Received: N=1"),
])
def test_from_moments_refuses_inconsistent_moments(mean, covariance, count, message):
    with pytest.raises(SpecError) as caught:
        FeatureStatistics.from_moments(mean, covariance, count)
    assert str(caught.value) == message


def test_from_moments_takes_two_samples_and_keeps_double_precision():
    mean, covariance = np.float32([0.1, 0.2]), np.float32([[0.3, 0.1], [0.1, 0.7]])
    stats = FeatureStatistics.from_moments(mean, covariance, 2)
    assert stats.mean.dtype == stats.covariance.dtype == np.float64
    # Streaming one more sample: Chan's update on the float64 moments, the same as from the float64 values.
    again = FeatureStatistics.from_moments(mean.astype(np.float64), covariance.astype(np.float64), 2)
    np.testing.assert_array_equal(stats.update(np.float32([[1.0, 1.0]])).covariance,
                                  again.update(np.float32([[1.0, 1.0]])).covariance)


def test_statistics_without_an_extractor_save_and_load_without_one(tmp_path):
    stats = FeatureStatistics.from_features(np.random.default_rng(0).normal(size=(5, 2)))
    assert stats.extractor == "" and FeatureStatistics.from_moments(stats.mean, stats.covariance, 5).extractor == ""
    path = tmp_path / "plain.npz"
    np.savez(path, mu=stats.mean, sigma=stats.covariance, N=np.int64(5))  # written by another tool: no extractor
    assert FeatureStatistics.load(path).extractor == ""


def test_a_statistics_file_holding_python_objects_is_refused_not_unpickled(tmp_path):
    path = tmp_path / "hostile.npz"
    np.savez(path, mu=np.array([{"a": 1}, None], dtype=object), sigma=np.eye(2), N=np.int64(5))
    with pytest.raises(SpecError) as caught:
        FeatureStatistics.load(path)
    assert str(caught.value) == (f"{path}: cannot read feature statistics (Object arrays cannot be loaded when "
                                 "allow_pickle=False)")
