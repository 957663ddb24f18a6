"""Scoring against real data: caching of the real side, labels, and agreement with the metric functions."""

import os

import numpy as np
import pytest
from support import ArrayLike

from kspec.errors import SpecError
from kspec.metrics.evaluation import evaluate, reference_features, reference_statistics
from kspec.metrics.frechet import frechet_distance
from kspec.metrics.statistics import FeatureStatistics


def images(seed, count=48, shift=0.0):
    return np.random.default_rng(seed).uniform(size=(count, 6, 6, 1)).astype("float32") + shift


def test_reference_statistics_are_cached_by_data_id_and_extractor(tmp_path, toy_extractor):
    stats = reference_statistics(images(0), toy_extractor, data_id="toy-set", cache_dir=tmp_path)
    path = tmp_path / f"toy-set-toy-{toy_extractor.weights_sha256[:12]}-statistics.npz"
    assert path.is_file()
    # A second call reads the cache: different data under the same id gives the cached numbers.
    cached = reference_statistics(images(1), toy_extractor, data_id="toy-set", cache_dir=tmp_path)
    np.testing.assert_array_equal(cached.mean, stats.mean)
    assert cached.count == 48 and cached.extractor == "toy"


def test_arrays_without_data_id_are_keyed_by_their_content(tmp_path, toy_extractor):
    reference_statistics(images(0), toy_extractor, cache_dir=tmp_path)
    reference_statistics(images(0), toy_extractor, cache_dir=tmp_path)
    reference_statistics(images(1), toy_extractor, cache_dir=tmp_path)
    assert len(os.listdir(tmp_path)) == 2


def test_iterables_without_data_id_are_not_cached(tmp_path, toy_extractor):
    stats = reference_statistics(iter([images(0)[:20], images(0)[20:]]), toy_extractor, cache_dir=tmp_path)
    assert stats.count == 48 and os.listdir(tmp_path) == []


def test_saved_statistics_of_another_extractor_are_refused(tmp_path, toy_extractor):
    path = FeatureStatistics.from_features(np.ones((3, 5)) * [[0], [1], [2]], extractor="inception").save(tmp_path / "s.npz")
    with pytest.raises(SpecError, match="computed with extractor `inception`, not `toy`"):
        reference_statistics(path, toy_extractor)


def test_reference_features_round_trip_the_cache(tmp_path, toy_extractor):
    first = reference_features(images(0), toy_extractor, data_id="real", cache_dir=tmp_path)
    again = reference_features(images(5), toy_extractor, data_id="real", cache_dir=tmp_path)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (48, 5)


def test_evaluate_labels_scores_with_the_extractor_and_agrees_with_the_formulas(tmp_path, toy_extractor):
    real, fake = images(0), images(1, shift=0.3)
    scores = evaluate(fake, toy_extractor, real=real, cache_dir=tmp_path, splits=4)
    assert list(scores) == ["fd_toy", "is_toy", "kid_toy", "precision_toy", "recall_toy", "density_toy", "coverage_toy"]
    real_features, fake_features = toy_extractor.features(real), toy_extractor.features(fake)
    expected = frechet_distance(
        real_features.mean(0), np.cov(real_features, rowvar=False), fake_features.mean(0), np.cov(fake_features, rowvar=False)
    )
    assert scores["fd_toy"].value == pytest.approx(expected, rel=1e-6)
    assert (scores["fd_toy"].n, scores["fd_toy"].n_reference) == (48, 48)
    assert 1.0 <= scores["is_toy"].value <= 4.0
    assert scores["kid_toy"].value > 0


