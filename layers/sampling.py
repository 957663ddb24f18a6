"""Reparameterization sampling for variational autoencoders."""

import keras

from kspec.layers.register import register_layer


@register_layer
class Sampling(keras.layers.Layer):
    """Draws z = mean + exp(log_var / 2) * eps with eps ~ N(0, I) (Kingma & Welling 2014, eq. 10).

    Writing z as a deterministic function of (mean, log_var) and independent noise lets gradients of the
    reconstruction loss flow into the encoder.

    Args:
        seed: optional integer seed of the noise.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a list `[z_mean, z_log_var]` of tensors with the same shape.

    Returns:
        A tensor of that shape.

    Example:
    >>> import numpy as np
    >>> z = Sampling(seed=1)([np.zeros((4, 2)), np.full((4, 2), -50.0)])
    >>> float(keras.ops.max(keras.ops.abs(z))) < 1e-6
    True
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Invalid value for argument `seed`: expected an integer or None. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(keras.ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config
