"""Metric callbacks in a short `fit`: values land in `logs`, where CSVLogger and ModelCheckpoint see them."""

import csv
import os

import numpy as np
import pytest

import kspec.metrics  # noqa: F401  (registers the metrics)
from kspec.errors import SpecError
from kspec.registry import METRICS


def toy_generator():
    """A 'generator' trained for a few steps: latent (3,) -> image (6, 6, 1)."""
    import keras

    latent = keras.Input((3,))
    image = keras.layers.Reshape((6, 6, 1))(keras.layers.Dense(36, activation="sigmoid")(latent))
    model = keras.Model(latent, image)
    model.compile(optimizer="sgd", loss="mse")
    return model


def sampler(generator):
    def sample_fn(n, seed):
        noise = np.random.default_rng(seed).normal(size=(n, 3)).astype("float32")
        return np.asarray(generator(noise, training=False))

    return sample_fn


# Epoch 2 is not evaluated, so ModelCheckpoint says it has nothing to monitor then; that is intended.
@pytest.mark.filterwarnings("ignore:Can save best model only with fd_toy available")
def test_callbacks_log_labelled_scores_seen_by_csv_logger_and_checkpoint(tmp_path, toy_extractor):
    import keras

    from kspec.metrics.callbacks import FID, KID, InceptionScore

    generator = toy_generator()
    real = np.random.default_rng(0).uniform(size=(40, 6, 6, 1)).astype("float32")
    sample_fn = sampler(generator)
    common = dict(sample_fn=sample_fn, extractor=toy_extractor, num_samples=24)
    fid = FID(real_data=real, every=2, data_id="toy-real", cache_dir=tmp_path, **common)
    kid = KID(real_data=real, every=2, subsets=5, subset_size=16, data_id="toy-real", cache_dir=tmp_path, **common)
    inception = InceptionScore(splits=4, **common)
    log_path, checkpoint_path = tmp_path / "log.csv", tmp_path / "best.weights.h5"
    callbacks = [
        fid, kid, inception,
        keras.callbacks.CSVLogger(str(log_path)),
        keras.callbacks.ModelCheckpoint(str(checkpoint_path), monitor="fd_toy", mode="min", save_best_only=True, save_weights_only=True),
    ]
    latent, targets = np.zeros((8, 3), "float32"), np.full((8, 6, 6, 1), 0.5, "float32")
    history = generator.fit(latent, targets, epochs=4, batch_size=4, verbose=0, callbacks=callbacks)

    # Evaluated after the first epoch and every second one: epochs 0, 1, 3.
    assert [epoch for epoch, _ in fid.scores] == [0, 1, 3]
    assert [epoch for epoch, _ in inception.scores] == [0, 1, 2, 3]
    rows = list(csv.DictReader(log_path.open()))
    assert [row["fd_toy"] for row in rows][2] == "NA"
    assert float(rows[3]["fd_toy"]) == pytest.approx(fid.scores[-1][1].value)
    assert float(rows[3]["kid_toy"]) == pytest.approx(kid.scores[-1][1].value)
    assert float(rows[1]["is_toy"]) == pytest.approx(inception.scores[1][1].value)
    assert len(history.history["fd_toy"]) == 3
    assert checkpoint_path.is_file()
    # Real statistics were computed once and cached on disk under data id, extractor name and weights hash.
    weights = toy_extractor.weights_sha256[:12]
    assert sorted(p.name for p in tmp_path.glob("toy-real-*")) == [
        f"toy-real-toy-{weights}-features.npz", f"toy-real-toy-{weights}-statistics.npz"]
    score = fid.scores[0][1]
    assert (score.name, score.n, score.n_reference) == ("fd_toy", 24, 40)


def test_scores_carry_their_protocol_into_the_score_file(tmp_path, toy_extractor):
    import json

    import keras

    from kspec.metrics.callbacks import FID, KID, Coverage, InceptionScore, Precision, Recall, ScoreFile
    from kspec.metrics.evaluation import reference_sha256

    real = np.random.default_rng(0).uniform(size=(40, 6, 6, 1)).astype("float32")
    toy = toy_generator()
    common = dict(sample_fn=sampler(toy), extractor=toy_extractor, num_samples=24, spec_sha256="5" * 64)
    with_real = dict(real_data=real, data_id="toy-real", cache_dir=tmp_path, **common)
    metrics = [FID(every=2, **with_real), KID(subsets=5, subset_size=16, **with_real), InceptionScore(splits=4, **common),
               Precision(k=2, **with_real), Recall(**with_real), Coverage(**with_real)]
    path = tmp_path / "run" / "scores.json"
    csv_path = tmp_path / "log.csv"
    callbacks = [*metrics, ScoreFile(path, metrics), keras.callbacks.CSVLogger(str(csv_path))]
    toy.fit(np.zeros((8, 3), "float32"), np.full((8, 6, 6, 1), 0.5, "float32"), epochs=3, batch_size=4, verbose=0,
            callbacks=callbacks)

    records = json.loads(path.read_text())["scores"]
    assert [(r["epoch"], r["name"]) for r in records if r["epoch"] == 2] == [
        (2, "coverage_toy"), (2, "is_toy"), (2, "kid_toy"), (2, "precision_toy"), (2, "recall_toy")]  # FID: every 2
    fid = next(r for r in records if r["name"] == "fd_toy")
    assert fid["protocol"] == {
        "extractor": "toy", "extractor_weights_sha256": toy_extractor.weights_sha256, "extractor_layer": "embedding",
        "resize": "none", "image_size": [6, 6], "n_generated": 24, "n_reference": 40,
        "reference_sha256": reference_sha256(real), "options": {}, "spec_sha256": "5" * 64}
    by_name = {r["name"]: r for r in records if r["epoch"] == 2}
    assert by_name["kid_toy"]["protocol"]["options"] == {"subsets": 5, "subset_size": 16}
    assert by_name["precision_toy"]["protocol"]["options"] == {"k": 2}
    assert by_name["is_toy"]["protocol"]["n_reference"] is None and by_name["is_toy"]["protocol"]["reference_sha256"] is None
    # The CSV stays numeric; its columns are the scores' names in the side file.
    rows = list(csv.DictReader(csv_path.open()))
    assert float(rows[2]["precision_toy"]) == by_name["precision_toy"]["value"]
    assert 0.0 <= by_name["coverage_toy"]["value"] <= 1.0


