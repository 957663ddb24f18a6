"""Scoring generated images against real data, with the real side computed once and cached as `.npz`.

This is what the metric callbacks and the CLI (`kspec evaluate`, `kspec stats`) call. The real data's
statistics (FID) or features (KID, precision/recall/density/coverage) are cached under
`<cache_dir>/<data_id>-<extractor>-<weights hash>-<kind>.npz`, so a training run pays for them once, not at every
evaluation, and a retrained extractor of the same name never reads the features of its predecessor.
"""

import hashlib
import os

import numpy as np

from kspec.errors import SpecError
from kspec.metrics.frechet import frechet_score
from kspec.metrics.inception_score import inception_score
from kspec.metrics.kid import kernel_inception_distance
from kspec.metrics.precision_recall import DEFAULT_K, manifold_scores
from kspec.metrics.protocol import attach_protocol, sha256_of_arrays
from kspec.metrics.statistics import FeatureStatistics

CACHE_DIR_ENV = "KSPEC_CACHE_DIR"
MANIFOLD_METRICS = ("precision", "recall", "density", "coverage")
METRIC_NAMES = ("fid", "inception_score", "kid", *MANIFOLD_METRICS)
# Metrics scored against a real (reference) set.
REFERENCE_METRICS = ("fid", "kid", *MANIFOLD_METRICS)


def default_cache_dir():
    """`$KSPEC_CACHE_DIR`, else `~/.cache/kspec/metrics`."""
    return os.environ.get(CACHE_DIR_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "kspec", "metrics")


def feature_statistics(data, extractor):
    """Streams `data` (an image array or an iterable of batches) through `extractor` into `FeatureStatistics`.

    Example:
    >>> import keras, numpy as np
    >>> from kspec.metrics.extractors import KerasExtractor
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(inputs))
    >>> feature_statistics(np.ones((10, 4)), KerasExtractor(model, "out", name="toy"))
    FeatureStatistics(dim=2, count=10, extractor='toy')
    """
    stats = FeatureStatistics(extractor=extractor.name)
    for features, _ in extractor.iterate(data):
        stats.update(features)
    return stats


def reference_statistics(data, extractor, data_id=None, cache_dir=None):
    """Feature statistics of real data, read from the cache when present, else computed and cached.

    Args:
        data: image array, iterable of batches, `FeatureStatistics`, or path of an `.npz` from
            `FeatureStatistics.save` (`kspec stats`).
        extractor: the extractor the generated images will go through.
        data_id: name of the data set in the cache key; default for arrays: a hash of their bytes. An iterable
            without `data_id` is not cached (it cannot be identified without reading it).
        cache_dir: default `default_cache_dir()`.

    Returns:
        `FeatureStatistics`.
    """
    if isinstance(data, FeatureStatistics):
        return _same_extractor(data, extractor, "the reference statistics")
    if isinstance(data, (str, os.PathLike)):
        return _same_extractor(FeatureStatistics.load(data), extractor, os.fspath(data))
    path = _cache_path(data, extractor, data_id, cache_dir, "statistics")
    if path and os.path.isfile(path):
        return _same_extractor(FeatureStatistics.load(path), extractor, path)
    stats = feature_statistics(data, extractor)
    if path:
        stats.save(path)
    return stats


def reference_features(data, extractor, data_id=None, cache_dir=None):
    """Features of real data `(N, d)`, float64, cached like `reference_statistics` (KID needs the samples)."""
    path = _cache_path(data, extractor, data_id, cache_dir, "features")
    if path and os.path.isfile(path):
        with np.load(path, allow_pickle=False) as cached:
            if str(cached["extractor"]) != extractor.name:
                raise SpecError(f"{path}: cached features come from extractor `{cached['extractor']}`, not `{extractor.name}`")
            return cached["features"]
    features = np.concatenate([batch for batch, _ in extractor.iterate(data)])
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp.npz"
        try:
            np.savez(temporary, features=features, extractor=extractor.name)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):  # a failed write (full disk) leaves no half file behind
                os.remove(temporary)
    return features


