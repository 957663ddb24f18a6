"""InstanceNormalization: GroupNormalization(groups=-1) under its own name, saved and reloaded as such."""

import doctest

import numpy as np
import pytest
from support import assert_model_roundtrip

from kspec.layers import instance_normalization
from kspec.layers.instance_normalization import InstanceNormalization


def test_matches_group_normalization_with_one_group_per_channel():
    import keras

    images = np.random.default_rng(0).normal(2.0, 3.0, size=(3, 5, 5, 4)).astype("float32")
    ours = InstanceNormalization(epsilon=1e-5, gamma_initializer="random_normal", beta_initializer="random_normal")
    theirs = keras.layers.GroupNormalization(groups=-1, epsilon=1e-5)
    ours.build(images.shape)
    theirs.build(images.shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(images)), np.asarray(theirs(images)), atol=1e-5)
    # Each image's channels are normalized on their own: changing one image leaves the others' outputs alone.
    changed = images.copy()
    changed[0] *= 10.0
    np.testing.assert_allclose(np.asarray(ours(changed))[1:], np.asarray(ours(images))[1:], atol=1e-6)


def test_parameters_are_a_scale_and_an_offset_per_channel():
    import keras

    model = keras.Sequential([keras.Input((8, 8, 6)), InstanceNormalization()])
    assert model.count_params() == 12


def test_config_has_no_group_count_and_reloads(tmp_path):
    import keras

    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, InstanceNormalization(gamma_initializer="random_normal")(inputs), name="norm")
    assert "groups" not in model.layers[1].get_config()
    reloaded = assert_model_roundtrip(model, str(tmp_path))
    assert type(reloaded.layers[1]) is InstanceNormalization


def test_spec_names_the_layer_instance_normalization(tmp_path):
    from kspec import builder

    spec = tmp_path / "spec.yaml"
    spec.write_text("kspec: 1\nmodels:\n  net:\n    inputs: {image: [8, 8, 3]}\n    layers:\n"
                    "      - instance_normalization: {epsilon: 0.00001}\n")
    assert builder.validate(str(spec)) == []
    assert type(builder.build(str(spec))["net"].layers[-1]) is InstanceNormalization


def test_docstring_example_runs():
    assert doctest.testmod(instance_normalization).failed == 0


def test_every_argument_reaches_the_group_normalization_it_is():
    # Each argument set away from its default, and the built layer behaves accordingly.
    arguments = {
        "axis": 1, "epsilon": 0.25, "center": False, "scale": True, "gamma_initializer": "zeros",
        "gamma_regularizer": {"class_name": "L2", "config": {"l2": 0.5}},
        "gamma_constraint": {"class_name": "NonNeg", "config": {}}, "name": "norm", "dtype": "float64",
    }
    layer = InstanceNormalization(**arguments)
    layer.build((2, 3, 4, 4))  # channels first: 3 channels on axis 1
    assert [tuple(w.shape) for w in layer.weights] == [(3,)]  # gamma only (center=False), per channel of axis 1
    config = layer.get_config()
    assert (config["axis"], config["epsilon"], config["center"], config["scale"], config["name"]) == (1, 0.25, False, True,
                                                                                                     "norm")
    assert layer.dtype == "float64"
    assert config["gamma_initializer"]["class_name"] == "Zeros"
    assert config["gamma_regularizer"]["config"]["l2"] == 0.5
    assert config["gamma_constraint"]["class_name"] == "NonNeg"
    layer.gamma.assign([1.0, 2.0, 3.0])
    layer(np.ones((1, 3, 4, 4)))
    assert float(sum(layer.losses)) == pytest.approx(0.5 * (1 + 4 + 9))


def test_offset_arguments_reach_beta():
    layer = InstanceNormalization(scale=False, beta_initializer="ones",
                                  beta_regularizer={"class_name": "L1", "config": {"l1": 0.25}},
                                  beta_constraint={"class_name": "NonNeg", "config": {}})
    layer.build((2, 4, 4, 3))
    assert [tuple(w.shape) for w in layer.weights] == [(3,)]
    np.testing.assert_array_equal(np.asarray(layer.beta), np.ones(3))
    config = layer.get_config()
    assert config["beta_regularizer"]["config"]["l1"] == 0.25
    assert config["beta_constraint"]["class_name"] == "NonNeg"
