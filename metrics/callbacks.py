"""Keras callbacks that score a generator's samples during `fit` and write the score into `logs`.

Because the value goes into the epoch's `logs`, `CSVLogger`, `TensorBoard`, `ModelCheckpoint(monitor=...)`
and `EarlyStopping` see it; list these callbacks *before* those in `callbacks=[...]`, since Keras hands
the same `logs` to each callback in order. A score is computed after the first epoch (so `CSVLogger`, which
fixes its columns then, has the column) and after every `every`-th epoch; other epochs have no entry.

The sampler is any callable `sample_fn(n, seed) -> array of n images` (the generative trainers provide one);
the same seed at every evaluation makes scores of successive epochs comparable.
"""

import keras
import numpy as np

from kspec.errors import SpecError
from kspec.metrics.evaluation import reference_features, reference_statistics
from kspec.metrics.extractors import score_name
from kspec.metrics.frechet import frechet_score
from kspec.metrics.inception_score import inception_score
from kspec.metrics.kid import kernel_inception_distance
from kspec.metrics.statistics import FeatureStatistics


class GenerativeMetric(keras.callbacks.Callback):
    """Base of the metric callbacks: when to evaluate, drawing samples, logging the `Score`.

    Args:
        sample_fn: `sample_fn(n, seed)` returning an array of `n` images.
        extractor: a `kspec.metrics.extractors` extractor; it decides the label (`fid` or `fd_<name>`).
        num_samples: images drawn per evaluation.
        every: evaluate after the first epoch and after every `every`-th one.
        seed: seed passed to `sample_fn` (and to the metric's own randomness).
    """

    metric = None

    def __init__(self, sample_fn, extractor, num_samples=1000, every=1, seed=0):
        super().__init__()
        if not callable(sample_fn):
            raise ValueError(f"Invalid value for argument `sample_fn`: expected a callable. Received: {sample_fn!r}")
        for argument, value in (("num_samples", num_samples), ("every", every)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Invalid value for argument `{argument}`: expected a positive integer. Received: {argument}={value!r}"
                )
        self.sample_fn = sample_fn
        self.extractor = extractor
        self.num_samples = num_samples
        self.every = every
        self.seed = seed
        self.name = score_name(self.metric, extractor.name)
        self.scores = []  # (epoch, Score) of every evaluation, for inspection after fit

    def on_epoch_end(self, epoch, logs=None):
        if epoch != 0 and (epoch + 1) % self.every != 0:
            return
        images = np.asarray(self.sample_fn(self.num_samples, self.seed))
        if images.shape[:1] != (self.num_samples,):
            raise SpecError(
                f"{self.name}: sample_fn({self.num_samples}, seed) must return {self.num_samples} images. "
                f"Received: shape={images.shape}"
            )
        score = self.score(images)
        self.scores.append((epoch, score))
        if logs is not None:
            logs[self.name] = score.value

    def score(self, images):
        """The `Score` of an array of generated images."""
        raise NotImplementedError


class FID(GenerativeMetric):
    """Logs the Fréchet distance of generated samples to real data (`fid`, or `fd_<extractor>`).

    Args:
        sample_fn: `sample_fn(n, seed)` returning an array of `n` images.
        real_data: real images (array or iterable of batches), saved statistics (`.npz` path) or
            `FeatureStatistics`; computed once at the start of training and cached.
        extractor: feature extractor.
        num_samples: generated images per evaluation; FID is biased upward at small N (~1/N), so compare runs
            at the same `num_samples`, and prefer `KID` when it must be below the feature dimension.
        every: evaluate after the first epoch and every `every`-th one.
        data_id: name of the real data set in the cache key (see `kspec.metrics.evaluation`).
        cache_dir: where real-data statistics are cached.
        seed: seed passed to `sample_fn`.

    Example:
    >>> import keras, numpy as np
    >>> from kspec.metrics.extractors import KerasExtractor
    >>> inputs = keras.Input((4,))
    >>> net = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="out")(inputs))
    >>> real = np.random.default_rng(0).normal(size=(64, 4))
    >>> fid = FID(lambda n, seed: np.random.default_rng(seed).normal(size=(n, 4)), real,
    ...           KerasExtractor(net, "out", name="toy"), num_samples=64)
    >>> fid.name
    'fd_toy'
    """

    metric = "fid"

    def __init__(self, sample_fn, real_data, extractor, num_samples=1000, every=1, data_id=None, cache_dir=None, seed=0):
        super().__init__(sample_fn, extractor, num_samples=num_samples, every=every, seed=seed)
        self.real_data = real_data
        self.data_id = data_id
        self.cache_dir = cache_dir
        self.reference = None

    def on_train_begin(self, logs=None):
        # Computed here so a wrong data set or extractor fails before the first epoch, not after it.
        if self.reference is None:
            self.reference = reference_statistics(self.real_data, self.extractor, self.data_id, self.cache_dir)

    def score(self, images):
        self.on_train_begin()
        generated = FeatureStatistics.from_features(self.extractor.features(images), extractor=self.extractor.name)
        return frechet_score(self.reference, generated, name=self.name)


class KID(GenerativeMetric):
    """Logs the Kernel Inception Distance of generated samples to real data (`kid`, or `kid_<extractor>`).

    Unbiased at any sample count, so it is the metric for small `num_samples`.

    Args:
        sample_fn: `sample_fn(n, seed)` returning an array of `n` images.
        real_data: real images (array or iterable of batches); their features are computed once and cached.
        extractor: feature extractor.
        num_samples: generated images per evaluation.
        every: evaluate after the first epoch and every `every`-th one.
        subsets: KID rounds; subset_size: rows per round (see `kernel_inception_distance`).
        data_id, cache_dir: cache key and place of the real features.
        seed: seed passed to `sample_fn` and of the subsets.
    """

    metric = "kid"

    def __init__(
        self, sample_fn, real_data, extractor, num_samples=1000, every=1, subsets=100, subset_size=1000,
        data_id=None, cache_dir=None, seed=0,
    ):
        super().__init__(sample_fn, extractor, num_samples=num_samples, every=every, seed=seed)
        self.real_data = real_data
        self.subsets = subsets
        self.subset_size = subset_size
        self.data_id = data_id
        self.cache_dir = cache_dir
        self.reference = None

    def on_train_begin(self, logs=None):
        if self.reference is None:
            self.reference = reference_features(self.real_data, self.extractor, self.data_id, self.cache_dir)

    def score(self, images):
        self.on_train_begin()
        features = self.extractor.features(images)
        return kernel_inception_distance(
            self.reference, features, self.subsets, self.subset_size, seed=self.seed, name=self.name
        )


class InceptionScore(GenerativeMetric):
    """Logs the Inception Score of generated samples (`inception_score`, or `is_<extractor>`).

    Args:
        sample_fn: `sample_fn(n, seed)` returning an array of `n` images.
        extractor: extractor whose probabilities are scored (a classifier with a softmax output).
        num_samples: generated images per evaluation.
        every: evaluate after the first epoch and every `every`-th one.
        splits: parts the samples are cut into (at most `num_samples`).
        seed: seed passed to `sample_fn` and of the shuffle.
    """

    metric = "inception_score"

    def __init__(self, sample_fn, extractor, num_samples=1000, every=1, splits=10, seed=0):
        super().__init__(sample_fn, extractor, num_samples=num_samples, every=every, seed=seed)
        self.splits = splits

    def score(self, images):
        probs = self.extractor.probabilities(images)
        return inception_score(probs, splits=self.splits, seed=self.seed, name=self.name)
