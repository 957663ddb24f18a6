"""Windowing a series and the naive last-value forecast."""

import numpy as np

from kspec.data.windows import make_windows, naive_forecast_mae


def test_windows_pair_past_steps_with_the_next_horizon_of_the_target_feature():
    values = np.stack([np.arange(7.0), 10 * np.arange(7.0)], axis=1)  # (7, 2)
    inputs, targets = make_windows(values, window=3, horizon=2, target_feature=1, stride=2)
    assert inputs.shape == (2, 3, 2) and targets.shape == (2, 2)
    np.testing.assert_array_equal(inputs[1, :, 0], [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(targets, [[30.0, 40.0], [50.0, 60.0]])


def test_too_short_series_gives_no_windows():
    inputs, targets = make_windows(np.zeros((4, 1)), window=3, horizon=2)
    assert inputs.shape == (0, 3, 1) and targets.shape == (0, 2)


def test_naive_mae_on_a_hand_example():
    # Windows end in 2 and 5; errors |3-2|, |4-2| and |5-5|, |2-5| -> (1 + 2 + 0 + 3) / 4 = 1.5.
    inputs = np.array([[[1.0], [2.0]], [[4.0], [5.0]]])
    targets = np.array([[3.0, 4.0], [5.0, 2.0]])
    assert naive_forecast_mae(inputs, targets) == 1.5


def test_naive_mae_reads_the_target_feature():
    inputs = np.array([[[0.0, 1.0], [0.0, 2.0]]])
    assert naive_forecast_mae(inputs, np.array([[2.0, 2.0]]), target_feature=1) == 0.0
    assert naive_forecast_mae(inputs, np.array([[2.0, 2.0]]), target_feature=0) == 2.0
