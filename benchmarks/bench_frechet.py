"""Benchmark of the Fréchet distance at FID's dimension (d = 2048) and of the FID callback's per-call cost.

Compared in one run, after a warm-up call of each, in an order rotated every repetition, as medians of several
repetitions and as the median of the ratios of calls timed back to back (the machines are shared and noisy):

  ours     kspec.metrics.frechet.frechet_distance: eigenvalues of the symmetric F^T S2 F with S1 = F F^T
           (LAPACK potrf, sygst, dsyevd_2stage where scipy's bundled OpenBLAS has it)
  ours-1s  the same with scipy's one-stage dsyevd (the fallback where dsyevd_2stage is not found)
  sqrtm    Tr sqrtm(S1 S2) with scipy.linalg.sqrtm, the formulation pytorch-fid uses
  eigvals  sum of sqrt of the (complex) eigenvalues of the non-symmetric S1 S2, as torchmetrics does

The two references are written here from their formulas. Relative differences are |ours - ref| / |ref|,
and each method's error against a distance computed from an exact factor of S1 (see `gaussian_pair`).
Cases: two similar full-rank covariances (N = 4d samples, the usual FID regime, where the small distance
makes rounding errors count most); a rank-deficient S1 (N = d / 2) with a full-rank S2, where S2's Cholesky
factor is used; and both rank-deficient, where S1's pivoted Cholesky factor is used. For the full-rank case the
time of ours is split into its steps, to show what bounds it. The load average is printed with each case.

Then the FID callback: one `on_epoch_end` with a toy extractor whose feature layer has d units, split into
sampling + forward pass (the network's cost) and the rest (statistics and distance: the metric machinery).

First, the eigensolvers alone across d (one-stage dsyevd vs two-stage dsyevd_2stage): the figures that set the
dimension from which frechet.py uses the two-stage solver.

Run: python benchmarks/bench_frechet.py [--dim 2048] [--repeats 5] [--no-callback] [--only-eigensolvers]
(OPENBLAS_NUM_THREADS=1 in front compares the methods on one core, less disturbed by other processes.)
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
import scipy.linalg

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fd_sqrtm(mu1, sigma1, mu2, sigma2):
    root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root).real)


def fd_eigvals(mu1, sigma1, mu2, sigma2):
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2).astype(complex)
    trace_sqrt = np.sqrt(eigenvalues).real.sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def gaussian_pair(dim, samples, other_samples, seed):
    """Moments of two feature sets whose generating maps differ by 10% (a realistic, small FID), and the
    distance computed through the exact factor S1 = Xc^T Xc / (N - 1) of the first set's centred features,
    an N x N eigenproblem free of the rounding noise in S1's null space; only when N <= d (for N > d the
    N x N matrix has a null space of its own), else None."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    perturbed = mixing + 0.1 * rng.normal(size=(dim, dim)) / np.sqrt(dim)
    x = rng.normal(size=(samples, dim)) @ mixing
    y = rng.normal(size=(other_samples, dim)) @ perturbed + 0.05
    mu1, sigma1, mu2, sigma2 = x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    if samples > dim:
        return (mu1, sigma1, mu2, sigma2), None
    centred = (x - mu1) / np.sqrt(samples - 1)
    small = centred @ sigma2 @ centred.T
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((small + small.T) / 2), 0, None)).sum()
    exact = float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)
    return (mu1, sigma1, mu2, sigma2), exact


def timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


def fd_one_stage(mu1, sigma1, mu2, sigma2):
    from kspec.metrics import frechet

    two_stage = frechet._two_stage_eigensolver
    frechet._two_stage_eigensolver = lambda: None
    try:
        return frechet.frechet_distance(mu1, sigma1, mu2, sigma2)
    finally:
        frechet._two_stage_eigensolver = two_stage


