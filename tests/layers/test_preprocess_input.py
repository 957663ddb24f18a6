"""PreprocessInput: a backbone family's per-channel affine preprocessing as a layer saved with the model."""

import keras
import numpy as np
import pytest

from kspec.layers.preprocess_input import PreprocessInput

CAFFE = {"order": [2, 1, 0], "scale": [1.0, 1.0, 1.0], "offset": [-103.939, -116.779, -123.68]}  # RGB->BGR, mean


def test_each_output_channel_is_its_input_channel_scaled_and_shifted():
    pixels = np.random.default_rng(0).uniform(0, 255, size=(2, 3, 3, 3)).astype("float32")
    layer = PreprocessInput(order=[2, 0, 1], scale=[0.5, 2.0, -1.0], offset=[1.0, -3.0, 0.25])
    out = keras.ops.convert_to_numpy(layer(pixels))
    expected = np.stack([0.5 * pixels[..., 2] + 1.0, 2.0 * pixels[..., 0] - 3.0, -pixels[..., 1] + 0.25], axis=-1)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert layer.compute_output_shape((None, 3, 3, 3)) == (None, 3, 3, 3)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "mixed_bfloat16"])
def test_the_output_is_in_the_layers_compute_dtype(dtype):
    layer = PreprocessInput(**CAFFE, dtype=dtype)
    out = layer(np.full((1, 2, 2, 3), 200, "uint8"))  # integer pixels are cast first
    assert keras.backend.standardize_dtype(out.dtype) == layer.compute_dtype
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))[0, 0, 0],
                               [200 - 103.939, 200 - 116.779, 200 - 123.68], rtol=1e-2)


def test_the_config_round_trips_with_plain_numbers():
    layer = PreprocessInput(order=np.array([2, 1, 0]), scale=[1, 1, 1], offset=(-1, -2, -3), name="prep")
    config = layer.get_config()
    assert (config["order"], config["scale"], config["offset"], config["name"]) == (
        [2, 1, 0], [1.0, 1.0, 1.0], [-1.0, -2.0, -3.0], "prep")
    assert all(type(v) is int for v in config["order"]) and all(type(v) is float for v in config["scale"])
    assert PreprocessInput.from_config(config).get_config() == config


@pytest.mark.parametrize("arguments, message", [
    ({"order": [0, 0, 1], "scale": [1] * 3, "offset": [0] * 3},
     "Invalid value for argument `order`: expected a permutation of the channel indices. Received: order=[0, 0, 1]"),
    ({"order": [0, 1, 2], "scale": [1] * 2, "offset": [0] * 3},
     "Arguments `order`, `scale` and `offset` must have one entry per channel. Received: 3, 2 and 3 entries"),
    ({"order": [0, 1], "scale": [1] * 2, "offset": [0] * 3},
     "Arguments `order`, `scale` and `offset` must have one entry per channel. Received: 2, 2 and 3 entries"),
])
def test_bad_arguments_are_refused_in_one_line(arguments, message):
    with pytest.raises(ValueError) as error:
        PreprocessInput(**arguments)
    assert str(error.value) == message
