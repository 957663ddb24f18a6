"""Instance normalization: Keras' `GroupNormalization` with one group per channel, under its own name."""

import keras

from kspec.layers.register import register_layer


@register_layer
class InstanceNormalization(keras.layers.GroupNormalization):
    """Normalizes each channel of each image over its height and width (Ulyanov et al. 2016).

    The same computation as `keras.layers.GroupNormalization(groups=-1)`, named for what image-to-image
    papers call it (CycleGAN, Zhu et al. 2017, appendix 7.2), so a spec reads `instance_normalization:` rather
    than a group count that means "as many groups as channels". Statistics never mix images of a batch, so
    training and inference behave alike at any batch size, including 1.

    Args:
        axis: the channel axis (default -1, channels last).
        epsilon: added to the variance before the square root.
        center: learn a per-channel offset `beta`.
        scale: learn a per-channel factor `gamma`.
        beta_initializer, gamma_initializer: their initializers (`"zeros"`, `"ones"`; CycleGAN draws gamma
            from N(1, 0.02)).
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: as in `GroupNormalization`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 4, 4, 3)).astype("float32")
    >>> out = keras.ops.convert_to_numpy(InstanceNormalization()(images))
    >>> bool(np.allclose(out.mean(axis=(1, 2)), 0, atol=1e-5)), bool(np.allclose(out.std(axis=(1, 2)), 1, atol=1e-2))
    (True, True)
    """

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(
            groups=-1,
            axis=axis,
            epsilon=epsilon,
            center=center,
            scale=scale,
            beta_initializer=beta_initializer,
            gamma_initializer=gamma_initializer,
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
            **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        del config["groups"]  # always one group per channel; not an argument of this layer
        return config
