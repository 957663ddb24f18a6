"""Feature extractors: batching, input layout, labels, and the Inception weights contract (never a download)."""

import numpy as np
import pytest
from support import ArrayLike

from kspec.errors import SpecError
from kspec.metrics.extractors import INCEPTION_WEIGHTS_ENV, InceptionExtractor, KerasExtractor, score_name


def test_scores_of_other_networks_carry_the_extractor_name():
    assert [score_name(m, "digits") for m in ("fid", "inception_score", "kid")] == ["fd_digits", "is_digits", "kid_digits"]
    assert [score_name(m, "inception") for m in ("fid", "inception_score", "kid")] == ["fid", "inception_score", "kid"]


def test_batches_keep_the_partial_last_batch_and_match_one_call(toy_classifier, toy_extractor):
    import keras

    images = np.random.default_rng(0).uniform(size=(37, 6, 6, 1)).astype("float32")  # 16 + 16 + 5
    features, probs = toy_extractor.extract(images)
    assert features.shape == (37, 5) and probs.shape == (37, 4)
    assert features.dtype == np.float64
    embedding = keras.Model(toy_classifier.inputs[0], toy_classifier.get_layer("embedding").output)
    np.testing.assert_allclose(features, np.asarray(embedding(images, training=False)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, np.asarray(toy_classifier(images, training=False)), rtol=1e-5, atol=1e-6)


def test_iterable_of_labelled_batches_gives_the_same_features(toy_classifier, toy_extractor):
    images = np.random.default_rng(1).uniform(size=(40, 6, 6, 1)).astype("float32")
    batches = [(images[:30], np.zeros(30)), (images[30:], np.zeros(10))]  # 30 > batch_size: split further
    streamed = np.concatenate([features for features, _ in toy_extractor.iterate(batches)])
    whole = toy_extractor.features(images)
    # Batches of other sizes run other float32 matrix-product blockings, which sum each feature's 36 pixel
    # terms in another order: equal only up to rounding, and a relative tolerance fails where a feature is
    # near 0. An n-term float32 dot product is within n u sum|w_i x_i| of the exact one (Higham, Accuracy
    # and Stability of Numerical Algorithms, eq. 3.5; u = 2^-24), so the two results are within twice that
    # (tanh' <= 1 does not amplify it); a row mix-up or a lost batch differs by far more.
    kernel, bias = toy_classifier.get_layer("embedding").get_weights()
    flat = np.abs(images.reshape(len(images), -1).astype("float64"))
    bound = 2 * (flat.shape[1] + 1) * 2.0**-24 * (flat @ np.abs(kernel) + np.abs(bias))
    assert streamed.shape == whole.shape == (40, 5)
    assert np.all(np.abs(streamed - whole) <= bound), np.max(np.abs(streamed - whole) / bound)


def test_grayscale_without_channel_axis_is_accepted(toy_extractor):
    images = np.random.default_rng(2).uniform(size=(3, 6, 6))
    np.testing.assert_allclose(toy_extractor.features(images), toy_extractor.features(images[..., None]), rtol=1e-6)


def test_wrong_image_shape_is_refused(toy_extractor):
    with pytest.raises(SpecError, match=r"extractor `toy` expects images of shape \(N, 6, 6, 1\). Received: shape=\(2, 5, 5, 1\)"):
        toy_extractor.features(np.zeros((2, 5, 5, 1)))


def test_unknown_feature_layer_lists_the_layers(toy_classifier):
    with pytest.raises(SpecError, match=r"model `toy_classifier` has no layer `pool`.*`embedding`, `probs`"):
        KerasExtractor(toy_classifier, "pool", name="toy")


def test_extractor_loads_a_keras_file(tmp_path, toy_classifier):
    path = tmp_path / "classifier.keras"
    toy_classifier.save(path)
    images = np.random.default_rng(3).uniform(size=(4, 6, 6, 1))
    reloaded = KerasExtractor(str(path), "embedding", name="toy")
    np.testing.assert_allclose(
        reloaded.features(images), KerasExtractor(toy_classifier, "embedding", name="toy").features(images), rtol=1e-6
    )


def test_inception_without_weights_is_a_clear_error_and_no_download(monkeypatch, tmp_path):
    monkeypatch.delenv(INCEPTION_WEIGHTS_ENV, raising=False)
    # Any attempt to fetch would go through keras' get_file; make it fail loudly.
    import keras

    def no_download(*args, **kwargs):
        raise AssertionError("kspec tried to download weights")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    with pytest.raises(SpecError) as error:
        InceptionExtractor(value_range=(0, 1))
    message = str(error.value)
    assert "kspec never downloads them" in message
    assert f"pass `weights=PATH` or set {INCEPTION_WEIGHTS_ENV}=PATH" in message
    assert "KerasExtractor" in message

    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, str(tmp_path / "missing.h5"))
    with pytest.raises(SpecError, match=r"Received: weights='.*missing.h5' \(no such file\)"):
        InceptionExtractor(value_range=(0, 1))


