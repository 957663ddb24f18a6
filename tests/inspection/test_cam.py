"""CAM and Grad-CAM against closed forms, layer choice, and maps that find the object on `shapes`."""

import os

import numpy as np
import pytest
from support import run_cli

from kspec import builder
from kspec.inspection.cam import choose_target, class_activation_maps, grad_cam, peaks_inside

GAP_SPEC = """
kspec: 1
models:
  net:
    inputs: {image: [4, 5, 2]}
    layers:
      - {name: features, conv2d: {filters: 3, kernel_size: 1, use_bias: false}}
      - {name: pool, global_average_pooling2d: {}}
      - dropout: {rate: 0.5}
      - {name: probabilities, dense: {units: 2, activation: softmax}}
"""

FLAT_SPEC = """
kspec: 1
models:
  net:
    inputs: {image: [3, 3, 2]}
    layers:
      - {name: features, conv2d: {filters: 2, kernel_size: 1, use_bias: false}}
      - flatten:
      - {name: hidden, dense: {units: 4, activation: relu}}
      - {name: probabilities, dense: {units: 3, activation: softmax}}
"""


def build(write_spec, text):
    import keras

    keras.utils.set_random_seed(0)
    spec = builder.load_spec(write_spec(text))
    return spec.models["net"], builder.build(spec)["net"]


def test_cam_equals_the_closed_form_of_a_gap_classifier(write_spec):
    graph, model = build(write_spec, GAP_SPEC)
    target = choose_target(graph, model)
    assert (target.layer, target.method) == ("features", "cam")
    images = np.random.default_rng(0).normal(size=(3, 4, 5, 2)).astype("float32")
    conv = model.get_layer("features").kernel.numpy()[0, 0]  # (2, 3): a 1x1 convolution is a matrix product
    dense = model.get_layer("probabilities").kernel.numpy()  # (3, 2)
    features = images @ conv                                 # f_k(x, y)
    classes = np.array([0, 1, 1])
    expected = np.stack([features[i] @ dense[:, c] for i, c in enumerate(classes)])  # sum_k w_k^c f_k(x, y)
    maps = class_activation_maps(model, "features", target.dense, images, classes)
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6)
    # The map's mean plus the bias is the class score before the softmax (Zhou et al. 2016).
    bias = model.get_layer("probabilities").bias.numpy()
    scores = features.mean(axis=(1, 2)) @ dense + bias
    np.testing.assert_allclose(maps.mean(axis=(1, 2)) + bias[classes], scores[np.arange(3), classes], rtol=1e-5)


def test_grad_cam_of_a_gap_classifier_is_relu_of_cam_over_the_area(write_spec):
    graph, model = build(write_spec, GAP_SPEC)
    images = np.random.default_rng(1).normal(size=(2, 4, 5, 2)).astype("float32")
    classes = np.array([1, 0])
    cam = class_activation_maps(model, "features", model.get_layer("probabilities"), images, classes)
    np.testing.assert_allclose(grad_cam(model, graph, "features", images, classes), np.maximum(cam, 0) / 20,
                               rtol=1e-5, atol=1e-7)


