"""The reparameterized sampling layer draws z ~ N(mean, exp(log_var)): moments over many draws, seeds, config."""

import keras
import numpy as np
import pytest

from kspec.layers import Sampling

DRAWS = 200_000
# Per coordinate: (mean, log variance). Variances 4, 0.25 and 1: a standard deviation exp(log_var) instead of
# exp(log_var / 2) would give variances 16, 0.0625 and 1, and the mean must not be scaled by the noise.
MEAN = np.array([1.5, -2.0, 0.0], "float32")
LOG_VAR = np.log(np.array([4.0, 0.25, 1.0], "float32"))


@pytest.fixture(scope="module")
def draws():
    layer = Sampling(seed=7)
    z_mean = np.broadcast_to(MEAN, (DRAWS, 3))
    z_log_var = np.broadcast_to(LOG_VAR, (DRAWS, 3))
    return keras.ops.convert_to_numpy(layer([z_mean, z_log_var])).astype("float64")


def test_mean_of_z_is_the_given_mean(draws):
    # Standard error of a sample mean: sqrt(var / N) <= 2 / 447 = 0.0045; 5 standard errors.
    np.testing.assert_allclose(draws.mean(axis=0), MEAN, atol=5 * np.sqrt(np.exp(LOG_VAR) / DRAWS).max())


def test_variance_of_z_is_exp_of_log_var(draws):
    # The sample variance of N normal draws has relative standard error sqrt(2 / N) = 0.0032; 5 of them.
    np.testing.assert_allclose(draws.var(axis=0, ddof=1), np.exp(LOG_VAR), rtol=5 * np.sqrt(2 / DRAWS))


def test_coordinates_and_rows_draw_independent_noise(draws):
    standardized = (draws - MEAN) / np.exp(LOG_VAR / 2)
    correlation = np.corrcoef(standardized, rowvar=False)
    np.testing.assert_allclose(correlation, np.eye(3), atol=5 / np.sqrt(DRAWS))
    # Normal, not uniform or another unit-variance law: fourth moment 3.
    np.testing.assert_allclose((standardized**4).mean(axis=0), 3.0, rtol=0.05)


def test_same_seed_same_draws_and_successive_calls_differ():
    inputs = [np.zeros((4, 2), "float32"), np.zeros((4, 2), "float32")]
    first, second = Sampling(seed=3), Sampling(seed=3)
    a, b = keras.ops.convert_to_numpy(first(inputs)), keras.ops.convert_to_numpy(second(inputs))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, keras.ops.convert_to_numpy(first(inputs)))


def test_output_shape_and_config_roundtrip():
    layer = Sampling(seed=5, name="z")
    assert layer.compute_output_shape([(None, 8), (None, 8)]) == (None, 8)
    clone = Sampling.from_config(layer.get_config())
    assert clone.seed == 5 and clone.name == "z"


@pytest.mark.parametrize("seed", [1.5, "0", True])
def test_a_seed_that_is_not_an_integer_is_refused(seed):
    with pytest.raises(ValueError) as caught:
        Sampling(seed=seed)
    assert str(caught.value) == f"Invalid value for argument `seed`: expected an integer or None. Received: seed={seed!r}"