def test_inception_refuses_an_unstated_value_range():
    with pytest.raises(SpecError, match=r"`value_range` must be one of \(0, 1\), \(-1, 1\) or \(0, 255\).*value_range='auto'"):
        InceptionExtractor(value_range="auto")


def test_inception_weights_that_do_not_fit_are_a_spec_error(tmp_path):
    path = tmp_path / "other.weights.h5"
    path.write_bytes(b"not an hdf5 file")
    with pytest.raises(SpecError, match="cannot load InceptionV3 weights from this file"):
        InceptionExtractor(value_range=(0, 1), weights=str(path))


@pytest.mark.slow
def test_inception_architecture_with_random_weights_from_a_local_file(tmp_path):
    # InceptionV3 with random weights, saved and read back through the same path real weights take.
    import keras

    path = str(tmp_path / "random_inception.weights.h5")
    keras.applications.InceptionV3(weights=None).save_weights(path)
    extractor = InceptionExtractor(value_range=(0, 255), weights=path, batch_size=2)
    gray = np.random.default_rng(4).uniform(0, 255, size=(2, 32, 32, 1))
    features, probs = extractor.extract(gray)
    assert features.shape == (2, 2048) and probs.shape == (2, 1000)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # The stated range is mapped to [-1, 1]: the same images in (0, 1) give the same features.
    extractor.value_range = (0.0, 1.0)
    np.testing.assert_allclose(extractor.features(gray / 255), features, rtol=1e-4, atol=1e-5)
    with pytest.raises(SpecError, match=r"told value_range=\(0.0, 1.0\), but the images range over \[0"):
        extractor.features(gray)


def test_inception_preparation_maps_the_stated_range_to_plus_minus_one_repeats_gray_and_resizes_bilinearly():
    # `prepare` reads only `value_range`: checked on a stand-in, without building InceptionV3 (the slow test does).
    import types

    import keras

    stand_in = types.SimpleNamespace(value_range=(0.0, 255.0))
    gray = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8)).astype("float32")
    prepared = np.asarray(InceptionExtractor.prepare(stand_in, gray))
    scaled = gray[..., None] / 127.5 - 1.0
    expected = keras.ops.image.resize(np.repeat(scaled, 3, axis=-1), (299, 299), interpolation="bilinear",
                                      antialias=False)
    assert prepared.shape == (2, 299, 299, 3)
    np.testing.assert_allclose(prepared, expected, atol=1e-6)
    large = np.random.default_rng(1).uniform(0, 255, size=(1, 340, 340, 3)).astype("float32")
    shrunk = np.asarray(InceptionExtractor.prepare(stand_in, large))  # downsampling: no antialiasing filter
    np.testing.assert_allclose(shrunk, keras.ops.image.resize(large / 127.5 - 1.0, (299, 299), interpolation="bilinear",
                                                              antialias=False), atol=1e-6)
    assert not np.allclose(shrunk, keras.ops.image.resize(large / 127.5 - 1.0, (299, 299), interpolation="bilinear",
                                                          antialias=True), atol=1e-3)
    full = np.zeros((1, 299, 299, 3), "float32")
    full[0, 0, 0, 0] = 255.0
    same_size = np.asarray(InceptionExtractor.prepare(stand_in, full))  # already 299 x 299: only rescaled
    assert same_size[0, 0, 0].tolist() == [1.0, -1.0, -1.0] and same_size.min() == -1.0


def test_one_gray_channel_is_repeated_for_a_network_expecting_three(toy_classifier):
    import keras

    rgb = keras.Input((6, 6, 3))
    features = keras.layers.Dense(2, name="embedding")(keras.layers.Flatten()(rgb))
    network = keras.Model(rgb, keras.layers.Dense(2, activation="softmax")(features))
    extractor = KerasExtractor(network, "embedding", name="rgb")
    gray = np.random.default_rng(0).uniform(size=(3, 6, 6, 1)).astype("float32")
    np.testing.assert_array_equal(extractor.prepare(gray), np.repeat(gray, 3, axis=-1))
    one_channel = KerasExtractor(toy_classifier, "embedding", name="toy")
    assert one_channel.prepare(gray).shape == (3, 6, 6, 1)  # a gray network keeps its one channel


@pytest.mark.parametrize("name", ["", "two words", 7])
def test_an_extractor_name_must_be_a_plain_word(toy_classifier, name):
    with pytest.raises(ValueError, match="Invalid value for argument `name`: expected letters, digits"):
        KerasExtractor(toy_classifier, "embedding", name=name)


def test_an_array_like_is_batched_like_an_array(toy_extractor):
    images = np.random.default_rng(0).uniform(size=(20, 6, 6, 1)).astype("float32")
    np.testing.assert_array_equal(toy_extractor.features(ArrayLike(images)), toy_extractor.features(images))
