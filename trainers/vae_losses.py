"""The two terms of the VAE objective (Kingma & Welling 2014): reconstruction and KL divergence.

Both are summed over the dimensions of one example and averaged over the batch, so `reconstruction + KL` is
the negative evidence lower bound per example and the balance between the terms does not depend on the image
size or the batch size.
"""

import keras  # noqa: F401  (used by the doctest examples)
from keras import ops


def kl_divergence(z_mean, z_log_var):
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) in closed form (Kingma & Welling 2014, appendix B).

    `-0.5 * sum(1 + log_var - mean^2 - exp(log_var))` over the latent dimensions, averaged over the batch.

    Args:
        z_mean: tensor `(batch, latent_dim)`.
        z_log_var: tensor `(batch, latent_dim)`, the log of the diagonal variance.

    Returns:
        A scalar.

    Example:
    >>> float(kl_divergence(keras.ops.zeros((3, 2)), keras.ops.zeros((3, 2))))  # the prior itself
    0.0
    """
    per_dimension = -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
    return ops.mean(ops.sum(per_dimension, axis=-1))


def binary_crossentropy_reconstruction(images, reconstructions):
    """Bernoulli negative log-likelihood of `images` in [0, 1] under decoder probabilities `reconstructions`.

    Args:
        images: targets `(batch, ...)` in [0, 1].
        reconstructions: decoder outputs (probabilities, e.g. after a sigmoid) of the same shape.

    Returns:
        A scalar: binary cross-entropy summed over pixels, averaged over the batch.

    Example:
    >>> round(float(binary_crossentropy_reconstruction(keras.ops.ones((2, 4)), keras.ops.full((2, 4), 0.5))), 4)
    2.7726
    """
    per_pixel = ops.binary_crossentropy(images, reconstructions)
    return ops.mean(_sum_per_example(per_pixel))


def squared_error_reconstruction(images, reconstructions):
    """Squared error summed over pixels, averaged over the batch (a Gaussian likelihood up to constants).

    Args:
        images: targets `(batch, ...)`.
        reconstructions: decoder outputs of the same shape.

    Returns:
        A scalar.

    Example:
    >>> float(squared_error_reconstruction(keras.ops.ones((2, 4)), keras.ops.zeros((2, 4))))
    4.0
    """
    return ops.mean(_sum_per_example(ops.square(images - reconstructions)))


def _sum_per_example(values):
    batch = ops.shape(values)[0]
    return ops.sum(ops.reshape(values, (batch, -1)), axis=1)


RECONSTRUCTION_LOSSES = {
    "bce": binary_crossentropy_reconstruction,
    "mse": squared_error_reconstruction,
}


def get_reconstruction_loss(reconstruction):
    """Returns the reconstruction loss function named `"bce"` or `"mse"`, or a callable unchanged.

    Args:
        reconstruction: `"bce"`, `"mse"` or a callable `(images, reconstructions) -> scalar`.

    Returns:
        A callable `(images, reconstructions) -> scalar`.

    Example:
    >>> get_reconstruction_loss("mse").__name__
    'squared_error_reconstruction'
    """
    if callable(reconstruction):
        return reconstruction
    if reconstruction not in RECONSTRUCTION_LOSSES:
        expected = ", ".join(f"'{name}'" for name in RECONSTRUCTION_LOSSES)
        raise ValueError(
            f"Invalid value for argument `reconstruction`: expected one of {{{expected}}} or a callable. "
            f"Received: reconstruction={reconstruction!r}"
        )
    return RECONSTRUCTION_LOSSES[reconstruction]