def test_grad_cam_matches_the_hand_computed_gradient(write_spec):
    graph, model = build(write_spec, FLAT_SPEC)
    target = choose_target(graph, model)
    assert (target.layer, target.method) == ("features", "grad-cam")  # no GAP head: the last conv node
    images = np.random.default_rng(2).normal(size=(4, 3, 3, 2)).astype("float32")
    classes = np.array([0, 1, 2, 1])
    conv = model.get_layer("features").kernel.numpy()[0, 0]
    w1, b1 = (v.numpy() for v in model.get_layer("hidden").weights)    # (18, 4), (4,)
    w2 = model.get_layer("probabilities").kernel.numpy()              # (4, 3)
    expected = []
    for image, c in zip(images, classes):
        features = image @ conv                                        # A: (3, 3, 2)
        active = (features.reshape(-1) @ w1 + b1) > 0                  # relu'
        # y^c = w2[:, c] . relu(W1^T flat(A) + b1) + b2[c], so dy^c/dA = reshape(W1 (w2[:, c] * relu')).
        gradient = (w1 @ (w2[:, c] * active)).reshape(3, 3, 2)
        alpha = gradient.mean(axis=(0, 1))                             # Selvaraju et al. 2017, eq. 1
        expected.append(np.maximum(features @ alpha, 0.0))             # eq. 2
    np.testing.assert_allclose(grad_cam(model, graph, "features", images, classes), np.stack(expected),
                               rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("layer, method, message", [
    ("featurs", "auto", "--layer: no node `featurs` in model `net` (did you mean 'features'?)"),
    ("hidden", "auto", "--layer: node `hidden` outputs shape (4,); class activation maps need a 2-D feature map "
                       "(height, width, channels)"),
    ("features", "cam", "--method: CAM needs a GAP classifier's feature map: model `net` does not end in global "
                        "average pooling and one dense layer; use --method grad-cam"),
])
def test_layer_and_method_errors_are_one_line(write_spec, layer, method, message):
    from kspec.errors import SpecError

    graph, model = build(write_spec, FLAT_SPEC)
    with pytest.raises(SpecError) as error:
        choose_target(graph, model, layer, method)
    assert str(error.value) == message


@pytest.fixture(scope="module")
def shapes_test_images(tmp_path_factory):
    """64 one-shape images the shapes run never saw (another seed), with their masks."""
    from kspec.data.shapes import draw_shapes

    images, masks, _ = draw_shapes(64, (32, 32), seed=1234, max_shapes=1)
    path = tmp_path_factory.mktemp("shapes") / "shapes.npz"
    np.savez(path, x=images)
    return path, masks


def test_cam_peaks_inside_the_object_on_shapes(shapes_run, shapes_test_images, tmp_path):
    from PIL import Image

    path, masks = shapes_test_images
    result = run_cli("cam", shapes_run, "--input", path, "-o", tmp_path / "cam.png")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"cam on `features`: wrote {tmp_path / 'cam.png'} and {tmp_path / 'cam.npz'}"
    maps = np.load(tmp_path / "cam.npz")
    assert maps["maps"].shape == (64, 8, 8) and maps["upsampled"].shape == (64, 32, 32)
    inside = peaks_inside(maps["upsampled"], masks)
    # Objects cover about 13% of each image: a map peaking at random would hit one that often.
    assert (masks > 0).mean() < 0.2
    assert inside.mean() >= 0.85, f"the CAM peak lies in the object in only {inside.mean():.0%} of images"
    # 64 images, 8 per row: 8 rows of originals, each followed by its row of heatmaps.
    assert Image.open(tmp_path / "cam.png").size == (8 * 33 - 1, 16 * 33 - 1)


def test_grad_cam_of_a_named_class_on_a_cnn_run(cnn_run, raw_digits, tmp_path):
    result = run_cli("cam", cnn_run, "--input", raw_digits, "-o", tmp_path / "g.png", "--class", "3")
    assert result.exit_code == 0, result.output
    # The cnn has no GAP head: Grad-CAM on its last convolution (6x6 for 28x28 inputs).
    assert result.stdout.startswith("grad-cam on `conv2d_1`")
    maps = np.load(tmp_path / "g.npz")
    assert maps["maps"].shape == (12, 6, 6) and maps["classes"].tolist() == [3] * 12
    assert np.all(maps["maps"] >= 0)


@pytest.mark.parametrize("arguments, message", [
    (["--class", "eleven"], "--class: expected a class index below 10 or one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9. "
                            "Received: 'eleven'"),
    (["--layer", "conv2d_2"], "--layer: no node `conv2d_2` in model `classifier` (did you mean 'conv2d_1', "
                              "'conv2d'?)"),
])
def test_cam_option_errors_are_one_line(cnn_run, raw_digits, tmp_path, arguments, message):
    result = run_cli("cam", cnn_run, "--input", raw_digits, "-o", tmp_path / "c.png", *arguments)
    assert result.exit_code == 1
    assert result.stderr.strip() == message
    assert not os.path.exists(tmp_path / "c.png")


def test_cam_refuses_images_of_another_shape(cnn_run, tmp_path):
    np.savez(tmp_path / "small.npz", x=np.zeros((2, 8, 8, 1)))
    result = run_cli("cam", cnn_run, "--input", tmp_path / "small.npz", "-o", tmp_path / "c.png")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"{tmp_path / 'small.npz'}: --input: expected examples of shape (28, 28, 1), "
                                     "the run's inputs. Received: x of shape (2, 8, 8, 1)")


def test_cam_refuses_a_generative_run(vae_run, raw_digits, tmp_path):
    result = run_cli("cam", vae_run, "--input", raw_digits, "-o", tmp_path / "c.png")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"RUN_DIR: {vae_run} trained a `vae` model; `kspec cam` needs a supervised run "
                                     "(a spec without `training.trainer`)")
