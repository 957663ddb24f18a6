"""Keras callbacks that score a generator's samples during `fit` and write the score into `logs`.

Because the value goes into the epoch's `logs`, `CSVLogger`, `TensorBoard`, `ModelCheckpoint(monitor=...)`
and `EarlyStopping` see it; list these callbacks *before* those in `callbacks=[...]`, since Keras hands
the same `logs` to each callback in order. A score is computed after the first epoch (so `CSVLogger`, which
fixes its columns then, has the column) and after every `every`-th epoch; other epochs have no entry.

The sampler is any callable `sample_fn(n, seed) -> array of n images` (the generative trainers provide one);
the same seed at every evaluation makes scores of successive epochs comparable.

Each `Score` in `callback.scores` carries its `Protocol` (extractor, resize, counts, reference hash); `ScoreFile`
writes them to a JSON side file (`RUN/scores.json` in kspec runs), since `logs` and CSV columns hold numbers only.
"""

import os

import keras
import numpy as np

from kspec.errors import SpecError
from kspec.metrics.evaluation import reference_features, reference_sha256, reference_statistics
from kspec.metrics.extractors import score_name
from kspec.metrics.frechet import frechet_score
from kspec.metrics.inception_score import inception_score
from kspec.metrics.kid import kernel_inception_distance
from kspec.metrics.precision_recall import DEFAULT_K, precision_recall_density_coverage
from kspec.metrics.protocol import attach_protocol, read_score_file, score_record, write_score_file
from kspec.metrics.score import Score
from kspec.metrics.statistics import FeatureStatistics


class GenerativeMetric(keras.callbacks.Callback):
    """Base of the metric callbacks: when to evaluate, drawing samples, logging the `Score`.

    Args:
        sample_fn: `sample_fn(n, seed)` returning an array of `n` images.
        extractor: a `kspec.metrics.extractors` extractor; it decides the label (`fid` or `fd_<name>`).
        num_samples: images drawn per evaluation.
        every: evaluate after the first epoch and after every `every`-th one.
        seed: seed passed to `sample_fn` (and to the metric's own randomness).
        spec_sha256: hash of the run's spec, recorded in each score's protocol.
    """

    metric = None

    def __init__(self, sample_fn, extractor, num_samples=1000, every=1, seed=0, spec_sha256=None):
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
        self.spec_sha256 = spec_sha256
        self.name = score_name(self.metric, extractor.name)
        self.scores = []  # (epoch, Score with its Protocol) of every evaluation
        self.reference_sha256 = None  # set by the metrics with a reference set

    def on_epoch_end(self, epoch, logs=None):
        if epoch != 0 and (epoch + 1) % self.every != 0:
            return
        images = np.asarray(self.sample_fn(self.num_samples, self.seed))
        if images.shape[:1] != (self.num_samples,):
            raise SpecError(
                f"{self.name}: sample_fn({self.num_samples}, seed) must return {self.num_samples} images. "
                f"Received: shape={images.shape}"
            )
        score = attach_protocol(self.score(images), self.extractor.protocol(), self.reference_sha256,
                                self.spec_sha256, **self.options())
        self.scores.append((epoch, score))
        if logs is not None:
            logs[self.name] = score.value

    def score(self, images):
        """The `Score` of an array of generated images."""
        raise NotImplementedError

    def options(self):
        """The metric's settings that change its value, recorded in the protocol."""
        return {}


class ReferenceMetric(GenerativeMetric):
    """Base of the metrics that compare generated images with real ones (FID, KID, the k-NN metrics).

    The real side (feature statistics for FID, features for the others) is computed once, at the start of
    training, and cached on disk under the data id and the extractor, so metrics on the same data share it.
    """

    #: True: the real side is `FeatureStatistics` (FID); False: the real features themselves.
    uses_statistics = False

    def __init__(self, sample_fn, real_data, extractor, num_samples=1000, every=1, data_id=None, cache_dir=None, seed=0,
                 spec_sha256=None):
        super().__init__(sample_fn, extractor, num_samples=num_samples, every=every, seed=seed, spec_sha256=spec_sha256)
        self.real_data = real_data
        self.data_id = data_id
        self.cache_dir = cache_dir
        self.reference = None

    def on_train_begin(self, logs=None):
        # Computed here so a wrong data set or extractor fails before the first epoch, not after it.
        if self.reference is None:
            load = reference_statistics if self.uses_statistics else reference_features
            self.reference = load(self.real_data, self.extractor, self.data_id, self.cache_dir)
            self.reference_sha256 = reference_sha256(self.real_data)


class FID(ReferenceMetric):
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

    uses_statistics = True

    def score(self, images):
        self.on_train_begin()
        generated = FeatureStatistics.from_features(self.extractor.features(images), extractor=self.extractor.name)
        return frechet_score(self.reference, generated, name=self.name)


