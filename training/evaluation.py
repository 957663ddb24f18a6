"""Generative metrics of runs: callbacks from `training.evaluation`, `kspec evaluate`, `kspec stats`.

The extractor is a classifier trained by kspec (a run directory and a layer: scores `fd_<name>`, `is_<name>`,
`kid_<name>`, fully offline) or Keras' InceptionV3 with weights from a local file (scores `fid`,
`inception_score`, `kid`; not comparable with published FIDs, see docs/metrics.md).
"""

import os

import numpy as np

from kspec import builder
from kspec.errors import SpecError

DEFAULT_METRICS = ("fid",)
_RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}


def data_value_range(spec):
    """Pixel range of a spec's normalized data, e.g. (0, 1) for `unit`; None when not an image range."""
    from kspec.data import load_arrays

    method = load_arrays(spec.data, seed=0).info.normalization.method
    return _RANGES.get(method)


def rescale(images, source, target):
    """Maps images from one value range to another ((-1, 1) generator output into a (0, 1) classifier)."""
    if source is None or target is None or tuple(source) == tuple(target):
        return images
    (a, b), (c, d) = source, target
    return (np.asarray(images, dtype="float32") - a) / (b - a) * (d - c) + c


class RangedExtractor:
    """An extractor plus the value range its network expects; `adapt` brings other images into that range."""

    def __init__(self, extractor, value_range):
        self.extractor = extractor
        self.value_range = value_range
        self.name = extractor.name

    def adapt(self, images, value_range):
        return rescale(images, value_range, self.value_range)


def make_extractor(options):
    """From `training.evaluation.extractor` (or CLI options): `{run, layer, name}` or `{inception: WEIGHTS}`."""
    from kspec.metrics.extractors import InceptionExtractor, KerasExtractor

    options = dict(options or {})
    if "inception" in options:
        value_range = tuple(options.get("value_range", (0.0, 1.0)))
        return RangedExtractor(InceptionExtractor(value_range, weights=options["inception"]), value_range)
    if "run" not in options or "layer" not in options:
        raise SpecError("expected an extractor `{run: RUN_DIR, layer: LAYER, name: NAME}` (a classifier trained by "
                        "kspec) or `{inception: WEIGHTS_FILE}`", path="training.evaluation.extractor")
    from kspec.training.run_directory import RunDirectory
    from kspec.training.supervised import best_checkpoint

    run = RunDirectory.open(options["run"])
    checkpoint = best_checkpoint(run)
    if checkpoint is None:
        raise SpecError(f"extractor run {run.path} has no checkpoint; train it first",
                        path="training.evaluation.extractor.run")
    name = options.get("name") or os.path.basename(os.path.normpath(run.path)).replace(".", "_")
    try:
        extractor = KerasExtractor(checkpoint, options["layer"], name)
    except ValueError as error:
        raise SpecError(str(error), path="training.evaluation.extractor") from None
    return RangedExtractor(extractor, data_value_range(builder.load_spec(run.spec_file)))


class _SharedPass:
    """Lets several metric callbacks of one epoch share one draw of samples and one pass of the extractor.

    The FID and IS callbacks each ask for `num_samples` images and their features; without sharing, an epoch
    that reports both pays twice. The cache is cleared at each epoch start by `reset_callback`.
    """

    def __init__(self, extractor, sample):
        self.extractor = extractor
        self.sample = sample
        self.name = extractor.name
        self.clear()

    def clear(self):
        self._samples = {}
        self._extracted = (None, None)

    def sample_fn(self, n, seed):
        if (n, seed) not in self._samples:
            self._samples[(n, seed)] = self.sample(n, seed)
        return self._samples[(n, seed)]

    def extract(self, images):
        if self._extracted[0] is not images:
            self._extracted = (images, self.extractor.extract(images))
        return self._extracted[1]

    def __getattr__(self, name):  # everything else (iterate, features, probabilities) as the extractor
        return getattr(self.extractor, name)

    def reset_callback(self):
        import keras

        shared = self

        class ClearSharedPass(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                shared.clear()

        return ClearSharedPass()


def metric_callbacks(spec, evaluation, trainer, real_images, value_range):
    """The FID / IS / KID callbacks asked for in `training.evaluation`, scoring `trainer.sample`."""
    import kspec.metrics  # noqa: F401  (registers the metrics)
    from kspec.registry import METRICS

    ranged = make_extractor(evaluation.get("extractor"))
    real = ranged.adapt(real_images, value_range)
    shared = _SharedPass(ranged.extractor, lambda n, seed: ranged.adapt(trainer.sample(n, seed=seed), value_range))

    callbacks = [shared.reset_callback()]
    common = {"sample_fn": shared.sample_fn, "extractor": shared, "every": evaluation.get("every", 1),
              "num_samples": evaluation.get("samples", 1000)}
    for metric in evaluation.get("metrics", DEFAULT_METRICS):
        if metric == "inception_score":
            callbacks.append(METRICS.get(metric)(**common))
        else:
            callbacks.append(METRICS.get(metric)(real_data=real, **common))
    return callbacks


def evaluate_run(run_dir, metrics=DEFAULT_METRICS, samples=1000, extractor=None, seed=0, checkpoint="last"):
    """Scores a generative run's samples against its data: returns `{label: Score}`."""
    from kspec.data import load_arrays
    from kspec.metrics.evaluation import evaluate
    from kspec.training.generative import load_trained

    trainer, _, spec, config = load_trained(run_dir, checkpoint)
    options = extractor or (config.evaluation or {}).get("extractor")
    ranged = make_extractor(options)
    arrays = load_arrays(spec.data, seed=config.seed)
    value_range = _RANGES.get(arrays.info.normalization.method)
    real = ranged.adapt(arrays.train.inputs, value_range)
    generated = ranged.adapt(trainer.sample(samples, seed=seed), value_range)
    return evaluate(generated, ranged.extractor, real=real, metrics=tuple(metrics), seed=seed)


def dataset_statistics(spec_path, extractor, output):
    """Feature statistics (mu, sigma, N) of a spec's training data, saved as .npz for later FIDs."""
    from kspec.data import load_arrays
    from kspec.metrics.evaluation import feature_statistics

    spec = builder.load_spec(spec_path)
    if spec.data is None:
        raise SpecError("the spec has no `data:` section", path="data")
    ranged = make_extractor(extractor)
    arrays = load_arrays(spec.data, seed=0)
    images = ranged.adapt(arrays.train.inputs, _RANGES.get(arrays.info.normalization.method))
    statistics = feature_statistics(images, ranged.extractor)
    statistics.save(output)
    return statistics
