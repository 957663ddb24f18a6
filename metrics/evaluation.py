"""Scoring generated images against real data, with the real side computed once and cached as `.npz`.

This is what the metric callbacks and the CLI (`kspec evaluate`, `kspec stats`) call. The real data's
statistics (FID) or features (KID) are cached under `<cache_dir>/<data_id>-<extractor>-<kind>.npz`, so a
training run pays for them once, not at every evaluation.
"""

import hashlib
import os

import numpy as np

from kspec.errors import SpecError
from kspec.metrics.frechet import frechet_score
from kspec.metrics.inception_score import inception_score
from kspec.metrics.kid import kernel_inception_distance
from kspec.metrics.statistics import FeatureStatistics

CACHE_DIR_ENV = "KSPEC_CACHE_DIR"
METRIC_NAMES = ("fid", "inception_score", "kid")


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


def evaluate(generated, extractor, real=None, metrics=METRIC_NAMES, data_id=None, cache_dir=None, splits=10, seed=0):
    """Scores generated images with the named metrics; one pass of the images through the extractor.

    Args:
        generated: array of generated images (the extractor's input contract).
        extractor: a `KerasExtractor` or `InceptionExtractor`.
        real: real data for `fid` and `kid` (see `reference_statistics`; `kid` needs images, not statistics).
        metrics: any of "fid", "inception_score", "kid".
        data_id, cache_dir: cache key and place of the real side (see `reference_statistics`).
        splits: Inception Score splits.
        seed: seed of the IS shuffle and the KID subsets.

    Returns:
        A dict from log key (`fid`, `fd_digits`, ...) to `Score`.
    """
    from kspec.metrics.extractors import score_name

    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown:
        raise SpecError(f"unknown metric(s) {', '.join(map(repr, unknown))}; expected any of {', '.join(METRIC_NAMES)}")
    if real is None and ("fid" in metrics or "kid" in metrics):
        raise SpecError("`fid` and `kid` compare with real data: pass `real` (images or saved statistics)")
    features, probs = extractor.extract(generated)
    scores = {}
    for metric in metrics:
        name = score_name(metric, extractor.name)
        if metric == "fid":
            reference = reference_statistics(real, extractor, data_id, cache_dir)
            generated_stats = FeatureStatistics.from_features(features, extractor=extractor.name)
            scores[name] = frechet_score(reference, generated_stats, name=name)
        elif metric == "inception_score":
            scores[name] = inception_score(probs, splits=min(splits, len(probs)), seed=seed, name=name)
        else:
            if isinstance(real, (FeatureStatistics, str, os.PathLike)):
                raise SpecError("`kid` needs real images (or an iterable of batches), not saved statistics")
            real_features = reference_features(real, extractor, data_id, cache_dir)
            scores[name] = kernel_inception_distance(real_features, features, seed=seed, name=name)
    return scores


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
    return os.path.join(cache_dir or default_cache_dir(), f"{safe_id}-{extractor.name}-{kind}.npz")
