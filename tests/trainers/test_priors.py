import keras
import numpy as np
import pytest

from kspec.registry import PRIORS
from kspec.trainers import priors


def draw(prior, n=20000, seed=0):
    return keras.ops.convert_to_numpy(prior.sample(n, seed=seed))


def test_gaussian_prior_has_requested_moments():
    z = draw(priors.GaussianPrior(3, std=2.0))
    assert z.shape == (20000, 3)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.06)
    np.testing.assert_allclose(z.std(axis=0), 2.0, rtol=0.03)


def test_uniform_prior_covers_its_box_with_uniform_moments():
    z = draw(priors.UniformPrior(2, low=-1.0, high=3.0))
    assert z.min() >= -1.0 and z.max() < 3.0
    np.testing.assert_allclose(z.mean(axis=0), 1.0, atol=0.05)
    np.testing.assert_allclose(z.var(axis=0), 16 / 12, rtol=0.05)  # (high - low)^2 / 12


def test_gaussian_mixture_centres_lie_on_the_circle():
    prior = priors.GaussianMixturePrior(3, components=4, radius=2.0, std=0.1)
    centers = keras.ops.convert_to_numpy(prior.centers())
    np.testing.assert_allclose(centers, [[2, 0, 0], [0, 2, 0], [-2, 0, 0], [0, -2, 0]], atol=1e-6)


def test_gaussian_mixture_samples_every_component_with_its_std():
    prior = priors.GaussianMixturePrior(2, components=4, radius=2.0, std=0.1)
    z = draw(prior)
    nearest = np.argmin(((z[:, None, :] - keras.ops.convert_to_numpy(prior.centers())[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(np.bincount(nearest, minlength=4) / len(z), 0.25, atol=0.02)
    offsets = z - keras.ops.convert_to_numpy(prior.centers())[nearest]
    np.testing.assert_allclose(offsets.std(axis=0), 0.1, rtol=0.05)


@pytest.mark.parametrize("name", ["gaussian", "uniform", "gaussian_mixture"])
def test_integer_seed_reproduces_a_draw(name):
    prior = priors.get_prior(name, latent_dim=2)
    np.testing.assert_array_equal(draw(prior, 5, seed=3), draw(prior, 5, seed=3))
    assert not np.array_equal(draw(prior, 5, seed=3), draw(prior, 5, seed=4))


def test_seed_generator_gives_new_draws_each_call():
    prior = priors.GaussianPrior(2)
    generator = keras.random.SeedGenerator(0)
    first, second = prior.sample(4, seed=generator), prior.sample(4, seed=generator)
    assert not np.array_equal(keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(second))


def test_priors_are_registered_by_name():
    assert PRIORS.get("gaussian_mixture") is priors.GaussianMixturePrior
    assert isinstance(priors.get_prior({"name": "uniform", "low": 0.0}, latent_dim=2), priors.UniformPrior)


def test_prior_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError) as error:
        priors.get_prior(priors.GaussianPrior(3), latent_dim=2)
    assert str(error.value) == (
        "Invalid value for argument `prior`: expected a prior over 2 dimensions (the latent size of the models). "
        "Received: a prior with latent_dim=3"
    )


def test_unknown_prior_names_close_matches():
    with pytest.raises(ValueError) as error:
        priors.get_prior("gausian", latent_dim=2)
    assert str(error.value) == (
        "Invalid value for argument `prior`: unknown prior `gausian` (did you mean `gaussian` or `gaussian_mixture`?). "
        "Received: prior='gausian'"
    )


def test_mixture_needs_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        priors.GaussianMixturePrior(1)