class KID(ReferenceMetric):
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
        spec_sha256: hash of the run's spec, recorded in the protocol.
    """

    metric = "kid"

    def __init__(
        self, sample_fn, real_data, extractor, num_samples=1000, every=1, subsets=100, subset_size=1000,
        data_id=None, cache_dir=None, seed=0, spec_sha256=None,
    ):
        super().__init__(sample_fn, real_data, extractor, num_samples=num_samples, every=every, data_id=data_id,
                         cache_dir=cache_dir, seed=seed, spec_sha256=spec_sha256)
        self.subsets = subsets
        self.subset_size = subset_size

    def score(self, images):
        self.on_train_begin()
        features = self.extractor.features(images)
        return kernel_inception_distance(
            self.reference, features, self.subsets, self.subset_size, seed=self.seed, name=self.name
        )

    def options(self):
        return {"subsets": self.subsets, "subset_size": self.subset_size}


class ManifoldMetric(ReferenceMetric):
    """Base of the k-NN metrics (Kynkäänniemi et al. 2019; Naeem et al. 2020) against real features.

    Args:
        sample_fn: `sample_fn(n, seed)` returning an array of `n` images.
        real_data: real images (array or iterable of batches); their features are computed once and cached.
        extractor: feature extractor.
        num_samples: generated images per evaluation.
        every: evaluate after the first epoch and every `every`-th one.
        k: neighbourhood size (3, as in both papers).
        data_id, cache_dir: cache key and place of the real features.
        seed: seed passed to `sample_fn`.
        spec_sha256: hash of the run's spec, recorded in the protocol.
    """

    def __init__(self, sample_fn, real_data, extractor, num_samples=1000, every=1, k=DEFAULT_K, data_id=None,
                 cache_dir=None, seed=0, spec_sha256=None):
        super().__init__(sample_fn, real_data, extractor, num_samples=num_samples, every=every, data_id=data_id,
                         cache_dir=cache_dir, seed=seed, spec_sha256=spec_sha256)
        self.k = k

    def score(self, images):
        self.on_train_begin()
        features = self.extractor.features(images)
        value = precision_recall_density_coverage(self.reference, features, self.k, metrics=(self.metric,))
        return Score(self.name, value[self.metric], n=features.shape[0], n_reference=self.reference.shape[0])

    def options(self):
        return {"k": self.k}


class Precision(ManifoldMetric):
    """Logs the share of generated samples inside the real k-NN manifold (`precision_<extractor>`)."""

    metric = "precision"


class Recall(ManifoldMetric):
    """Logs the share of real samples inside the generated k-NN manifold (`recall_<extractor>`)."""

    metric = "recall"


class Density(ManifoldMetric):
    """Logs how many real k-NN balls hold each generated sample, over k (`density_<extractor>`)."""

    metric = "density"


class Coverage(ManifoldMetric):
    """Logs the share of real samples whose k-NN ball holds a generated sample (`coverage_<extractor>`)."""

    metric = "coverage"


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

    def __init__(self, sample_fn, extractor, num_samples=1000, every=1, splits=10, seed=0, spec_sha256=None):
        super().__init__(sample_fn, extractor, num_samples=num_samples, every=every, seed=seed, spec_sha256=spec_sha256)
        self.splits = splits

    def score(self, images):
        probs = self.extractor.probabilities(images)
        return inception_score(probs, splits=self.splits, seed=self.seed, name=self.name)

    def options(self):
        return {"splits": self.splits}


class ScoreFile(keras.callbacks.Callback):
    """Writes the scores of metric callbacks, each with its protocol, to a JSON side file after scored epochs.

    List it after the metric callbacks. Records are keyed by (epoch, name): a resumed run that scores an epoch
    again replaces that epoch's records and keeps the earlier ones (see `kspec.metrics.protocol`).

    Args:
        path: the JSON file (`RUN/scores.json`).
        metrics: the `GenerativeMetric` callbacks whose scores to write.
    """

    def __init__(self, path, metrics):
        super().__init__()
        self.path = os.fspath(path)
        self.metrics = list(metrics)
        self.records = {}

    def on_train_begin(self, logs=None):
        if os.path.exists(self.path):
            self.records = {(r.get("epoch"), r["name"]): r for r in read_score_file(self.path)}

    def on_epoch_end(self, epoch, logs=None):
        scored = [score for metric in self.metrics for at, score in metric.scores if at == epoch]
        if not scored:
            return
        for score in scored:
            self.records[(epoch, score.name)] = score_record(score, epoch=epoch)
        write_score_file(self.path, sorted(self.records.values(), key=lambda r: (r["epoch"], r["name"])))