def load():
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def bench_distance(label, case, repeats):
    from kspec.metrics.frechet import frechet_distance

    moments, exact = case
    methods = {"ours": frechet_distance, "ours-1s": fd_one_stage, "sqrtm": fd_sqrtm, "eigvals": fd_eigvals}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqrtm's complaints about singular input
        values = {name: method(*moments) for name, method in methods.items()}
        times = paired(methods, lambda: moments, repeats)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{label}   [{load()}]")
    if exact is not None:
        print(f"  exact-factor value {exact:.12f}")
    print(f"  {'method':8s} {'median s':>9s} {'ours faster by':>15s} {'value':>20s} {'|ours-it|/|it|':>15s} {'|it-exact|/exact':>17s}")
    for name in methods:
        ratio = median_ratio(times, name, "ours")
        difference = abs(values["ours"] - values[name]) / abs(values[name])
        error = f"{abs(values[name] - exact) / abs(exact):17.2e}" if exact is not None else f"{'-':>17s}"
        print(f"  {name:8s} {medians[name]:9.3f} {ratio:14.1f}x {values[name]:20.10f} {difference:15.2e} {error}")
    return medians, values


def bench_steps(moments, repeats):
    """Median time of each step of ours on full-rank input, the share of the whole in brackets."""
    from scipy.linalg import lapack

    from kspec.metrics import frechet

    mu1, sigma1, mu2, sigma2 = moments
    factor, _ = lapack.dpotrf(sigma1.T, lower=1, clean=0)
    middle, _ = lapack.dsygst(sigma2.T, factor, itype=2, lower=1)
    steps = {
        "argument checks": lambda: (frechet._covariance(sigma1, "sigma1", len(mu1)), frechet._covariance(sigma2, "sigma2", len(mu2))),
        "Cholesky (potrf)": lambda: lapack.dpotrf(sigma1.T, lower=1, clean=0),
        "L^T S2 L (sygst)": lambda: lapack.dsygst(sigma2.T, factor, itype=2, lower=1),
        "eigenvalues (used)": lambda: frechet._symmetric_eigenvalues(middle.copy(order="F")),
        "whole distance": lambda: frechet.frechet_distance(*moments),
    }
    times = paired(steps, tuple, repeats)
    medians = {name: statistics.median(t) for name, t in times.items()}
    solver = "dsyevd_2stage" if frechet._two_stage_eigensolver() is not None else "dsyevd"
    print(f"  steps of ours ({solver}), medians:")
    for name, seconds in medians.items():
        print(f"    {name:20s} {seconds:7.3f} s  ({100 * seconds / medians['whole distance']:3.0f}%)")


def paired(methods, arguments, repeats, clock=time.perf_counter):
    """Times each of `methods` (name -> function of `arguments()`'s result) `repeats` times after one warm-up
    call each, in an order that rotates every repetition so no method always runs first (caches, turbo,
    other processes' bursts). `arguments()` makes fresh inputs for each call, untimed. `clock` is wall time
    by default; `time.process_time` counts only this process's CPU seconds, steadier on a loaded machine when
    BLAS runs one thread. Returns the per-repetition times, name -> list."""
    names = list(methods)
    for name in names:
        methods[name](*arguments())
    times = {name: [] for name in names}
    for repetition in range(repeats):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            inputs = arguments()
            start = clock()
            methods[name](*inputs)
            times[name].append(clock() - start)
    return times


def median_ratio(times, numerator, denominator):
    """Median over repetitions of times[numerator] / times[denominator], timed back to back."""
    return statistics.median(a / b for a, b in zip(times[numerator], times[denominator]))


def bench_eigensolvers(dims, repeats, clock=time.perf_counter):
    """One-stage dsyevd against two-stage dsyevd_2stage on the matrix our distance hands them, across d.

    The ratio one-stage time / two-stage time (> 1: the two-stage solver is faster) decides the switch
    `_TWO_STAGE_MIN_DIM` in kspec/metrics/frechet.py."""
    from kspec.metrics import frechet

    two_stage = frechet._two_stage_eigensolver()
    print(f"\neigenvalues of a d x d symmetric matrix, one-stage dsyevd vs two-stage dsyevd_2stage, "
          f"{repeats} repetitions, alternating   [{load()}]")
    if two_stage is None:
        print("  dsyevd_2stage not found in scipy's LAPACK: only dsyevd runs here")
        return
    print(f"  {'d':>5s} {'one-stage s':>12s} {'two-stage s':>12s} {'median of paired one/two':>25s}  "
          f"(switch now: two-stage from d = {frechet._TWO_STAGE_MIN_DIM}; "
          f"{'CPU' if clock is time.process_time else 'wall'} time)")
    for dim in dims:
        rng = np.random.default_rng(dim)
        factor = rng.normal(size=(dim, dim)) / np.sqrt(dim)
        matrix = np.asfortranarray(factor @ factor.T + np.eye(dim))
        methods = {"one": frechet._eigenvalues_one_stage,
                   "two": lambda m: frechet._eigenvalues_two_stage(m, two_stage)}
        times = paired(methods, lambda: (matrix.copy(order="F"),), repeats, clock)
        print(f"  {dim:5d} {statistics.median(times['one']):12.4f} {statistics.median(times['two']):12.4f} "
              f"{median_ratio(times, 'one', 'two'):24.2f}x   [{load()}]")


