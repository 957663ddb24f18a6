import numpy as np
import pytest

from kspec.trainers import vae_losses


def test_kl_divergence_matches_closed_form():
    # 3 examples of 2 dimensions: summing over the batch and averaging over dimensions would differ.
    mean = np.array([[0.5, -1.0], [2.0, 0.0], [0.0, 3.0]], "float32")
    log_var = np.array([[0.0, np.log(2.0)], [-1.0, 1.0], [0.5, -2.0]], "float32")
    # Per dimension: 0.5 * (var + mean^2 - 1 - log var).
    var = np.exp(log_var)
    expected = (0.5 * (var + mean**2 - 1.0 - log_var)).sum(axis=1).mean()
    np.testing.assert_allclose(float(vae_losses.kl_divergence(mean, log_var)), expected, rtol=1e-5)


def test_kl_divergence_of_the_prior_is_zero():
    assert float(vae_losses.kl_divergence(np.zeros((3, 4), "float32"), np.zeros((3, 4), "float32"))) == 0.0


def test_binary_crossentropy_is_summed_over_pixels_and_averaged_over_batch():
    images = np.array([[[1.0, 0.0], [0.25, 1.0]], [[0.0, 0.0], [1.0, 0.5]]], "float32")
    probabilities = np.array([[[0.9, 0.2], [0.5, 0.6]], [[0.3, 0.1], [0.7, 0.5]]], "float32")
    per_pixel = -(images * np.log(probabilities) + (1 - images) * np.log(1 - probabilities))
    expected = per_pixel.reshape(2, -1).sum(axis=1).mean()
    actual = float(vae_losses.binary_crossentropy_reconstruction(images, probabilities))
    np.testing.assert_allclose(actual, expected, rtol=1e-5)


def test_squared_error_is_summed_over_pixels_and_averaged_over_batch():
    images = np.arange(12, dtype="float32").reshape(3, 2, 2)
    reconstructions = images + np.array([1.0, 2.0, 3.0], "float32")[:, None, None]
    # Example i is off by i + 1 in all 4 pixels: sums 4, 16, 36.
    np.testing.assert_allclose(float(vae_losses.squared_error_reconstruction(images, reconstructions)), 56 / 3, rtol=1e-6)


def test_unknown_reconstruction_loss_lists_the_choices():
    with pytest.raises(ValueError) as error:
        vae_losses.get_reconstruction_loss("l1")
    assert str(error.value) == (
        "Invalid value for argument `reconstruction`: expected one of {'bce', 'mse'} or a callable. "
        "Received: reconstruction='l1'"
    )


def test_reconstruction_loss_by_name_or_as_a_callable():
    def custom(images, reconstructions):
        return 0.0

    assert vae_losses.get_reconstruction_loss(custom) is custom
    assert vae_losses.get_reconstruction_loss("bce") is vae_losses.binary_crossentropy_reconstruction
    assert vae_losses.get_reconstruction_loss("mse") is vae_losses.squared_error_reconstruction
