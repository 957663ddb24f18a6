"""Cutting a time series into (past window, future horizon) pairs, and the naive forecast they must beat."""

from kspec.data.lazy_numpy import np


def make_windows(values, window, horizon, *, target_feature=0, stride=1):
    """Pairs of `window` past steps (all features) and the next `horizon` steps of one feature.

    Args:
        values: array `(time, features)`.
        window: past steps per input.
        horizon: future steps per target.
        target_feature: index of the feature to predict.
        stride: steps between the starts of consecutive windows.

    Returns:
        `(inputs, targets)`: float32 arrays `(n, window, features)` and `(n, horizon)`, where
        `n = (time - window - horizon) // stride + 1` (0 when the series is too short).

    Example:
    >>> inputs, targets = make_windows(np.arange(6.0)[:, None], window=3, horizon=2)
    >>> inputs[:, :, 0].tolist(), targets.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[3.0, 4.0], [4.0, 5.0]])
    """
    values = np.asarray(values, dtype="float32")
    count = max(0, (len(values) - window - horizon) // stride + 1)
    starts = np.arange(count) * stride
    past = starts[:, None] + np.arange(window)[None, :]
    future = starts[:, None] + window + np.arange(horizon)[None, :]
    inputs = values[past] if count else np.zeros((0, window, values.shape[1]), "float32")
    targets = values[future, target_feature] if count else np.zeros((0, horizon), "float32")
    return inputs, targets


def naive_forecast_mae(inputs, targets, *, target_feature=0):
    """Mean absolute error of the naive forecast: every future step equals the window's last value.

    This persistence forecast is the usual reference a learned forecaster has to beat (Hyndman & Athanasopoulos,
    "Forecasting: Principles and Practice", 3rd ed., section 5.2, "naive method").

    Args:
        inputs: `(n, window, features)` windows.
        targets: `(n, horizon)` true future values.
        target_feature: which feature of `inputs` the targets continue.

    Returns:
        The mean over all windows and horizon steps of `|last value - target|`, a Python float.

    Example:
    >>> naive_forecast_mae(np.array([[[1.0], [2.0]]]), np.array([[3.0, 5.0]]))
    2.0
    """
    last = np.asarray(inputs)[:, -1, target_feature]
    return float(np.mean(np.abs(np.asarray(targets) - last[:, None])))
