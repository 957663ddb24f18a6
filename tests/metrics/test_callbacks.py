"""Metric callbacks in a short `fit`: values land in `logs`, where CSVLogger and ModelCheckpoint see them."""

import csv

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
    # Real statistics were computed once and cached on disk under data id + extractor name.
    assert sorted(p.name for p in tmp_path.glob("toy-real-*")) == ["toy-real-toy-features.npz", "toy-real-toy-statistics.npz"]
    score = fid.scores[0][1]
    assert (score.name, score.n, score.n_reference) == ("fd_toy", 24, 40)


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
