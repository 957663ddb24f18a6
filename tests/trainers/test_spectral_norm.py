import keras
import numpy as np
import pytest

from kspec.trainers.spectral_norm import with_spectral_normalization


def conv_discriminator(seed=0):
    keras.utils.set_random_seed(seed)
    images = keras.Input((8, 8, 1))
    hidden = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="conv")(images)
    hidden = keras.layers.LeakyReLU(0.2)(hidden)
    hidden = keras.layers.Flatten()(hidden)
    return keras.Model(images, keras.layers.Dense(1, name="logit")(hidden), name="discriminator")


def largest_singular_value(kernel):
    kernel = keras.ops.convert_to_numpy(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def test_wraps_dense_and_convolutions_and_shares_their_weights():
    model = conv_discriminator()
    normalized, count = with_spectral_normalization(model)
    assert count == 2
    assert [type(layer).__name__ for layer in normalized.layers] == [
        "InputLayer", "SpectralNormalization", "LeakyReLU", "Flatten", "SpectralNormalization"]
    assert normalized.get_layer("conv").layer is model.get_layer("conv")  # the same layer, not a copy
    x = np.random.default_rng(0).normal(size=(3, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(normalized(x), model(x), rtol=1e-6)  # inference: unchanged until trained


def test_power_iterations_bring_the_largest_singular_value_to_one():
    model = conv_discriminator()
    for layer in ("conv", "logit"):  # far from 1 at the start, so the test can fail
        kernel = model.get_layer(layer).kernel
        kernel.assign(kernel * 5.0)
        assert largest_singular_value(kernel) > 1.5
    normalized, _ = with_spectral_normalization(model)
    x = np.random.default_rng(0).normal(size=(3, 8, 8, 1)).astype("float32")
    for _ in range(30):
        normalized(x, training=True)
    for layer in ("conv", "logit"):
        np.testing.assert_allclose(largest_singular_value(model.get_layer(layer).kernel), 1.0, atol=1e-2)
    # The original model reads the normalized kernels too: it computes what the trained wrapper computes.
    np.testing.assert_allclose(model(x), normalized(x), rtol=1e-6)


def test_already_wrapped_layers_are_counted_and_kept():
    images = keras.Input((4,))
    wrapped = keras.layers.SpectralNormalization(keras.layers.Dense(3), name="wrapped")
    model = keras.Model(images, keras.layers.Dense(1, name="logit")(wrapped(images)))
    normalized, count = with_spectral_normalization(model)
    assert count == 2
    assert normalized.get_layer("wrapped") is wrapped
    assert isinstance(normalized.get_layer("logit"), keras.layers.SpectralNormalization)


def test_nested_models_are_normalized_too():
    inner_input = keras.Input((4,))
    inner = keras.Model(inner_input, keras.layers.Dense(3, name="inner_dense")(inner_input), name="inner")
    images = keras.Input((4,))
    model = keras.Model(images, keras.layers.Dense(1, name="logit")(inner(images)))
    normalized, count = with_spectral_normalization(model)
    assert count == 2
    assert isinstance(normalized.get_layer("inner").get_layer("inner_dense"), keras.layers.SpectralNormalization)


def test_a_model_without_kernels_counts_zero():
    images = keras.Input((4,))
    model = keras.Model(images, keras.layers.LayerNormalization()(images))
    assert with_spectral_normalization(model)[1] == 0


def test_every_layer_already_wrapped_counts_once():
    images = keras.Input((4,))
    first = keras.layers.SpectralNormalization(keras.layers.Dense(3), name="first")
    second = keras.layers.SpectralNormalization(keras.layers.Dense(3), name="second")
    model = keras.Model(images, keras.layers.Dense(1, name="logit")(second(first(images))))
    assert with_spectral_normalization(model)[1] == 3


@pytest.mark.parametrize("power_iterations", [None, 3])
def test_the_wrappers_run_the_power_iterations_asked_for(power_iterations):
    images = keras.Input((4,))
    model = keras.Model(images, keras.layers.Dense(1, name="logit")(images))
    if power_iterations is None:
        normalized, _ = with_spectral_normalization(model)
    else:
        normalized, _ = with_spectral_normalization(model, power_iterations=power_iterations)
    assert normalized.get_layer("logit").power_iterations == (power_iterations or 1)  # 1 by default, as the paper
