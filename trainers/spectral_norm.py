"""Spectral normalization of a built discriminator (Miyato et al. 2018), for the GAN trainer's `spectral_norm`.

Keras' `SpectralNormalization` wraps one layer: in every training call it runs a power iteration on the layer's
kernel (reshaped to `(-1, units)`) and writes `W / sigma(W)` back into the kernel, so the largest singular value
of the kernel stays near 1 and the network's Lipschitz constant is bounded. Note that Keras normalizes the
variable in place rather than differentiating through `W / sigma(W)` as the paper does.

`with_spectral_normalization` rebuilds a model's graph with its Dense and convolutional layers wrapped. The
layers themselves are reused, not copied: the rebuilt model shares every variable with the original (only the
wrappers' power-iteration vectors `u` are new), so the original model, exported or saved later, computes what
the trained, normalized one computes.
"""

import keras

NORMALIZED_LAYERS = (
    keras.layers.Dense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)


def with_spectral_normalization(model, power_iterations=1):
    """A model with the graph of `model` whose Dense and convolutional layers are spectrally normalized.

    Layers already wrapped in `SpectralNormalization` (a spec node `spectral_normalization: {layer: ...}`) are
    kept as they are; nested models are rebuilt the same way.

    Args:
        model: a built functional or sequential `keras.Model`.
        power_iterations: power iterations per training call (1, as in the paper).

    Returns:
        `(normalized_model, count)`: the new model, sharing `model`'s layers and weights, and the number of
        layers now normalized (wrapped here or already).

    Example:
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dense(1, name="logit")(keras.layers.Dense(8)(inputs)))
    >>> normalized, count = with_spectral_normalization(model)
    >>> count, type(normalized.get_layer("logit")).__name__
    (2, 'SpectralNormalization')
    """
    count = 0

    def wrap(layer):
        nonlocal count
        if isinstance(layer, keras.layers.SpectralNormalization):
            count += 1
        elif isinstance(layer, NORMALIZED_LAYERS):
            count += 1
            # The wrapper takes the layer's name, so `get_layer("logit")` and the spec's node names still work.
            return keras.layers.SpectralNormalization(layer, power_iterations=power_iterations, name=layer.name)
        return layer

    normalized = keras.models.clone_model(model, clone_function=wrap, recursive=True)
    return normalized, count