def test_a_retrained_extractor_of_the_same_name_does_not_read_its_predecessors_cache(tmp_path, toy_classifier,
                                                                                   toy_extractor):
    import keras

    from kspec.metrics.extractors import KerasExtractor

    retrained = keras.models.clone_model(toy_classifier)  # same name and layers, other weights
    successor = KerasExtractor(retrained, "embedding", name="toy")
    assert successor.weights_sha256 != toy_extractor.weights_sha256
    first = reference_statistics(images(0), toy_extractor, data_id="toy-set", cache_dir=tmp_path)
    second = reference_statistics(images(0), successor, data_id="toy-set", cache_dir=tmp_path)
    assert not np.allclose(first.mean, second.mean)
    assert len(os.listdir(tmp_path)) == 2


def test_evaluate_scores_carry_the_protocol_and_the_manifold_metrics_agree_with_the_function(tmp_path, toy_extractor):
    from kspec.metrics.evaluation import reference_sha256
    from kspec.metrics.precision_recall import precision_recall_density_coverage

    real, fake = images(0), images(1, shift=0.2)
    scores = evaluate(fake, toy_extractor, real=real, cache_dir=tmp_path, k=4, spec_sha256="a" * 64,
                      metrics=("fid", "recall", "precision", "coverage", "density"))
    assert list(scores) == ["fd_toy", "recall_toy", "precision_toy", "coverage_toy", "density_toy"]
    expected = precision_recall_density_coverage(toy_extractor.features(real), toy_extractor.features(fake), k=4)
    for metric, value in expected.items():
        assert scores[f"{metric}_toy"].value == value
        assert scores[f"{metric}_toy"].protocol.options == (("k", 4),)
    protocol = scores["fd_toy"].protocol
    assert (protocol.extractor, protocol.extractor_layer, protocol.resize, protocol.image_size) == (
        "toy", "embedding", "none", (6, 6))
    assert (protocol.n_generated, protocol.n_reference, protocol.spec_sha256) == (48, 48, "a" * 64)
    assert protocol.reference_sha256 == reference_sha256(real) != reference_sha256(fake)
    assert protocol.extractor_weights_sha256 == toy_extractor.weights_sha256


def test_reference_hash_of_saved_statistics_is_that_of_their_arrays(tmp_path):
    from kspec.metrics.evaluation import reference_sha256

    statistics = FeatureStatistics.from_features(np.random.default_rng(0).normal(size=(10, 3)), extractor="toy")
    path = statistics.save(tmp_path / "s.npz")
    assert reference_sha256(path) == reference_sha256(FeatureStatistics.load(path))
    assert reference_sha256(iter([images(0)])) is None


def test_evaluate_needs_real_data_for_fid_and_kid(toy_extractor):
    with pytest.raises(SpecError, match="fid compare with real data"):
        evaluate(images(0), toy_extractor, metrics=("fid",))
    with pytest.raises(SpecError, match="unknown metric\\(s\\) 'fidd'"):
        evaluate(images(0), toy_extractor, metrics=("fidd",))
    assert list(evaluate(images(0), toy_extractor, metrics=("inception_score",))) == ["is_toy"]


def test_evaluate_refuses_in_one_line_naming_every_metric_that_needs_real_data(toy_extractor):
    with pytest.raises(SpecError) as error:
        evaluate(images(0), toy_extractor, metrics=("fid", "inception_score", "kid"))
    assert str(error.value) == "fid, kid compare with real data: pass `real` (images or saved statistics)"
    statistics = FeatureStatistics.from_features(np.ones((3, 5)) * [[0], [1], [2]], extractor="inception")
    with pytest.raises(SpecError) as error:
        reference_statistics(statistics, toy_extractor)
    assert str(error.value) == ("the reference statistics: statistics were computed with extractor `inception`, not "
                                "`toy`; recompute them with the same network")


