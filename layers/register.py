"""The decorator every kspec layer uses: one line makes a layer usable in specs and reloadable from `.keras`."""

import keras

from kspec.registry import LAYERS


def register_layer(cls):
    """Registers `cls` as a Keras serializable (`kspec>Name`) and in kspec's layer registry."""
    cls = keras.saving.register_keras_serializable(package="kspec")(cls)
    return LAYERS.register(cls.__name__)(cls)
