"""`sine_series`: a seeded synthetic time series (sum of sines + linear trend + noise) for forecasting."""

from kspec.data.lazy_numpy import np

from kspec.data.examples import Series
from kspec.registry import DATA_SOURCES


def sine_series(length, *, periods=(50.0, 17.0), amplitudes=(1.0, 0.5), trend=0.0003, noise=0.1, seed=0):
    """`x[t] = sum_k a_k sin(2 pi t / p_k + phi_k) + trend * t + noise`, with random phases `phi_k`.

    Args:
        length: number of time steps.
        periods: period of each sine, in steps.
        amplitudes: amplitude of each sine (same length as `periods`).
        trend: slope added per step.
        noise: standard deviation of the Gaussian noise.
        seed: seed of the phases and the noise.

    Returns:
        float32 array `(length,)`.

    Example:
    >>> sine_series(5, periods=(4.0,), amplitudes=(1.0,), trend=0.0, noise=0.0).shape
    (5,)
    """
    rng = np.random.default_rng(seed)
    steps = np.arange(length, dtype="float64")
    phases = rng.uniform(0, 2 * np.pi, size=len(periods))
    values = trend * steps
    for period, amplitude, phase in zip(periods, amplitudes, phases):
        values = values + amplitude * np.sin(2 * np.pi * steps / period + phase)
    return (values + rng.normal(0.0, noise, length)).astype("float32")


@DATA_SOURCES.register("sine_series")
def sine_series_source(args):
    """Seeded sum of sines, trend and noise, cut into (window, horizon) forecasting pairs.

    Args (under `data.args`):
        length: time steps generated (default 2000).
        window: past steps per input (default 48).
        horizon: future steps per target (default 12).
        stride: steps between consecutive windows (default 1).
        periods: sine periods in steps (default [50, 17]).
        amplitudes: sine amplitudes, one per period (default [1.0, 0.5]).
        trend: slope per step (default 0.0003).
        noise: noise standard deviation (default 0.1).

    Inputs are `(window, 1)`, targets `(horizon,)`. The split is chronological (the last `validation_split` of
    the steps), and `DataInfo.baselines["naive_last_value_mae"]` holds the naive forecast's validation MAE.

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> series = sine_series_source(SourceArguments({"length": 100, "window": 10}, source="sine_series"))
    >>> series.values.shape, series.window, series.horizon
    ((100, 1), 10, 12)
    """
    length = args.integer("length", default=2000, minimum=2)
    window = args.integer("window", default=48, minimum=1)
    horizon = args.integer("horizon", default=12, minimum=1)
    stride = args.integer("stride", default=1, minimum=1)
    periods = args.numbers("periods", default=(50.0, 17.0), above=0)
    amplitudes = args.numbers("amplitudes", default=(1.0, 0.5))
    trend = args.number("trend", default=0.0003)
    noise = args.number("noise", default=0.1, minimum=0)
    if len(amplitudes) != len(periods):
        raise args.error("amplitudes", f"expected one amplitude per period ({len(periods)}). "
                                       f"Received: amplitudes={list(amplitudes)}")
    args.finish()
    values = sine_series(length, periods=periods, amplitudes=amplitudes, trend=trend, noise=noise, seed=args.seed)
    return Series(values[:, None], window=window, horizon=horizon, stride=stride, feature_names=("value",))