def test_kid_uses_the_papers_subsets_and_records_them_and_the_data_id_keys_the_cached_features(tmp_path,
                                                                                               toy_extractor):
    from kspec.metrics.kid import kernel_inception_distance

    real, fake = images(0), images(1, shift=0.3)
    score = evaluate(fake, toy_extractor, real=real, metrics=("kid",), data_id="digits", cache_dir=tmp_path)["kid_toy"]
    expected = kernel_inception_distance(toy_extractor.features(real), toy_extractor.features(fake), 100, 1000, seed=0)
    assert (score.value, score.std) == (expected.value, expected.std)
    assert score.protocol.options == (("subset_size", 1000), ("subsets", 100))
    assert os.listdir(tmp_path) == [f"digits-toy-{toy_extractor.weights_sha256[:12]}-features.npz"]
    evaluate(fake, toy_extractor, real=real, metrics=("recall",), data_id="digits", cache_dir=tmp_path)
    assert len(os.listdir(tmp_path)) == 1  # the manifold metrics read the same cached features


def test_cache_keys_read_array_likes_and_extractors_without_a_weights_hash(tmp_path, toy_extractor):
    import types

    from kspec.metrics.evaluation import _cache_path

    data = images(0)
    assert _cache_path(ArrayLike(data), toy_extractor, None, tmp_path, "features") == _cache_path(
        data, toy_extractor, None, tmp_path, "features")
    bare = types.SimpleNamespace(name="bare")  # no `weights_sha256`
    assert _cache_path(data, bare, "my set/v2", tmp_path, "statistics") == str(tmp_path / "my_set_v2-bare-statistics.npz")


def test_the_default_cache_is_the_environments_or_under_the_home_directory(monkeypatch, tmp_path):
    from kspec.metrics.evaluation import CACHE_DIR_ENV, default_cache_dir

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    assert default_cache_dir() == str(tmp_path / "cache")
    monkeypatch.delenv(CACHE_DIR_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == str(tmp_path / ".cache" / "kspec" / "metrics")


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """The default cache, set to a directory of its own: a call that loses its `cache_dir` writes there."""
    from kspec.metrics.evaluation import CACHE_DIR_ENV

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "default-cache"))
    return tmp_path / "default-cache"


def test_every_metric_reads_the_cache_it_is_given_under_the_data_id(tmp_path, toy_extractor, elsewhere):
    real, fake = images(0), images(1, shift=0.3)
    cache = tmp_path / "cache"
    evaluate(fake, toy_extractor, real=real, metrics=("fid", "kid", "precision"), data_id="digits", cache_dir=cache)
    network = f"toy-{toy_extractor.weights_sha256[:12]}"
    assert sorted(os.listdir(cache)) == [f"digits-{network}-features.npz", f"digits-{network}-statistics.npz"]
    assert not elsewhere.exists()


def test_inception_and_kid_take_the_seed_and_the_inception_score_records_its_splits(toy_extractor):
    from kspec.metrics.inception_score import inception_score
    from kspec.metrics.kid import kernel_inception_distance

    real, fake = images(0), images(1, shift=0.3)
    scores = evaluate(fake, toy_extractor, real=real, metrics=("inception_score", "kid"), seed=3)
    _, probs = toy_extractor.extract(fake)
    expected_is = inception_score(probs, splits=10, seed=3)
    expected_kid = kernel_inception_distance(toy_extractor.features(real), toy_extractor.features(fake), seed=3)
    assert (scores["is_toy"].value, scores["is_toy"].std) == (expected_is.value, expected_is.std)
    assert (scores["kid_toy"].value, scores["kid_toy"].std) == (expected_kid.value, expected_kid.std)
    assert scores["is_toy"].protocol.options == (("splits", 10),)  # the default, fewer than the 48 images
    assert evaluate(fake[:6], toy_extractor, metrics=("inception_score",))["is_toy"].protocol.options == (("splits", 6),)


def test_one_manifold_metric_computes_only_what_it_needs(toy_extractor):
    # Precision needs no generated radii, so three generated images are enough with k = 3 (recall would refuse).
    scores = evaluate(images(1)[:3], toy_extractor, real=images(0), metrics=("precision",))
    assert list(scores) == ["precision_toy"]