def test_score_file_replaces_the_records_of_an_epoch_scored_again(tmp_path, toy_extractor):
    import json

    from kspec.metrics.callbacks import InceptionScore, ScoreFile

    path = tmp_path / "scores.json"
    metric = InceptionScore(sampler(toy_generator()), toy_extractor, num_samples=8, splits=2)
    first = ScoreFile(path, [metric])
    for epoch in (0, 1):
        metric.on_epoch_end(epoch, {})
        first.on_epoch_end(epoch, {})
    resumed_metric = InceptionScore(sampler(toy_generator()), toy_extractor, num_samples=8, splits=2, seed=7)
    resumed = ScoreFile(path, [resumed_metric])
    resumed.on_train_begin()
    resumed_metric.on_epoch_end(1, {})
    resumed.on_epoch_end(1, {})
    records = json.loads(path.read_text())["scores"]
    assert [r["epoch"] for r in records] == [0, 1]
    assert records[1]["value"] == resumed_metric.scores[0][1].value


def test_registry_builds_callbacks_by_name(tmp_path, toy_extractor):
    from kspec.metrics.callbacks import FID, KID, InceptionScore

    sample_fn = sampler(toy_generator())
    real = np.zeros((4, 6, 6, 1))
    assert isinstance(METRICS.get("fid")(sample_fn=sample_fn, real_data=real, extractor=toy_extractor), FID)
    assert isinstance(METRICS.get("kid")(sample_fn=sample_fn, real_data=real, extractor=toy_extractor), KID)
    assert isinstance(METRICS.get("inception_score")(sample_fn=sample_fn, extractor=toy_extractor), InceptionScore)


def test_sampler_returning_the_wrong_count_is_a_spec_error(toy_extractor):
    from kspec.metrics.callbacks import InceptionScore

    callback = InceptionScore(lambda n, seed: np.zeros((n - 1, 6, 6, 1)), toy_extractor, num_samples=10, splits=2)
    with pytest.raises(SpecError, match=r"is_toy: sample_fn\(10, seed\) must return 10 images. Received: shape=\(9, 6, 6, 1\)"):
        callback.on_epoch_end(0, {})


def test_invalid_every_is_refused(toy_extractor):
    from kspec.metrics.callbacks import InceptionScore

    with pytest.raises(ValueError, match="Invalid value for argument `every`: expected a positive integer. Received: every=0"):
        InceptionScore(lambda n, seed: None, toy_extractor, every=0)


def test_defaults_follow_the_papers_and_kid_scores_with_the_subsets_asked_for(tmp_path, toy_extractor):
    from kspec.metrics.callbacks import KID, InceptionScore
    from kspec.metrics.kid import kernel_inception_distance

    sample_fn = sampler(toy_generator())
    real = np.random.default_rng(0).uniform(size=(40, 6, 6, 1)).astype("float32")
    default_is, default_kid = InceptionScore(sample_fn, toy_extractor), KID(sample_fn, real, toy_extractor)
    assert (default_is.num_samples, default_is.splits, default_is.options()) == (1000, 10, {"splits": 10})
    assert (default_kid.num_samples, default_kid.subsets, default_kid.subset_size) == (1000, 100, 1000)
    kid = KID(sample_fn, real, toy_extractor, num_samples=30, subsets=3, subset_size=20, seed=2, cache_dir=tmp_path)
    images = sample_fn(30, 0)
    score = kid.score(images)
    expected = kernel_inception_distance(toy_extractor.features(real), toy_extractor.features(images), 3, 20, seed=2)
    assert (score.value, score.std) == (expected.value, expected.std)


def test_a_manifold_metric_keeps_its_data_id_and_cache(tmp_path, toy_extractor, monkeypatch):
    from kspec.metrics.callbacks import Precision
    from kspec.metrics.evaluation import CACHE_DIR_ENV

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "default-cache"))
    real = np.random.default_rng(0).uniform(size=(40, 6, 6, 1)).astype("float32")
    precision = Precision(sampler(toy_generator()), real, toy_extractor, num_samples=20, data_id="digits",
                          cache_dir=tmp_path / "cache")
    precision.on_train_begin()
    assert os.listdir(tmp_path / "cache") == [f"digits-toy-{toy_extractor.weights_sha256[:12]}-features.npz"]
    assert not (tmp_path / "default-cache").exists()
