"""`sine_series`: a seeded series, split chronologically, windowed, with the naive baseline on validation."""

import numpy as np

from kspec.data import NAIVE_MAE, load_arrays, naive_forecast_mae
from kspec.data.sine_series import sine_series


def test_series_is_seeded():
    np.testing.assert_array_equal(sine_series(50, seed=1), sine_series(50, seed=1))
    assert not np.array_equal(sine_series(50, seed=1), sine_series(50, seed=2))


def test_noise_free_series_is_the_formula():
    values = sine_series(8, periods=(4.0,), amplitudes=(2.0,), trend=0.5, noise=0.0, seed=0)
    phase = np.random.default_rng(0).uniform(0, 2 * np.pi, size=1)[0]
    steps = np.arange(8)
    np.testing.assert_allclose(values, 2 * np.sin(2 * np.pi * steps / 4 + phase) + 0.5 * steps, rtol=1e-5, atol=1e-6)


def test_windows_split_chronologically_with_the_naive_baseline():
    config = {"source": "sine_series", "args": {"length": 200, "window": 10, "horizon": 5},
              "validation_split": 0.25}
    arrays = load_arrays(config)
    info = arrays.info
    # 150 training steps give 150 - 15 + 1 windows; validation windows look back 10 steps into training.
    assert (info.num_train, info.num_validation) == (136, 46)
    assert (info.input_shape, info.target_shape, info.task) == ((10, 1), (5,), "forecasting")
    raw = sine_series(200, seed=0)
    np.testing.assert_allclose(arrays.validation.targets[-1], raw[-5:], rtol=1e-6)
    np.testing.assert_allclose(arrays.train.targets[-1], raw[145:150], rtol=1e-6)
    assert info.baselines[NAIVE_MAE] == naive_forecast_mae(arrays.validation.inputs, arrays.validation.targets)
    assert 0.1 < info.baselines[NAIVE_MAE] < 2.0


def test_standardized_series_scales_targets_like_inputs():
    config = {"source": "sine_series", "args": {"length": 300, "window": 12, "horizon": 3}, "normalize": "standardize"}
    arrays = load_arrays(config)
    norm = arrays.info.normalization
    assert abs(norm.apply(sine_series(300, seed=0)[:240, None]).mean()) < 1e-5
    np.testing.assert_allclose(arrays.train.inputs[3, -3:, 0], arrays.train.targets[0], rtol=1e-5)
