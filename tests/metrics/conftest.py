"""A tiny softmax classifier on 6x6 grayscale images, the stand-in extractor network of these tests."""

import pytest


@pytest.fixture(scope="session")
def toy_classifier():
    import keras

    inputs = keras.Input((6, 6, 1))
    hidden = keras.layers.Flatten()(inputs)
    features = keras.layers.Dense(5, activation="tanh", name="embedding")(hidden)
    outputs = keras.layers.Dense(4, activation="softmax", name="probs")(features)
    return keras.Model(inputs, outputs, name="toy_classifier")


@pytest.fixture(scope="session")
def toy_extractor(toy_classifier):
    from kspec.metrics.extractors import KerasExtractor

    return KerasExtractor(toy_classifier, "embedding", name="toy", batch_size=16)
