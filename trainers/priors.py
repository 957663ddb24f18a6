"""Latent priors a trainer can sample from, registered in `kspec.registry.PRIORS` by name.

A prior is constructed with the latent dimension (and its own options) and draws `(n, latent_dim)` samples.
`seed` is a `keras.random.SeedGenerator` inside training steps (so successive steps differ and the draw is
reproducible from the trainer's seed), or an integer for a one-off reproducible draw outside them.
"""

import math

import keras
from keras import ops

from kspec.registry import PRIORS


class Prior:
    """Base class of the priors.

    Args:
        latent_dim: number of latent dimensions, a positive integer.
    """

    def __init__(self, latent_dim):
        if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
            raise ValueError(
                f"Invalid value for argument `latent_dim`: expected a positive integer. Received: latent_dim={latent_dim!r}"
            )
        self.latent_dim = latent_dim

    def sample(self, n, seed=None):
        """Draws `n` latent vectors.

        Args:
            n: number of samples (an integer or a scalar tensor).
            seed: a `keras.random.SeedGenerator`, an integer, or None (unseeded).

        Returns:
            A float tensor `(n, latent_dim)`.
        """
        raise NotImplementedError

    def get_config(self):
        return {"latent_dim": self.latent_dim}


def _seed_generator(seed):
    # An integer seed reused for two draws would correlate them; one generator gives each draw its own key.
    if isinstance(seed, int):
        return keras.random.SeedGenerator(seed)
    return seed


def _positive(name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"Invalid value for argument `{name}`: expected a positive number. Received: {name}={value!r}")
    return float(value)


@PRIORS.register("gaussian")
class GaussianPrior(Prior):
    """Isotropic Gaussian N(0, std^2 I).

    Args:
        latent_dim: number of latent dimensions.
        std: standard deviation of every dimension.

    Example:
    >>> tuple(GaussianPrior(2).sample(5, seed=0).shape)
    (5, 2)
    """

    def __init__(self, latent_dim, std=1.0):
        super().__init__(latent_dim)
        self.std = _positive("std", std)

    def sample(self, n, seed=None):
        return keras.random.normal((n, self.latent_dim), stddev=self.std, seed=seed)

    def get_config(self):
        return {**super().get_config(), "std": self.std}


@PRIORS.register("uniform")
class UniformPrior(Prior):
    """Uniform on the box [low, high)^latent_dim.

    Args:
        latent_dim: number of latent dimensions.
        low: lower bound of every dimension.
        high: upper bound of every dimension, greater than `low`.

    Example:
    >>> z = UniformPrior(3, low=0.0, high=0.5).sample(100, seed=0)
    >>> bool(keras.ops.all(z < 0.5))
    True
    """

    def __init__(self, latent_dim, low=-1.0, high=1.0):
        super().__init__(latent_dim)
        if not low < high:
            raise ValueError(
                f"Invalid values for arguments `low` and `high`: expected low < high. Received: low={low!r}, high={high!r}"
            )
        self.low = float(low)
        self.high = float(high)

    def sample(self, n, seed=None):
        return keras.random.uniform((n, self.latent_dim), minval=self.low, maxval=self.high, seed=seed)

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


@PRIORS.register("gaussian_mixture")
class GaussianMixturePrior(Prior):
    """Equal-weight mixture of `components` Gaussians centred on a circle (Makhzani et al. 2016, fig. 4).

    Component `k` is centred at `radius * (cos 2 pi k / K, sin 2 pi k / K)` in the first two latent dimensions
    (0 in the others), with standard deviation `std` in every dimension.

    Args:
        latent_dim: number of latent dimensions, at least 2.
        components: number of mixture components K.
        radius: radius of the circle of centres.
        std: standard deviation of each component.

    Example:
    >>> prior = GaussianMixturePrior(2, components=4, radius=3.0, std=0.01)
    >>> z = keras.ops.convert_to_numpy(prior.sample(8, seed=1))
    >>> bool(abs((z ** 2).sum(axis=1) ** 0.5 - 3.0).max() < 0.1)
    True
    """

    def __init__(self, latent_dim=2, components=10, radius=2.0, std=0.25):
        super().__init__(latent_dim)
        if latent_dim < 2:
            raise ValueError(
                f"Invalid value for argument `latent_dim`: a mixture on a circle needs at least 2 dimensions. "
                f"Received: latent_dim={latent_dim!r}"
            )
        if not isinstance(components, int) or isinstance(components, bool) or components < 1:
            raise ValueError(
                f"Invalid value for argument `components`: expected a positive integer. Received: components={components!r}"
            )
        self.components = components
        self.radius = _positive("radius", radius)
        self.std = _positive("std", std)

    def centers(self):
        """The `(components, latent_dim)` component means."""
        angles = [2.0 * math.pi * k / self.components for k in range(self.components)]
        rows = [[self.radius * math.cos(a), self.radius * math.sin(a)] + [0.0] * (self.latent_dim - 2) for a in angles]
        return ops.convert_to_tensor(rows, dtype="float32")

    def sample(self, n, seed=None):
        seed = _seed_generator(seed)
        component = keras.random.randint((n,), 0, self.components, seed=seed)
        noise = keras.random.normal((n, self.latent_dim), stddev=self.std, seed=seed)
        return ops.take(self.centers(), component, axis=0) + noise

    def get_config(self):
        return {**super().get_config(), "components": self.components, "radius": self.radius, "std": self.std}


def get_prior(prior, latent_dim):
    """Returns a `Prior` from a registered name or a `{"name": ..., **options}` dict, or passes one through.

    Args:
        prior: a name in `kspec.registry.PRIORS`, a dict with key `name` and the prior's options, or a `Prior`.
        latent_dim: the trainer's latent dimension.

    Returns:
        A `Prior` whose `latent_dim` is `latent_dim`.

    Example:
    >>> get_prior({"name": "gaussian_mixture", "components": 4}, latent_dim=2).components
    4
    """
    if isinstance(prior, Prior):
        if prior.latent_dim != latent_dim:
            raise ValueError(
                f"Invalid value for argument `prior`: expected a prior over {latent_dim} dimensions (the latent "
                f"size of the models). Received: a prior with latent_dim={prior.latent_dim}"
            )
        return prior
    options = {}
    if isinstance(prior, dict):
        options = dict(prior)
        prior = options.pop("name", None)
    if not isinstance(prior, str):
        raise ValueError(
            "Invalid value for argument `prior`: expected a prior name, a dict with a `name` key, or a Prior. "
            f"Received: prior={prior!r}"
        )
    try:
        prior_class = PRIORS.get(prior)
    except KeyError as error:
        raise ValueError(f"Invalid value for argument `prior`: {error.args[0]}. Received: prior={prior!r}") from None
    return prior_class(latent_dim, **options)
