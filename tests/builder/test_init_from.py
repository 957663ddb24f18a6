"""`init_from:` loads weights by layer name from a saved model or an earlier run, reports what matched, and
refuses shape mismatches (unless `strict: false`), missing sources and models, each in one line."""

import os

import numpy as np
import pytest
from support import SPECS_DIR, run_cli

from kspec import builder
from kspec.errors import SpecError

ENCODER = """\
kspec: 1
models:
  encoder:
    inputs: {image: [8, 8, 1]}
    layers:
      - conv2d: {filters: 4, kernel_size: 3, padding: same, activation: relu}
      - flatten:
      - {name: code, dense: {units: 5}}
"""
CLASSIFIER = """\
kspec: 1
models:
  classifier:
    init_from: INIT
    inputs: {image: [8, 8, 1]}
    layers:
      - conv2d: {filters: 4, kernel_size: 3, padding: same, activation: relu}
      - flatten:
      - {name: code, dense: {units: CODE}}
      - {name: head, dense: {units: 3, activation: softmax}}
"""


@pytest.fixture(scope="module")
def encoder_file(tmp_path_factory):
    """A saved encoder with random, recognisable weights; returns (path, {layer: weights})."""
    directory = tmp_path_factory.mktemp("encoder")
    (directory / "spec.yaml").write_text(ENCODER)
    model = builder.build(str(directory / "spec.yaml"))["encoder"]
    rng = np.random.default_rng(7)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    path = directory / "encoder.keras"
    model.save(path)
    return str(path), {layer.name: [w.numpy() for w in layer.weights] for layer in model.layers if layer.weights}


def classifier(tmp_path, init, code=5):
    path = tmp_path / "classifier.yaml"
    path.write_text(CLASSIFIER.replace("INIT", init).replace("CODE", str(code)))
    return str(path)


def test_init_from_a_file_loads_layers_by_name_and_reports_them(tmp_path, encoder_file):
    file, weights = encoder_file
    spec = builder.load_spec(classifier(tmp_path, f"{{file: {file}, model: encoder}}"))
    model = builder.build(spec)["classifier"]
    for name, expected in weights.items():
        for want, got in zip(expected, model.get_layer(name).weights):
            np.testing.assert_array_equal(got.numpy(), want)
    [report] = spec.init_reports
    assert report.lines() == [f"init_from {file} (model `encoder`) -> model `classifier`: 2 layers loaded (conv2d, code)",
                              "  not in the source (initialized as usual): head"]


def test_a_shape_mismatch_is_an_error_naming_both_shapes(tmp_path, encoder_file):
    file, _ = encoder_file
    path = classifier(tmp_path, f"{{file: {file}, model: encoder}}", code=6)
    with pytest.raises(SpecError) as caught:
        builder.build(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:4:16: models.classifier.init_from: layer `code` has weights of shapes [(256, 6), (6,)] here but "
        f"[(256, 5), (5,)] in {file} (model `encoder`); make the layers agree, list it in `exclude:`, or set "
        "`strict: false` to skip it"]


def test_strict_false_skips_a_mismatched_layer_and_reports_it(tmp_path, encoder_file):
    file, weights = encoder_file
    spec = builder.load_spec(classifier(tmp_path, f"{{file: {file}, model: encoder, strict: false}}", code=6))
    model = builder.build(spec)["classifier"]
    np.testing.assert_array_equal(model.get_layer("conv2d").kernel.numpy(), weights["conv2d"][0])
    assert spec.init_reports[0].lines()[2] == "  skipped, other shapes: code [(256, 6), (6,)] here, [(256, 5), (5,)] in the source"


def test_exclude_leaves_a_layer_as_initialized(tmp_path, encoder_file):
    file, weights = encoder_file
    spec = builder.load_spec(classifier(tmp_path, f"{{file: {file}, model: encoder, exclude: [co*e]}}"))
    model = builder.build(spec)["classifier"]
    assert not np.array_equal(model.get_layer("code").kernel.numpy(), weights["code"][0])
    assert spec.init_reports[0].excluded == ["code"]


@pytest.mark.parametrize("init, message", [
    ("{file: no/such.keras}", "no/such.keras does not exist (paths are relative to the working directory {cwd}); "
                              "correct `init_from.file`"),
    ("{file: FILE, model: decoder}", "FILE has no model `decoder` (it has: encoder); name one with `init_from.model`"),
    ("{run: no/such/run}", "run directory no/such/run does not exist (paths are relative to the working directory "
                           "{cwd}); train it first or correct the path"),
    ("{file: FILE, model: encoder, exclude: ['*']}", "no layer of model `classifier` has a namesake with weights in FILE "
                                                     "(model `encoder`: conv2d, code); name the nodes as there"),
])
def test_bad_sources_are_one_line_at_init_from(tmp_path, encoder_file, init, message):
    file, _ = encoder_file
    path = classifier(tmp_path, init.replace("FILE", file))
    with pytest.raises(SpecError) as caught:
        builder.build(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:4:16: models.classifier.init_from: " + message.replace("FILE", file).replace("{cwd}", os.getcwd())]


def test_init_from_on_a_layer_node_is_refused(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(ENCODER.replace("- flatten:", "- {flatten: {}, init_from: runs/ae}"))
    assert [str(p) for p in builder.validate(str(path))] == [
        f"{path}:7:34: models.encoder.layers[1].init_from: `init_from` loads weights into a `{{model: ...}}` node or "
        "a whole model (`models.NAME.init_from`); this node is a layer"]


@pytest.mark.slow
def test_an_autoencoder_run_initializes_a_classifier_and_summary_reports_it(tmp_path):
    run = tmp_path / "ae"
    small = ["--set", "data.args.limit=64", "--set", "training.epochs=1", "--set", "params.image_size=8"]
    result = run_cli("train", os.path.join(SPECS_DIR, "autoencoder.yaml"), "--out", run, *small)
    assert result.exit_code == 0, result.output
    path = tmp_path / "classifier.yaml"
    path.write_text(f"""\
kspec: 1
models:
  classifier:
    init_from: {{run: {run}, model: encoder}}
    inputs: {{image: [8, 8, 1]}}
    layers:
      - conv2d: {{filters: 32, kernel_size: 3, strides: 2, padding: same, activation: relu}}
      - conv2d: {{filters: 64, kernel_size: 3, strides: 2, padding: same, activation: relu}}
      - flatten:
      - {{name: code, dense: {{units: 16}}}}
      - {{name: head, dense: {{units: 10, activation: softmax}}}}
""")
    summary = run_cli("summary", path)
    assert summary.exit_code == 0, summary.output
    assert (f"  init_from {run} (best checkpoint) (model `encoder`) -> model `classifier`: 3 layers loaded (conv2d, "
            "conv2d_1, code)\n    not in the source (initialized as usual): head") in summary.stdout
    missing = run_cli("summary", path, "--set", "models.classifier.init_from.model=decoderr")
    assert missing.exit_code == 1
    assert missing.output.strip().endswith(f"has no model `decoderr` (it has: autoencoder, encoder, decoder); name "
                                           "one with `init_from.model`")
