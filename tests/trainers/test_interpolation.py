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