def bench_callback(dim, num_samples, repeats):
    import keras

    from kspec.metrics.callbacks import FID
    from kspec.metrics.evaluation import feature_statistics
    from kspec.metrics.extractors import KerasExtractor

    inputs = keras.Input((8, 8, 1))
    features = keras.layers.Dense(dim, activation="tanh", name="features")(keras.layers.Flatten()(inputs))
    network = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(features))
    extractor = KerasExtractor(network, "features", name="bench", batch_size=500)
    rng = np.random.default_rng(0)
    real = rng.uniform(size=(num_samples, 8, 8, 1)).astype("float32")

    def sample_fn(n, seed):
        return np.random.default_rng(seed).uniform(size=(n, 8, 8, 1)).astype("float32")

    callback = FID(sample_fn, real, extractor, num_samples=num_samples, data_id=None, cache_dir=None)
    callback.reference = feature_statistics(real, extractor)
    totals, forwards = [], []
    for _ in range(repeats):
        seconds, _ = timed(callback.on_epoch_end, 0, {})
        totals.append(seconds)
        seconds, _ = timed(lambda: extractor.features(sample_fn(num_samples, 0)))
        forwards.append(seconds)
    total, forward = statistics.median(totals), statistics.median(forwards)
    print(f"\nFID callback, one evaluation: {num_samples} samples, toy extractor with d = {dim} features")
    print(f"  on_epoch_end total           {total:8.3f} s")
    print(f"  sampling + forward pass      {forward:8.3f} s")
    print(f"  statistics + distance (rest) {total - forward:8.3f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--callback-samples", type=int, default=5000)
    parser.add_argument("--no-callback", action="store_true", help="skip the FID callback timing (imports TensorFlow)")
    parser.add_argument("--eigen-dims", default="256,512,768,1024,1536,2048",
                        help="dimensions of the one-stage vs two-stage eigensolver comparison")
    parser.add_argument("--only-eigensolvers", action="store_true", help="run only that comparison")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time the eigensolvers by this process's CPU time (with OPENBLAS_NUM_THREADS=1)")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(REPO))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"d = {args.dim}, {args.repeats} repetitions, medians; numpy {np.__version__}, scipy {scipy.__version__}, "
          f"OPENBLAS_NUM_THREADS={threads}, {load()}")
    bench_eigensolvers([int(d) for d in args.eigen_dims.split(",")], args.repeats,
                       time.process_time if args.cpu_time else time.perf_counter)
    if args.only_eigensolvers:
        return
    d = args.dim
    cases = [
        (f"similar full-rank covariances (N = {4 * d} and {4 * d}): Cholesky of S1", (4 * d, 4 * d)),
        (f"rank-deficient S1 (N = {d // 2}), full-rank S2 (N = {2 * d}): Cholesky of S2", (d // 2, 2 * d)),
        (f"both rank-deficient (N = {d // 2} and {d // 2}): pivoted Cholesky of S1", (d // 2, d // 2)),
    ]
    for seed, (label, (samples, other_samples)) in enumerate(cases):
        case = gaussian_pair(d, samples, other_samples, seed)
        bench_distance(label, case, args.repeats)
        if seed == 0:
            bench_steps(case[0], args.repeats)
    if not args.no_callback:
        bench_callback(args.dim, args.callback_samples, max(3, args.repeats // 2))


if __name__ == "__main__":
    main()
