"""`register_layer`: one decorator makes a layer usable in specs by name and reloadable from `.keras` files."""

import keras
import numpy as np

from kspec.layers.sampling import Sampling
from kspec.registry import LAYERS


def test_a_registered_layer_is_found_by_its_class_name_and_serialized_under_kspec():
    assert LAYERS.get("Sampling") is Sampling
    assert keras.saving.get_registered_name(Sampling) == "kspec>Sampling"
    assert keras.saving.get_registered_object("kspec>Sampling") is Sampling


def test_a_model_with_a_registered_layer_reloads_without_custom_objects(tmp_path):
    inputs = [keras.Input((2,)), keras.Input((2,))]
    model = keras.Model(inputs, Sampling(seed=0)(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)  # no custom_objects: the registration alone resolves the class
    assert isinstance(reloaded.layers[-1], Sampling) and reloaded.layers[-1].seed == 0
    zeros, very_certain = np.zeros((3, 2), "float32"), np.full((3, 2), -60.0, "float32")
    np.testing.assert_allclose(np.asarray(reloaded([zeros, very_certain])), 0.0, atol=1e-6)


def test_registering_a_new_layer_adds_it_to_both_registries_and_returns_it(monkeypatch):
    # Called here, not at import, so the decorator itself runs under the test (and under mutation testing).
    from kspec.layers.register import register_layer

    monkeypatch.setattr(LAYERS, "_entries", dict(LAYERS._entries))
    monkeypatch.setattr(LAYERS, "_origins", dict(LAYERS._origins))

    class RegisterProbe(keras.layers.Layer):
        pass

    try:
        assert register_layer(RegisterProbe) is RegisterProbe
        assert LAYERS.get("RegisterProbe") is RegisterProbe
        assert keras.saving.get_registered_name(RegisterProbe) == "kspec>RegisterProbe"
    finally:
        keras.saving.get_custom_objects().pop("kspec>RegisterProbe", None)
