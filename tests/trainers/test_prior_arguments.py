"""Priors' arguments: defaults, configs, and the whole message for each value refused."""

import keras
import numpy as np
import pytest

from kspec.trainers import priors


@pytest.mark.parametrize(
    "prior, config",
    [
        (priors.GaussianPrior(2), {"latent_dim": 2, "std": 1.0}),
        (priors.UniformPrior(3), {"latent_dim": 3, "low": -1.0, "high": 1.0}),
        # Makhzani et al. (2016), fig. 4: 10 components on a circle in a 2-D code.
        (priors.GaussianMixturePrior(), {"latent_dim": 2, "components": 10, "radius": 2.0, "std": 0.25}),
        (priors.get_prior({"name": "gaussian_mixture", "components": 4, "radius": 3, "std": 1}, latent_dim=5),
         {"latent_dim": 5, "components": 4, "radius": 3.0, "std": 1.0}),
    ],
)
def test_defaults_and_options_are_in_the_config(prior, config):
    assert prior.get_config() == config


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: priors.GaussianPrior(0), "Invalid value for argument `latent_dim`: expected a positive integer. "
                                          "Received: latent_dim=0"),
        (lambda: priors.GaussianPrior(True), "Invalid value for argument `latent_dim`: expected a positive integer. "
                                             "Received: latent_dim=True"),
        (lambda: priors.GaussianPrior(2.0), "Invalid value for argument `latent_dim`: expected a positive integer. "
                                            "Received: latent_dim=2.0"),
        (lambda: priors.GaussianPrior(2, std=0), "Invalid value for argument `std`: expected a positive number. "
                                                 "Received: std=0"),
        (lambda: priors.GaussianPrior(2, std=True), "Invalid value for argument `std`: expected a positive number. "
                                                    "Received: std=True"),
        (lambda: priors.GaussianPrior(2, std="1"), "Invalid value for argument `std`: expected a positive number. "
                                                   "Received: std='1'"),
        (lambda: priors.UniformPrior(2, low=1.0, high=1.0),
         "Invalid values for arguments `low` and `high`: expected low < high. Received: low=1.0, high=1.0"),
        (lambda: priors.GaussianMixturePrior(2, components=0),
         "Invalid value for argument `components`: expected a positive integer. Received: components=0"),
        (lambda: priors.GaussianMixturePrior(2, components=True),
         "Invalid value for argument `components`: expected a positive integer. Received: components=True"),
        (lambda: priors.GaussianMixturePrior(2, components=2.0),
         "Invalid value for argument `components`: expected a positive integer. Received: components=2.0"),
        (lambda: priors.GaussianMixturePrior(2, radius=-1.0),
         "Invalid value for argument `radius`: expected a positive number. Received: radius=-1.0"),
        (lambda: priors.GaussianMixturePrior(2, std=0.0),
         "Invalid value for argument `std`: expected a positive number. Received: std=0.0"),
        (lambda: priors.GaussianMixturePrior(1),
         "Invalid value for argument `latent_dim`: a mixture on a circle needs at least 2 dimensions. "
         "Received: latent_dim=1"),
        (lambda: priors.get_prior(5, latent_dim=2),
         "Invalid value for argument `prior`: expected a prior name, a dict with a `name` key, or a Prior. "
         "Received: prior=5"),
        (lambda: priors.get_prior({"components": 4}, latent_dim=2),
         "Invalid value for argument `prior`: expected a prior name, a dict with a `name` key, or a Prior. "
         "Received: prior=None"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument_and_value(build, message):
    with pytest.raises(ValueError) as caught:
        build()
    assert str(caught.value) == message


def test_a_mixture_of_one_component_is_one_gaussian_at_the_radius():
    prior = priors.GaussianMixturePrior(2, components=1, radius=1.5, std=0.01)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(prior.centers()), [[1.5, 0.0]], atol=1e-7)
    z = keras.ops.convert_to_numpy(prior.sample(200, seed=0))
    np.testing.assert_allclose(z.mean(axis=0), [1.5, 0.0], atol=0.01)


def test_a_prior_instance_of_the_right_size_passes_through():
    prior = priors.UniformPrior(4)
    assert priors.get_prior(prior, latent_dim=4) is prior
