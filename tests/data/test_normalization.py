"""Normalization maps raw values to the documented ranges and back."""

import numpy as np
import pytest

from kspec.data.normalization import Normalization

RAW = np.array([[0.0, 4.0], [8.0, 16.0]])


@pytest.mark.parametrize("method, expected", [
    ("unit", [[0.0, 0.25], [0.5, 1.0]]),
    ("symmetric", [[-1.0, -0.5], [0.0, 1.0]]),
    ("none", RAW.tolist()),
])
def test_range_methods_use_the_value_range(method, expected):
    norm = Normalization.fit(method, RAW, value_range=(0, 16))
    np.testing.assert_allclose(norm.apply(RAW), expected)
    np.testing.assert_allclose(norm.invert(norm.apply(RAW)), RAW)


def test_unit_without_value_range_uses_training_min_and_max():
    norm = Normalization.fit("unit", np.array([2.0, 6.0]))
    np.testing.assert_allclose(norm.apply([2.0, 4.0, 6.0]), [0.0, 0.5, 1.0])


def test_standardize_is_per_channel_and_keeps_constant_channels_finite():
    values = np.stack([np.array([1.0, 3.0, 5.0]), np.array([7.0, 7.0, 7.0])], axis=-1)  # (3, 2)
    out = Normalization.fit("standardize", values).apply(values)
    np.testing.assert_allclose(out.mean(axis=0), [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out.std(axis=0), [1.0, 0.0], atol=1e-6)
    assert out.dtype == np.float32