def evaluate(generated, extractor, real=None, metrics=METRIC_NAMES, data_id=None, cache_dir=None, splits=10, seed=0,
             k=DEFAULT_K, spec_sha256=None):
    """Scores generated images with the named metrics; one pass of the images through the extractor.

    Args:
        generated: array of generated images (the extractor's input contract).
        extractor: a `KerasExtractor` or `InceptionExtractor`.
        real: real data for the metrics in `REFERENCE_METRICS` (see `reference_statistics`; all but `fid` need
            images, not statistics).
        metrics: any of `METRIC_NAMES`: "fid", "inception_score", "kid", "precision", "recall", "density",
            "coverage".
        data_id, cache_dir: cache key and place of the real side (see `reference_statistics`).
        splits: Inception Score splits.
        seed: seed of the IS shuffle and the KID subsets.
        k: neighbourhood size of precision, recall, density and coverage.
        spec_sha256: hash of the spec of the run scored, recorded in each score's protocol.

    Returns:
        A dict from log key (`fid`, `fd_digits`, ...) to `Score`, each with its `Protocol`.
    """
    from kspec.metrics.extractors import score_name

    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise SpecError(f"unknown metric(s) {', '.join(map(repr, unknown))}; expected any of {', '.join(METRIC_NAMES)}")
    if real is None and any(m in REFERENCE_METRICS for m in metrics):
        raise SpecError(f"{', '.join(m for m in metrics if m in REFERENCE_METRICS)} compare with real data: pass "
                        "`real` (images or saved statistics)")
    features, probs = extractor.extract(generated)
    reference = reference_sha256(real) if real is not None else None
    scores = {}

    def add(score, **options):
        scores[score.name] = attach_protocol(score, extractor.protocol(), reference, spec_sha256, **options)

    manifold = [m for m in metrics if m in MANIFOLD_METRICS]
    for metric in metrics:
        name = score_name(metric, extractor.name)
        if metric == "fid":
            statistics = reference_statistics(real, extractor, data_id, cache_dir)
            generated_stats = FeatureStatistics.from_features(features, extractor=extractor.name)
            add(frechet_score(statistics, generated_stats, name=name))
        elif metric == "inception_score":
            add(inception_score(probs, splits=min(splits, len(probs)), seed=seed, name=name), splits=min(splits, len(probs)))
        elif metric == "kid":
            real_features = _reference_images_features(real, extractor, data_id, cache_dir, metric)
            subsets, subset_size = 100, 1000  # Bińkowski et al.'s
            add(kernel_inception_distance(real_features, features, subsets, subset_size, seed=seed, name=name),
                subsets=subsets, subset_size=subset_size)
        elif metric == manifold[0]:  # the four share their k-NN radii: computed together
            real_features = _reference_images_features(real, extractor, data_id, cache_dir, metric)
            names = {m: score_name(m, extractor.name) for m in manifold}
            for score in manifold_scores(real_features, features, k=k, metrics=manifold, names=names).values():
                add(score, k=k)
    return {score_name(m, extractor.name): scores[score_name(m, extractor.name)] for m in metrics}


def reference_sha256(data):
    """sha256 identifying a reference set: of its images (an array), or of the statistics it is given as.

    None for an iterable of batches, which cannot be hashed without reading it.

    Example:
    >>> import numpy as np
    >>> reference_sha256(np.zeros((2, 3))) == reference_sha256(np.zeros((2, 3)))
    True
    """
    if isinstance(data, (str, os.PathLike)):
        data = FeatureStatistics.load(data)
    if isinstance(data, FeatureStatistics):
        return sha256_of_arrays(data.mean, data.covariance, np.int64(data.count))
    if isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        return sha256_of_arrays(data)
    return None


def _reference_images_features(real, extractor, data_id, cache_dir, metric):
    if isinstance(real, (FeatureStatistics, str, os.PathLike)):
        raise SpecError(f"`{metric}` needs real images (or an iterable of batches), not saved statistics")
    return reference_features(real, extractor, data_id, cache_dir)


def _same_extractor(stats, extractor, where):
    if stats.extractor and stats.extractor != extractor.name:
        raise SpecError(
            f"{where}: statistics were computed with extractor `{stats.extractor}`, not `{extractor.name}`; "
            "recompute them with the same network"
        )
    return stats


def _cache_path(data, extractor, data_id, cache_dir, kind):
    if data_id is None:
        if not (isinstance(data, np.ndarray) or hasattr(data, "__array__")):
            return None
        array = np.ascontiguousarray(np.asarray(data))
        digest = hashlib.sha1(f"{array.shape}{array.dtype}".encode())
        digest.update(array.data)
        data_id = f"array-{digest.hexdigest()[:16]}"
    safe_id = "".join(c if c.isalnum() or c in "._-" else "_" for c in str(data_id))
    weights = getattr(extractor, "weights_sha256", None)
    network = f"{extractor.name}-{weights[:12]}" if weights else extractor.name
    return os.path.join(cache_dir or default_cache_dir(), f"{safe_id}-{network}-{kind}.npz")
