"""ReflectionPadding2D: numpy's reflect padding, argument checks, save/reload, and use from a spec."""

import doctest

import numpy as np
import pytest
from support import assert_model_roundtrip

from kspec.layers import reflection_padding
from kspec.layers.reflection_padding import ReflectionPadding2D

IMAGES = np.arange(2 * 4 * 5 * 3, dtype="float32").reshape(2, 4, 5, 3)


@pytest.mark.parametrize("padding, widths", [
    (1, ((1, 1), (1, 1))),
    ((2, 0), ((2, 2), (0, 0))),
    (((0, 3), (1, 2)), ((0, 3), (1, 2))),
    ([[1, 0], [0, 4]], ((1, 0), (0, 4))),
])
def test_pads_like_numpy_reflect(padding, widths):
    out = np.asarray(ReflectionPadding2D(padding)(IMAGES))
    np.testing.assert_array_equal(out, np.pad(IMAGES, ((0, 0), *widths, (0, 0)), mode="reflect"))


def test_channels_first_pads_the_last_two_axes():
    images = np.moveaxis(IMAGES, -1, 1)
    out = np.asarray(ReflectionPadding2D(((1, 2), (3, 0)), data_format="channels_first")(images))
    np.testing.assert_array_equal(out, np.pad(images, ((0, 0), (0, 0), (1, 2), (3, 0)), mode="reflect"))


def test_output_shape_is_known_when_building_a_functional_model():
    import keras

    inputs = keras.Input((None, 8, 1))
    assert tuple(ReflectionPadding2D(3)(inputs).shape) == (None, None, 14, 1)


@pytest.mark.parametrize("padding", [-1, (1, 2, 3), "same", ((1, 1), 2), True])
def test_malformed_padding_is_refused(padding):
    with pytest.raises(ValueError) as error:
        ReflectionPadding2D(padding)
    assert str(error.value) == (
        "Invalid value for argument `padding`: expected a non-negative integer, a pair (height, width) or "
        f"((top, bottom), (left, right)). Received: padding={padding!r}"
    )


def test_padding_as_large_as_the_image_is_refused():
    with pytest.raises(ValueError) as error:
        ReflectionPadding2D((0, 5))(IMAGES)
    assert str(error.value) == (
        "Invalid value for argument `padding`: reflection padding must be smaller than the image along each axis. "
        "Received: padding=((0, 0), (5, 5)) for an input of shape (2, 4, 5, 3)"
    )


def test_model_with_the_layer_saves_and_reloads(tmp_path):
    import keras

    inputs = keras.Input((6, 6, 2))
    outputs = keras.layers.Conv2D(3, 3)(ReflectionPadding2D(1)(inputs))
    reloaded = assert_model_roundtrip(keras.Model(inputs, outputs, name="padded"), str(tmp_path))
    assert reloaded.layers[1].get_config()["padding"] == [[1, 1], [1, 1]]


def test_spec_names_the_layer_reflection_padding2d(tmp_path):
    from kspec import builder

    spec = tmp_path / "spec.yaml"
    spec.write_text("kspec: 1\nmodels:\n  net:\n    inputs: {image: [8, 8, 1]}\n    layers:\n"
                    "      - reflection_padding2d: {padding: 3}\n      - conv2d: {filters: 2, kernel_size: 7}\n")
    assert builder.validate(str(spec)) == []
    assert tuple(builder.build(str(spec))["net"].output.shape) == (None, 8, 8, 2)


def test_docstring_example_runs():
    assert doctest.testmod(reflection_padding).failed == 0


def test_the_default_pads_one_pixel_on_every_side():
    assert ReflectionPadding2D().padding == ((1, 1), (1, 1))


def test_an_unknown_data_format_is_refused_in_keras_words():
    with pytest.raises(ValueError) as error:
        ReflectionPadding2D(data_format="nhwc")
    assert str(error.value) == ("Invalid value for argument `data_format`: expected 'channels_last' or "
                                "'channels_first'. Received: data_format='nhwc'")


def test_inputs_that_are_not_images_are_refused_before_padding():
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        ReflectionPadding2D()(np.zeros((1, 4, 4), "float32"))