@pytest.mark.parametrize("metric", ["kid", "density"])
def test_image_metrics_refuse_saved_statistics_naming_the_metric(tmp_path, toy_extractor, metric):
    statistics = FeatureStatistics.from_features(np.random.default_rng(0).normal(size=(10, 5)), extractor="toy")
    with pytest.raises(SpecError) as error:
        evaluate(images(1), toy_extractor, real=statistics, metrics=(metric,))
    assert str(error.value) == f"`{metric}` needs real images (or an iterable of batches), not saved statistics"


def test_unknown_metrics_are_listed_with_the_known_ones(toy_extractor):
    with pytest.raises(SpecError) as error:
        evaluate(images(0), toy_extractor, metrics=("fidd", "kd"))
    assert str(error.value) == ("unknown metric(s) 'fidd', 'kd'; expected any of fid, inception_score, kid, precision, "
                                "recall, density, coverage")


def test_caches_of_another_extractor_are_refused_naming_the_file(tmp_path, toy_extractor):
    import re

    from kspec.metrics.evaluation import _cache_path

    data = images(0)
    features = reference_features(data, toy_extractor, cache_dir=tmp_path)  # keyed by content: array-<16 hex>
    [name] = os.listdir(tmp_path)
    assert re.fullmatch(rf"array-[0-9a-f]{{16}}-toy-{toy_extractor.weights_sha256[:12]}-features\.npz", name)
    np.savez(tmp_path / name, features=features, extractor="other")  # a cache file moved by hand
    with pytest.raises(SpecError) as error:
        reference_features(data, toy_extractor, cache_dir=tmp_path)
    assert str(error.value) == f"{tmp_path / name}: cached features come from extractor `other`, not `toy`"
    path = _cache_path(data, toy_extractor, None, tmp_path, "statistics")
    FeatureStatistics.from_features(features, extractor="other").save(path)
    with pytest.raises(SpecError) as error:
        reference_statistics(data, toy_extractor, cache_dir=tmp_path)
    assert str(error.value).startswith(f"{path}: statistics were computed with extractor `other`, not `toy`")
    saved = FeatureStatistics.from_features(features, extractor="other").save(tmp_path / "given.npz")
    with pytest.raises(SpecError) as error:
        reference_statistics(str(saved), toy_extractor)
    assert str(error.value).startswith(f"{saved}: statistics were computed")


def test_a_cache_holding_python_objects_is_never_unpickled(tmp_path, toy_extractor):
    from kspec.metrics.evaluation import _cache_path

    path = _cache_path(images(0), toy_extractor, "real", tmp_path, "features")
    os.makedirs(tmp_path, exist_ok=True)
    np.savez(path, features=np.array([{"not": "features"}], dtype=object), extractor="toy")
    with pytest.raises(ValueError, match="allow_pickle"):
        reference_features(images(0), toy_extractor, data_id="real", cache_dir=tmp_path)


def test_a_failed_cache_write_leaves_no_temporary(tmp_path, toy_extractor, monkeypatch):
    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        reference_features(images(0), toy_extractor, data_id="real", cache_dir=tmp_path)
    assert os.listdir(tmp_path) == []


def test_the_reference_hash_covers_every_part_of_saved_statistics_and_reads_array_likes():
    from kspec.metrics.evaluation import reference_sha256

    base = FeatureStatistics.from_features(np.random.default_rng(0).normal(size=(10, 3)), extractor="toy")
    variants = [FeatureStatistics.from_moments(base.mean + 1, base.covariance, base.count, "toy"),
                FeatureStatistics.from_moments(base.mean, base.covariance * 2, base.count, "toy"),
                FeatureStatistics.from_moments(base.mean, base.covariance, base.count + 1, "toy")]
    hashes = {reference_sha256(s) for s in [base, *variants]}
    assert len(hashes) == 4 and None not in hashes
    assert reference_sha256(ArrayLike(images(0))) == reference_sha256(images(0))
