import keras
import numpy as np
import pytest

from kspec.trainers.interpolation import interpolate, latent_line


def test_latent_line_includes_both_ends_evenly_spaced():
    line = latent_line([0.0, 1.0], [4.0, -3.0], steps=5)
    np.testing.assert_allclose(line, [[0, 1], [1, 0], [2, -1], [3, -2], [4, -3]])


def test_interpolate_decodes_each_point_of_the_line():
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    images = interpolate(decoder, [0.0, 0.0], [1.0, 1.0], steps=4)
    expected = keras.ops.convert_to_numpy(decoder(latent_line([0.0, 0.0], [1.0, 1.0], 4)))
    np.testing.assert_allclose(images, expected, rtol=1e-6)


def test_latent_line_refuses_mismatched_vectors():
    with pytest.raises(ValueError) as error:
        latent_line([0.0], [1.0, 2.0])
    assert str(error.value) == (
        "Invalid values for arguments `z0` and `z1`: expected two vectors of the same length. "
        "Received: z0.shape=(1,), z1.shape=(2,)"
    )


def test_the_line_has_eight_float32_points_by_default():
    line = latent_line([0.0], [1.0])  # Python floats are float64
    assert line.shape == (8, 1) and line.dtype == np.float32
    decoder = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
    assert interpolate(decoder, [0.0], [1.0]).shape == (8, 2)


@pytest.mark.parametrize("z0, z1", [(np.zeros(2, "float64"), np.ones(2, "float32")),
                                    (np.zeros(2, "float32"), np.ones(2, "float64"))])
def test_the_line_is_float32_whatever_the_ends_are(z0, z1):
    assert latent_line(z0, z1, steps=3).dtype == np.float32


def test_interpolate_decodes_in_inference_mode():
    decoder = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5), keras.layers.Dense(4)])
    images = interpolate(decoder, np.ones(4), np.full(4, 2.0), steps=16)
    expected = keras.ops.convert_to_numpy(decoder(latent_line(np.ones(4), np.full(4, 2.0), 16), training=False))
    np.testing.assert_allclose(images, expected, rtol=1e-6)  # dropout would zero about half of the inputs


def test_two_steps_are_the_two_ends():
    np.testing.assert_array_equal(latent_line([0.0], [1.0], steps=2), [[0.0], [1.0]])


@pytest.mark.parametrize("steps", [1, 0, 2.5, "3"])
def test_fewer_than_two_steps_or_a_fraction_are_refused(steps):
    with pytest.raises(ValueError) as error:
        latent_line([0.0], [1.0], steps=steps)
    assert str(error.value) == f"Invalid value for argument `steps`: expected an integer >= 2. Received: steps={steps!r}"
