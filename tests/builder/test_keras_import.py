"""`kspec import`: specs from Keras models round-trip to the same parameters, layer configs and outputs."""

import os

import pytest
from support import BUILD_OVERRIDES, SPEC_FILES, SPECS_DIR, run_cli

from kspec import builder
from kspec.builder.keras_import import same_config, compare_round_trip, load_source, spec_from_model, write_spec
from kspec.errors import SpecError

TINY_MODELS = '''
import keras
from kspec.layers import Sampling


def mixed():
    """A functional model touching wrappers, merges, a nested Sequential, keras.ops calls and a kspec layer."""
    series = keras.Input((12, 3), name="series")
    x = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), name="bi")(series)
    x = keras.layers.TimeDistributed(keras.layers.Dense(5), name="per_step")(x)
    y = keras.layers.Conv1D(5, 3, padding="same", name="conv")(series)
    x = keras.layers.Concatenate(name="both")([x, y])
    head = keras.Sequential([keras.Input((12, 10)), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(6)],
                            name="head")
    x = head(x)
    x = x * 0.5 + keras.layers.Dense(6, name="skip")(keras.layers.Flatten(name="flat")(series))
    mean = keras.layers.Dense(2, name="mean")(x)
    log_var = keras.layers.Dense(2, name="log_var")(x)
    z = Sampling(seed=3, name="z")([mean, log_var])
    return keras.Model(series, [mean, z], name="mixed")


def shared():
    x = keras.Input((4,))
    dense = keras.layers.Dense(4, name="twice")
    return keras.Model(x, dense(dense(x)))


def picks_a_state():
    x = keras.Input((5, 2))
    _, state = keras.layers.GRU(3, return_state=True, name="gru")(x)
    return keras.Model(x, keras.layers.Dense(1)(state))
'''


@pytest.fixture
def tiny_models(tmp_path, monkeypatch):
    (tmp_path / "tiny_models.py").write_text(TINY_MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "tiny_models"


def test_functional_model_round_trips_to_identical_outputs(tiny_models, tmp_path):
    import keras

    keras.backend.clear_session()
    model = load_source("tiny_models.mixed", allow_imports=[tiny_models])
    document = spec_from_model(model)
    assert list(document["models"]) == ["head", "mixed"]  # the nested Sequential becomes a model of the spec
    layers = {item["name"]: item for item in document["models"]["mixed"]["layers"]}
    assert layers["bi"] == {"name": "bi", "bidirectional": {"layer": {"lstm": {"units": 4, "return_sequences": True}}}}
    assert layers["conv"] == {"name": "conv", "conv1d": {"filters": 5, "kernel_size": 3, "padding": "same"},
                              "from": "series"}
    assert layers["head"] == {"name": "head", "model": "head"}
    rescaled = [item for item in layers.values() if "rescaling" in item]
    assert [item["rescaling"] for item in rescaled] == [{"scale": 0.5}]  # x * 0.5
    path = write_spec(document, str(tmp_path / "mixed.yaml"), "tiny_models.mixed")
    report = compare_round_trip(model, path)
    assert report["parameters"][0] == report["parameters"][1] == model.count_params()
    assert report["configs_differ"] == []
    assert report["outputs_identical"] is True


@pytest.mark.parametrize("function, message", [
    ("shared", "layer `twice` is called 2 times in `functional` (shared weights); a spec can share weights only "
               "through `{model: ...}`"),
    ("picks_a_state", "layer `dense` uses output 1 of `gru`, which has several; a spec node passes all of a "
                      "layer's outputs on"),
])
def test_what_a_spec_cannot_express_is_refused_in_one_line(tiny_models, function, message):
    import keras

    keras.backend.clear_session()
    with pytest.raises(SpecError) as raised:
        spec_from_model(load_source(f"tiny_models.{function}", allow_imports=[tiny_models]))
    assert [str(p) for p in raised.value.problems] == [f"SOURCE: {message}"]


def test_import_of_a_keras_file_with_a_lambda_layer_is_refused(tmp_path):
    import keras

    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Lambda(lambda t: t * 2, name="double")(x))
    model.save(tmp_path / "lambda.keras")
    result = run_cli("import", tmp_path / "lambda.keras", "-o", tmp_path / "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"SOURCE: {tmp_path}/lambda.keras: layer `double` is a Lambda layer (Python code); a spec cannot express it "
        "and kspec never loads code from a model file"
    )
    assert not (tmp_path / "spec.yaml").exists()


@pytest.mark.parametrize("source, message", [
    ("keras.applications.ResNet5", "SOURCE: `ResNet5` is not a model in keras.applications (did you mean 'ResNet50'?)"),
    ("os.system", "SOURCE: importing `os.system` runs code from `os`; allow it with --allow-import os"),
    ("model", "SOURCE: expected a .keras file, keras.applications.NAME or module.function. Received: 'model'"),
])
def test_sources_outside_the_allow_list_are_refused(source, message, tmp_path):
    result = run_cli("import", source, "-o", tmp_path / "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == message


def test_import_of_a_keras_file_writes_a_spec_that_validates_and_checks(tmp_path):
    models = builder.build(os.path.join(SPECS_DIR, "cnn_classifier.yaml"))
    models["classifier"].save(tmp_path / "cnn.keras")
    result = run_cli("import", tmp_path / "cnn.keras", "-o", tmp_path / "cnn.yaml", "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"wrote {tmp_path}/cnn.yaml: model `classifier`, 9 layers, 315,146 parameters",
        "round trip: parameters equal, layer configs equal, outputs identical",
    ]
    text = (tmp_path / "cnn.yaml").read_text()
    assert "- {name: conv2d_1, conv2d: {filters: 64, kernel_size: 3, strides: 2, activation: relu}}" in text
    assert run_cli("validate", tmp_path / "cnn.yaml").exit_code == 0


@pytest.mark.parametrize("spec_file", [f for f in SPEC_FILES if f != "vae_with_fid.yaml"])  # vae.yaml's models
def test_shipped_specs_are_fixed_points_of_build_import_build(spec_file, tmp_path):
    import keras

    keras.backend.clear_session()
    for name, model in builder.build(os.path.join(SPECS_DIR, spec_file), BUILD_OVERRIDES.get(spec_file, [])).items():
        path = write_spec(spec_from_model(model), str(tmp_path / f"{name}.yaml"), name)
        rebuilt = builder.build(path)[name]
        assert rebuilt.count_params() == model.count_params()
        for layer in model.layers:
            assert same_config(rebuilt.get_layer(layer.name).get_config(), layer.get_config()), layer.name


# Representative families: nested ZeroPadding (MobileNetV2), keras.ops calls and broadcasting merges
# (MobileNetV3Small), Rescaling/Normalization and squeeze-excitation (EfficientNetB0), residual blocks (ResNet50).
# The whole of keras.applications: python benchmarks/import_roundtrip.py
@pytest.mark.slow
@pytest.mark.parametrize("name", ["MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50"])
def test_keras_applications_round_trip(name, tmp_path):
    import keras

    keras.backend.clear_session()
    model = load_source(f"keras.applications.{name}", input_shape=(64, 64, 3))
    path = write_spec(spec_from_model(model), str(tmp_path / f"{name}.yaml"), name)
    report = compare_round_trip(model, path)
    assert report["parameters"][0] == report["parameters"][1]
    assert report["configs_differ"] == []
    assert report["outputs_identical"] is True
    spec = builder.load_spec(path)
    shapes = spec.shapes[list(spec.models)[-1]]
    assert not shapes.unchecked
    for layer in model.layers[1:]:
        assert shapes.shape(layer.name) == tuple(layer.output.shape), layer.name
