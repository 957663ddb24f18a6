"""Generative metrics of runs: callbacks from `training.evaluation`, `kspec evaluate`, `kspec stats`.

The extractor is a classifier trained by kspec (a run directory and a layer: scores `fd_<name>`, `is_<name>`,
`kid_<name>`, `precision_<name>`, ..., fully offline) or Keras' InceptionV3 with weights from a local file (scores
`fid`, `inception_score`, `kid`, `precision`, ...; not comparable with published FIDs, see docs/metrics.md).

Every score carries its protocol (`kspec.metrics.protocol`); runs write them to `RUN/scores.json`.
"""

import os

import numpy as np

from kspec import builder
from kspec.errors import SpecError

DEFAULT_METRICS = ("fid",)
SCORES_FILE = "scores.json"
REFERENCE_SPLITS = ("train", "validation")


def data_value_range(spec):
    """Pixel range of a spec's normalized data, e.g. (0, 1) for `unit`; None when not an image range."""
    from kspec.data import load_arrays

    return load_arrays(spec.data, seed=0).info.normalization.output_range


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

    The FID, IS, KID and k-NN callbacks each ask for `num_samples` images and their features or probabilities;
    without sharing, an epoch that reports several pays for each. The cache is cleared at each epoch start by
    `reset_callback`.
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

    def features(self, images):
        return self.extract(images)[0]

    def probabilities(self, images):
        return self.extract(images)[1]

    def iterate(self, data):  # the real data's pass, once per run: not shared
        return self.extractor.iterate(data)

    @property
    def weights_sha256(self):
        return self.extractor.weights_sha256

    def protocol(self):
        return self.extractor.protocol()

    def reset_callback(self):
        import keras

        shared = self

        class ClearSharedPass(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                shared.clear()

        return ClearSharedPass()


def metric_callbacks(spec, evaluation, trainer, real_images, value_range, run=None):
    """The metric callbacks asked for in `training.evaluation`, scoring `trainer.sample`, and (with `run`) the
    `ScoreFile` callback that writes their scores and protocols to `RUN/scores.json`."""
    import kspec.metrics  # noqa: F401  (registers the metrics)
    from kspec.metrics.callbacks import ScoreFile
    from kspec.registry import METRICS
    from kspec.training.run_directory import spec_hash

    ranged = make_extractor(evaluation.get("extractor"))
    real = ranged.adapt(real_images, value_range)
    shared = _SharedPass(ranged.extractor, lambda n, seed: ranged.adapt(trainer.sample(n, seed=seed), value_range))

    common = {"sample_fn": shared.sample_fn, "extractor": shared, "every": evaluation.get("every", 1),
              "num_samples": evaluation.get("samples", 1000), "spec_sha256": spec_hash(spec.document)}
    metrics = []
    for metric in evaluation.get("metrics", DEFAULT_METRICS):
        if metric == "inception_score":
            metrics.append(METRICS.get(metric)(**common))
        else:
            metrics.append(METRICS.get(metric)(real_data=real, **common))
    scores = [ScoreFile(os.path.join(run.path, SCORES_FILE), metrics)] if run is not None else []
    return [shared.reset_callback(), *metrics, *scores]


def evaluate_run(run_dir, metrics=DEFAULT_METRICS, samples=1000, extractor=None, seed=0, checkpoint="last",
                 reference="train", k=3):
    """Scores a generative run's samples against its data: returns `{label: Score}`, each with its protocol.

    Args:
        run_dir: the run directory.
        metrics: names from `kspec.metrics.evaluation.METRIC_NAMES`.
        samples: generated images scored.
        extractor: extractor options (`{run, layer, name}` or `{inception: FILE}`); default the spec's
            `training.evaluation.extractor`.
        seed: seed of the latent draw and of the metrics' randomness.
        checkpoint: `last` or `best`.
        reference: the part of the run's data scored against: `train`, or `validation` (held out from training).
        k: neighbourhood size of precision, recall, density and coverage.
    """
    from kspec.data import load_arrays
    from kspec.metrics.evaluation import evaluate
    from kspec.training.run_directory import RunDirectory
    from kspec.training.trainer_from_spec import load_trained

    if reference not in REFERENCE_SPLITS:
        raise SpecError(f"expected one of {', '.join(REFERENCE_SPLITS)}. Received: {reference!r}", path="--reference")
    trainer, _, spec, config = load_trained(run_dir, checkpoint)
    options = extractor or (config.evaluation or {}).get("extractor")
    ranged = make_extractor(options)
    arrays = load_arrays(spec.data, seed=config.seed)
    part = arrays.train if reference == "train" else arrays.validation
    if part is None:
        raise SpecError(f"{run_dir} has no validation split to score against (its `data.validation_split` is 0)",
                        path="--reference")
    value_range = arrays.info.normalization.output_range
    real = ranged.adapt(part.inputs, value_range)
    generated = ranged.adapt(trainer.sample(samples, seed=seed), value_range)
    spec_sha256 = RunDirectory.open(run_dir).record().get("spec_hash")
    return evaluate(generated, ranged.extractor, real=real, metrics=tuple(metrics), seed=seed,
                    k=k, spec_sha256=spec_sha256)


def write_scores(scores, output, **where):
    """Writes `{label: Score}` with their protocols to the JSON side file `output` (see `kspec.metrics.protocol`)."""
    from kspec.metrics.protocol import score_record, write_score_file

    return write_score_file(output, [score_record(score, **where) for score in scores.values()])


def dataset_statistics(spec_path, extractor, output):
    """Feature statistics (mu, sigma, N) of a spec's training data, saved as .npz for later FIDs."""
    from kspec.data import load_arrays
    from kspec.metrics.evaluation import feature_statistics

    spec = builder.load_spec(spec_path)
    if spec.data is None:
        raise SpecError("the spec has no `data:` section", path="data")
    ranged = make_extractor(extractor)
    arrays = load_arrays(spec.data, seed=0)
    images = ranged.adapt(arrays.train.inputs, arrays.info.normalization.output_range)
    statistics = feature_statistics(images, ranged.extractor)
    statistics.save(output)
    return statistics
