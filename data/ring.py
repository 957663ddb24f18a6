"""`ring`: a 2-D mixture of Gaussians on a circle, the standard test of GAN mode collapse, and its metric.

The set-up follows Metz et al. 2017 ("Unrolled Generative Adversarial Networks", section 3.1): 8 Gaussians
with standard deviation 0.02 on a circle of radius 2.
"""

from dataclasses import dataclass

from kspec.data.lazy_numpy import np

from kspec.data.examples import Examples
from kspec.registry import DATA_SOURCES


def ring_modes(modes=8, radius=2.0):
    """Centres of `modes` Gaussians evenly spaced on a circle, as a `(modes, 2)` float array.

    Example:
    >>> ring_modes(4, 1.0).round(6).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    angles = 2 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def sample_ring(count, *, modes=8, radius=2.0, std=0.02, seed=0):
    """`count` points drawn from the ring mixture, each mode equally likely; float32 `(count, 2)`.

    Example:
    >>> sample_ring(3, seed=0).shape
    (3, 2)
    """
    rng = np.random.default_rng(seed)
    centres = ring_modes(modes, radius)[rng.integers(modes, size=count)]
    return (centres + rng.normal(0.0, std, size=(count, 2))).astype("float32")


@dataclass(frozen=True)
class ModeCoverage:
    """How well samples cover the ring.

    Attributes:
        high_quality_share: share of samples within `within_std` standard deviations of their nearest mode.
        modes_covered: modes with at least `min_samples` high-quality samples.
        samples_per_mode: high-quality samples nearest to each mode.
    """

    high_quality_share: float
    modes_covered: int
    samples_per_mode: tuple


def mode_coverage(samples, *, modes=8, radius=2.0, std=0.02, within_std=3.0, min_samples=1):
    """Share of high-quality samples and number of covered modes, as in Srivastava et al. 2017 (VEEGAN, §5.1).

    A sample is high quality when it lies within `within_std * std` of its nearest mode; a mode is covered
    when at least `min_samples` high-quality samples are nearest to it.

    Args:
        samples: `(n, 2)` points, e.g. a generator's output.
        modes, radius, std: the ring the samples should match.
        within_std: distance limit in standard deviations.
        min_samples: high-quality samples a mode needs to count as covered.

    Returns:
        A `ModeCoverage`.

    Example:
    >>> coverage = mode_coverage(ring_modes(8, 2.0)[:3])
    >>> coverage.high_quality_share, coverage.modes_covered
    (1.0, 3)
    """
    samples = np.asarray(samples, dtype="float64").reshape(-1, 2)
    centres = ring_modes(modes, radius)
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= within_std * std
    per_mode = np.bincount(nearest[good], minlength=modes)
    share = float(good.mean()) if len(samples) else 0.0
    return ModeCoverage(share, int((per_mode >= min_samples).sum()), tuple(int(c) for c in per_mode))


@DATA_SOURCES.register("ring")
def ring(args):
    """Seeded points from 8 (or `modes`) Gaussians on a circle; elements are points alone (generation task).

    Args (under `data.args`):
        count: number of points (default 2000).
        modes: Gaussians on the circle (default 8).
        radius: circle radius (default 2.0).
        std: standard deviation of each Gaussian (default 0.02).

    Default `normalize: none`, so that `mode_coverage` with the same `radius` and `std` applies to a
    generator's raw output.

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> ring(SourceArguments({"count": 5}, source="ring")).inputs.shape
    (5, 2)
    """
    count = args.integer("count", default=2000, minimum=1)
    modes = args.integer("modes", default=8, minimum=1)
    radius = args.number("radius", default=2.0, above=0)
    std = args.number("std", default=0.02, above=0)
    args.finish()
    points = sample_ring(count, modes=modes, radius=radius, std=std, seed=args.seed)
    return Examples(points, None, "generation", default_normalize="none")
