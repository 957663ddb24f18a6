"""Generative-model metrics: FID, Inception Score, KID, precision, recall, density and coverage, as functions on
numpy arrays and as Keras callbacks.

- `kspec.metrics.frechet.frechet_distance(mu1, sigma1, mu2, sigma2)`
- `kspec.metrics.statistics.FeatureStatistics` (streaming mean/covariance, `.npz` save/load)
- `kspec.metrics.inception_score.inception_score(probs, splits=10, seed=0)`
- `kspec.metrics.kid.kernel_inception_distance(real_features, generated_features, ...)`
- `kspec.metrics.precision_recall.precision_recall_density_coverage(real_features, generated_features, k=3)`
- `kspec.metrics.extractors.KerasExtractor`, `InceptionExtractor`
- `kspec.metrics.callbacks.FID`, `InceptionScore`, `KID`, `Precision`, `Recall`, `Density`, `Coverage`, `ScoreFile`
- `kspec.metrics.evaluation.evaluate(...)`, `reference_statistics(...)`
- `kspec.metrics.protocol.Protocol`, `compare_score_files(...)`: what each score was measured with

Importing this package registers the callbacks in `kspec.registry.METRICS` as "fid", "inception_score", "kid",
"precision", "recall", "density" and "coverage" without importing Keras: each entry imports
`kspec.metrics.callbacks` only when called.
"""

from kspec.registry import METRICS


@METRICS.register("fid")
def make_fid_callback(**config):
    """Builds a `kspec.metrics.callbacks.FID` callback from keyword arguments."""
    from kspec.metrics.callbacks import FID

    return FID(**config)


@METRICS.register("inception_score")
def make_inception_score_callback(**config):
    """Builds a `kspec.metrics.callbacks.InceptionScore` callback from keyword arguments."""
    from kspec.metrics.callbacks import InceptionScore

    return InceptionScore(**config)


@METRICS.register("kid")
def make_kid_callback(**config):
    """Builds a `kspec.metrics.callbacks.KID` callback from keyword arguments."""
    from kspec.metrics.callbacks import KID

    return KID(**config)



@METRICS.register("precision")
def make_precision_callback(**config):
    """Builds a `kspec.metrics.callbacks.Precision` callback from keyword arguments."""
    from kspec.metrics.callbacks import Precision

    return Precision(**config)


@METRICS.register("recall")
def make_recall_callback(**config):
    """Builds a `kspec.metrics.callbacks.Recall` callback from keyword arguments."""
    from kspec.metrics.callbacks import Recall

    return Recall(**config)


@METRICS.register("density")
def make_density_callback(**config):
    """Builds a `kspec.metrics.callbacks.Density` callback from keyword arguments."""
    from kspec.metrics.callbacks import Density

    return Density(**config)


@METRICS.register("coverage")
def make_coverage_callback(**config):
    """Builds a `kspec.metrics.callbacks.Coverage` callback from keyword arguments."""
    from kspec.metrics.callbacks import Coverage

    return Coverage(**config)
