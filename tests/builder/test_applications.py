"""`application:` nodes: keras.applications backbones checked without Keras, built with weights from a file or
Keras' cache (never downloaded), their preprocessing, and frozen backbones (BatchNormalization included)."""

import os
import textwrap

import numpy as np
import pytest

from kspec import builder
from kspec.errors import SpecError

SPEC = """\
kspec: 1
models:
  net:
    inputs: {{image: {shape}}}
    layers:
      - {{name: backbone, application: {application}{trainable}}}
      - {{name: head, dense: {{units: 3}}}}
"""
SMALL = "{name: MobileNetV2, alpha: 0.35, include_top: false, pooling: avg}"


def write(tmp_path, application=SMALL, shape="[32, 32, 3]", trainable=""):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(application=application, shape=shape, trainable=trainable))
    return str(path)


def problems_of(path, *overrides):
    return [str(p) for p in builder.validate(path, overrides)]


def build_error(path):
    with pytest.raises(SpecError) as caught:
        builder.build(path)
    return [str(p) for p in caught.value.problems]


def test_a_backbone_node_validates_without_tensorflow(tmp_path):
    import subprocess
    import sys

    script = (f"import sys; from kspec import builder; assert builder.validate({write(tmp_path)!r}) == []; "
              "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True).returncode == 0


@pytest.mark.parametrize("override, message", [
    ("models.net.layers[0].application.name=MobileNetV9",
     "models.net.layers[backbone].application.name: unknown application `MobileNetV9` (did you mean `MobileNetV2` "
     "or `MobileNet`?); `kspec layers --applications` lists them"),
    ("models.net.layers[0].from=[image, image]",
     "models.net.layers[backbone]: an `application:` backbone takes one image input. Received: 2 (image, image)"),
    ("models.net.layers[0].application.alpha=-1",
     "models.net.layers[backbone].application.alpha: expected a positive number. Received: alpha=-1"),
    ("models.net.layers[0].application.pooling=mean",
     "models.net.layers[backbone].application.pooling: expected one of null, 'avg', 'max'. Received: pooling='mean'"),
    ("models.net.layers[0].application.input_shape=[3]",
     "models.net.layers[backbone].application.input_shape: `input_shape` of `MobileNetV2` comes from the node's "
     "`from:`; remove it"),
    ("models.net.layers[0].application.alpah=1",
     "models.net.layers[backbone].application.alpah: `MobileNetV2` has no argument `alpah` (did you mean 'alpha'?)"),
    ("models.net.layers[0].application={name: MobileNetV2, alpha: 0.3, include_top: false, weights: imagenet}",
     "models.net.layers[backbone].application.alpha: Keras has no ImageNet weights of `MobileNetV2` for alpha=0.3; "
     "it has them for (alpha=0.35), (alpha=0.5), (alpha=0.75), (alpha=1.0), (alpha=1.3), (alpha=1.4)"),
])
def test_bad_application_arguments_are_one_line_each(tmp_path, override, message):
    problems = problems_of(write(tmp_path), override)
    assert len(problems) == 1 and problems[0].endswith(message), problems


def test_imagenet_weights_missing_from_the_cache_name_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    application = "{name: MobileNetV2, alpha: 0.35, include_top: false, pooling: avg, weights: imagenet}"
    path = write(tmp_path, application, shape="[96, 96, 3]")
    assert problems_of(path) == []  # validate reads no file
    cache = tmp_path / "keras_home" / "models"
    file = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    assert build_error(path) == [
        f"{path}:6:115: models.net.layers[backbone].application.weights: the ImageNet weights of `MobileNetV2` are not "
        f"in Keras' cache: expected {file} in {cache} ($KERAS_HOME/models); kspec never downloads: on a machine with "
        "internet, run `python -c \"import keras; keras.applications.MobileNetV2(alpha=0.35, include_top=False, "
        f"pooling='avg', input_shape=(96, 96, 3), weights='imagenet')\"` and copy ~/.keras/models/{file} there, or use "
        "`weights: none` or a weights file"]


def _legacy_h5(model, path):
    """Writes `model`'s weights in the legacy HDF5 layout that Keras' ImageNet files use."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as stream:
        legacy_h5_format.save_weights_to_hdf5_group(stream, model)


def _randomized(model, seed):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return [w.numpy() for w in model.weights]


@pytest.fixture(scope="module")
def reference_backbone():
    import keras

    model = keras.applications.MobileNetV2(alpha=0.35, include_top=False, pooling="avg", weights=None,
                                           input_shape=(96, 96, 3), name="backbone")
    return model, _randomized(model, seed=1)


def test_imagenet_weights_in_keras_cache_are_loaded_from_there(tmp_path, monkeypatch, reference_backbone):
    model, expected = reference_backbone
    cache = tmp_path / "keras_home" / "models"
    cache.mkdir(parents=True)
    _legacy_h5(model, cache / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    application = "{name: MobileNetV2, alpha: 0.35, include_top: false, pooling: avg, weights: imagenet}"
    backbone = builder.build(write(tmp_path, application, shape="[96, 96, 3]"))["net"].get_layer("backbone")
    for want, got in zip(expected, backbone.weights):
        np.testing.assert_array_equal(got.numpy(), want)


def test_a_weights_file_is_loaded_into_the_backbone(tmp_path, reference_backbone):
    model, expected = reference_backbone
    model.save_weights(tmp_path / "backbone.weights.h5")
    application = ("{name: MobileNetV2, alpha: 0.35, include_top: false, pooling: avg, weights: "
                   f"{tmp_path / 'backbone.weights.h5'}}}")
    backbone = builder.build(write(tmp_path, application, shape="[96, 96, 3]"))["net"].get_layer("backbone")
    assert len(backbone.weights) == len(expected)
    for want, got in zip(expected, backbone.weights):
        np.testing.assert_array_equal(got.numpy(), want)


def test_a_weights_file_of_another_architecture_is_one_line(tmp_path, reference_backbone):
    model, _ = reference_backbone
    model.save_weights(tmp_path / "backbone.weights.h5")
    application = ("{name: MobileNetV2, alpha: 0.5, include_top: false, pooling: avg, weights: "
                   f"{tmp_path / 'backbone.weights.h5'}}}")
    path = write(tmp_path, application, shape="[96, 96, 3]")
    problems = build_error(path)
    assert len(problems) == 1 and "\n" not in problems[0]
    assert problems[0].startswith(f"{path}:6:"), problems
    assert (f"models.net.layers[backbone].application.weights: weights file {tmp_path / 'backbone.weights.h5'} does "
            "not fit `MobileNetV2` with these arguments and input shape (96, 96, 3) (") in problems[0]
    assert problems[0].endswith("); give weights saved from the same architecture")


def test_a_missing_weights_file_is_one_line(tmp_path):
    path = write(tmp_path, "{name: MobileNetV2, alpha: 0.35, include_top: false, weights: no/such.weights.h5}")
    assert build_error(path) == [
        f"{path}:6:101: models.net.layers[backbone].application.weights: weights file no/such.weights.h5 does not "
        f"exist (paths are relative to the working directory {os.getcwd()}); give the path of a .weights.h5 file "
        "saved from `MobileNetV2` with the same arguments, or `weights: none`"]


# Parameter counts of the full models (with the ImageNet classifier) as Keras documents them in each
# constructor's model summary; they do not depend on the input size.
DOCUMENTED = [
    ("MobileNetV2", 3_538_984),
    ("MobileNet", 4_253_864),
    ("DenseNet121", 8_062_504),
    ("EfficientNetB0", 5_330_571),
    ("ResNet50", 25_636_712),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, count", DOCUMENTED, ids=[name for name, _ in DOCUMENTED])
def test_backbones_of_five_families_build_with_their_documented_parameter_counts(tmp_path, name, count):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(f"""\
        kspec: 1
        models:
          net:
            inputs: {{image: [64, 64, 3]}}
            layers:
              - {{name: backbone, application: {{name: {name}}}}}
        """))
    model = builder.build(str(path))["net"]
    assert model.get_layer("backbone").count_params() == count


@pytest.mark.parametrize("family, name", [("mobilenet_v2", "MobileNetV2"), ("resnet", "ResNet50"),
                                          ("densenet", "DenseNet121")])
def test_preprocess_true_applies_the_family_preprocess_input(tmp_path, family, name):
    import keras

    application = f"{{name: {name}, include_top: false, pooling: avg, preprocess: true}}"
    model = builder.build(write(tmp_path, application))["net"]
    layer = model.get_layer("backbone_preprocess")
    pixels = np.random.default_rng(0).uniform(0, 255, size=(2, 4, 4, 3)).astype("float32")
    expected = getattr(keras.applications, family).preprocess_input(pixels.copy())
    np.testing.assert_allclose(np.asarray(layer(pixels)), expected, rtol=1e-5, atol=1e-4)


def test_a_frozen_backbone_keeps_its_weights_and_batch_statistics_in_a_training_step(tmp_path):
    import keras

    model = builder.build(write(tmp_path, trainable=", trainable: false"))["net"]
    backbone, head = model.get_layer("backbone"), model.get_layer("head")
    batch_norms = [layer for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert batch_norms and not backbone.trainable_weights
    frozen_before = [w.numpy() for w in backbone.weights]  # kernels and moving mean / variance
    head_before = [w.numpy() for w in head.weights]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    images = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 32, 32, 3)).astype("float32")
    model.train_on_batch(images, np.arange(8) % 3)
    for before, weight in zip(frozen_before, backbone.weights):
        np.testing.assert_array_equal(weight.numpy(), before, err_msg=weight.path)
    # The head trains (its bias: a frozen randomly initialized MobileNetV2 in inference mode outputs features
    # near 1e-10, too small to move the kernel visibly).
    assert not np.array_equal(head_before[1], head.bias.numpy())


def test_a_trainable_backbone_moves_its_batch_statistics(tmp_path):
    # The counterpart of the test above: the same step does move them when the backbone trains.
    import keras

    model = builder.build(write(tmp_path))["net"]
    norm = next(layer for layer in model.get_layer("backbone").layers
                if isinstance(layer, keras.layers.BatchNormalization))
    before = norm.moving_mean.numpy()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    images = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 32, 32, 3)).astype("float32")
    model.train_on_batch(images, np.arange(8) % 3)
    assert not np.array_equal(norm.moving_mean.numpy(), before)


@pytest.mark.parametrize("application, channels", [
    ("{name: MobileNetV2, alpha: 0.35, include_top: false, pooling: avg}", 3),
    ("{name: MobileNet, alpha: 0.25, include_top: false, pooling: max}", 3),
    ("{name: MobileNetV3Small, minimalistic: true, alpha: 0.75, include_top: false, pooling: avg}", 3),
    ("{name: MobileNetV2, alpha: 0.35, include_top: false, pooling: avg}", 1),   # shape known, count not
    ("{name: MobileNetV2, alpha: 0.35, classes: 7}", 3),                        # with the top: (batch, classes)
])
def test_static_shapes_and_counts_of_backbones_equal_keras(tmp_path, application, channels):
    spec = builder.load_spec(write(tmp_path, application, shape=f"[32, 32, {channels}]"))
    shapes = spec.shapes["net"]
    model = builder.build(spec)["net"]
    backbone = model.get_layer("backbone")
    assert shapes.shape("backbone") == tuple(backbone.output.shape)
    counted = shapes.parameters["backbone"]
    if channels == 3 and "classes" not in application:
        assert counted == backbone.count_params()
        assert shapes.total_parameters == model.count_params()
    else:
        assert counted is None and shapes.total_parameters is None


def test_a_backbone_with_other_arguments_is_a_note_not_a_verdict(tmp_path):
    from kspec.builder.shapes import shape_notes

    spec = builder.load_spec(write(tmp_path, "{name: MobileNet, depth_multiplier: 2, include_top: false, pooling: avg}"))
    assert shape_notes(spec) == [
        f"{tmp_path / 'spec.yaml'}:6:9: models.net.layers[backbone]: note: shape not checked statically: the output of "
        "`MobileNet` is known for its default arguments and widths alpha=0.25, alpha=0.5, alpha=0.75; 1 node after it "
        "unchecked too"]


def test_kspec_layers_lists_the_applications():
    from support import run_cli

    result = run_cli("layers", "--applications")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("40 applications; ")
    assert any(line.split()[:2] == ["MobileNetV2", "mobilenet_v2"] for line in lines)
