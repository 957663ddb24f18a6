"""The translation trainers' adversarial terms and the linear learning-rate decay, on closed-form values."""

import numpy as np
import pytest

from kspec.trainers.gan_losses import get_adversarial_loss
from kspec.trainers.linear_decay import decay_factor
from kspec.trainers.translation_losses import (check_loss_weight, discriminator_adversarial_loss,
                                               generator_adversarial_loss, mean_absolute_error)

REAL = np.array([[0.5], [2.0]], "float32")
FAKE = np.array([[-1.0], [0.0]], "float32")


def softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize("loss, generator, discriminator", [
    # Zhu et al.: least squares without Mao et al.'s 1/2, the discriminator's objective halved.
    ("lsgan", np.mean((FAKE - 1) ** 2), 0.5 * (np.mean((REAL - 1) ** 2) + np.mean(FAKE ** 2))),
    # Isola et al.: cross-entropy, the discriminator's objective halved.
    ("non_saturating", np.mean(softplus(-FAKE)), 0.5 * (np.mean(softplus(-REAL)) + np.mean(softplus(FAKE)))),
    ("hinge", -np.mean(FAKE), 0.5 * (np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)))),
])
def test_adversarial_terms_as_the_papers_write_them(loss, generator, discriminator):
    adversarial = get_adversarial_loss(loss)
    np.testing.assert_allclose(float(generator_adversarial_loss(adversarial, FAKE)), generator, rtol=1e-6)
    np.testing.assert_allclose(float(discriminator_adversarial_loss(adversarial, REAL, FAKE)), discriminator, rtol=1e-6)


def test_mean_absolute_error_averages_over_pixels_and_channels():
    images = np.zeros((2, 3, 3, 2), "float32")
    references = np.zeros_like(images)
    references[0, 0, 0, 0] = 36.0
    assert float(mean_absolute_error(images, references)) == 1.0


def test_mean_absolute_error_is_the_distance_between_the_images():
    assert float(mean_absolute_error(np.full((1, 2, 2, 1), 1.0), np.full((1, 2, 2, 1), 3.0))) == 2.0
    assert float(mean_absolute_error(np.full((1, 2, 2, 1), 3.0), np.full((1, 2, 2, 1), 1.0))) == 2.0


@pytest.mark.parametrize("value", [0, 0.5, 10, 100.0])
def test_a_loss_weight_of_zero_or_more_is_accepted(value):
    check_loss_weight("lambda_cycle", value)


@pytest.mark.parametrize("value", [-1, -0.5, True, "10", None])
def test_a_loss_weight_that_is_not_a_number_of_zero_or_more_is_refused(value):
    with pytest.raises(ValueError) as error:
        check_loss_weight("lambda_cycle", value)
    assert str(error.value) == (
        f"Invalid value for argument `lambda_cycle`: expected a number >= 0. Received: lambda_cycle={value!r}")


@pytest.mark.parametrize("epochs, decay_epochs, factors", [
    (4, 0, [1, 1, 1, 1]),
    (4, 2, [1, 1, 2 / 3, 1 / 3]),
    (3, 3, [3 / 4, 2 / 4, 1 / 4]),
    (2, 10, [2 / 3, 1 / 3]),  # a run shorter than the decay decays over all its epochs
    (200, 100, None),  # the paper: 100 epochs at the full rate, the last at 1/101 of it
])
def test_decay_factor_is_constant_then_linear(epochs, decay_epochs, factors):
    computed = [decay_factor(epoch, epochs, decay_epochs) for epoch in range(epochs)]
    if factors is None:
        assert computed[:100] == [1.0] * 100 and computed[100] == 1 - 1 / 101
        np.testing.assert_allclose(computed[-1], 1 / 101)
        assert all(b < a for a, b in zip(computed[100:], computed[101:]))
    else:
        np.testing.assert_allclose(computed, factors)
