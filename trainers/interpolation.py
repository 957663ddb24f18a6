"""Decoding along a straight line between two latent vectors (the usual latent-space walk figure)."""

import numpy as np


def latent_line(z0, z1, steps=8):
    """`steps` evenly spaced points from `z0` to `z1`, both ends included.

    Args:
        z0: start latent vector, shape `(latent_dim,)`.
        z1: end latent vector, same shape.
        steps: number of points, at least 2.

    Returns:
        A float32 array `(steps, latent_dim)`.

    Example:
    >>> latent_line([0.0, 0.0], [1.0, 2.0], steps=3).tolist()
    [[0.0, 0.0], [0.5, 1.0], [1.0, 2.0]]
    """
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"Invalid value for argument `steps`: expected an integer >= 2. Received: steps={steps!r}")
    z0 = np.asarray(z0, dtype="float32")
    z1 = np.asarray(z1, dtype="float32")
    if z0.shape != z1.shape or z0.ndim != 1:
        raise ValueError(
            "Invalid values for arguments `z0` and `z1`: expected two vectors of the same length. "
            f"Received: z0.shape={z0.shape}, z1.shape={z1.shape}"
        )
    t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    return (1.0 - t) * z0 + t * z1


def interpolate(decoder, z0, z1, steps=8):
    """Decodes `steps` latents on the line from `z0` to `z1`.

    Args:
        decoder: a Keras model mapping `(n, latent_dim)` latents to images.
        z0: start latent vector.
        z1: end latent vector.
        steps: number of images, at least 2.

    Returns:
        A numpy array `(steps, ...)` of decoded images, `z0`'s first.

    Example:
    >>> import keras
    >>> decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    >>> interpolate(decoder, [0.0, 0.0], [1.0, 1.0], steps=5).shape
    (5, 4)
    """
    import keras

    return keras.ops.convert_to_numpy(decoder(latent_line(z0, z1, steps), training=False))
