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
