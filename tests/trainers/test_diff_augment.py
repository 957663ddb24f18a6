import keras
import numpy as np
import pytest
import tensorflow as tf

from kspec.trainers import diff_augment
from kspec.trainers.diff_augment import DiffAugment, check_policy, color, cutout, translation


def seed(value=0):
    return keras.random.SeedGenerator(value)


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_translation_moves_each_image_by_whole_pixels_within_an_eighth_of_its_size():
    images = np.zeros((64, 16, 16, 1), "float32")
    images[:, 7, 8, 0] = 1.0
    shifted = numpy(translation(images, seed()))
    offsets = [np.argwhere(image[..., 0] == 1.0)[0] - (7, 8) for image in shifted]
    assert all(np.abs(offset).max() <= 2 for offset in offsets)  # round(16 / 8) = 2
    assert {tuple(o) for o in offsets} >= {(-2, -2), (2, 2), (0, 0)}  # drawn per image, both directions
    np.testing.assert_array_equal(shifted.sum(axis=(1, 2, 3)), 1.0)  # a move, no blur


def test_translation_fills_the_uncovered_border_with_zeros():
    shifted = numpy(translation(np.ones((32, 8, 8, 2), "float32"), seed()))
    for image in shifted:
        covered = image[..., 0] == 1.0
        rows, columns = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
        assert covered.sum() == len(rows) * len(columns)  # the image is a shifted rectangle of ones
        assert len(rows) >= 7 and len(columns) >= 7  # shifted by at most round(8 / 8) = 1
        np.testing.assert_array_equal(image[..., 0], image[..., 1])  # every channel moves alike


def test_cutout_zeroes_one_square_of_half_the_size_possibly_overhanging():
    masked = numpy(cutout(np.ones((64, 8, 8, 3), "float32"), seed()))
    zero_counts = set()
    for image in masked:
        zero = image[..., 0] == 0.0
        rows, columns = np.flatnonzero(zero.any(axis=1)), np.flatnonzero(zero.any(axis=0))
        assert zero.sum() == len(rows) * len(columns) and len(rows) <= 4 and len(columns) <= 4
        assert np.all(image[zero] == 0.0) and np.all(image[~zero] == 1.0)
        zero_counts.add(int(zero.sum()))
    assert 16 in zero_counts and min(zero_counts) < 16  # inside, and cut by the border


def test_color_keeps_a_grey_image_grey_and_shifts_its_brightness():
    grey = np.full((16, 4, 4, 3), 0.25, "float32")
    out = numpy(color(grey, seed()))
    np.testing.assert_allclose(out, out[:, :1, :1, :1] * np.ones_like(out), atol=1e-6)  # saturation, contrast: no-op
    brightness = out[:, 0, 0, 0] - 0.25
    assert np.all(np.abs(brightness) <= 0.5) and brightness.std() > 0.05


def test_color_scales_contrast_around_the_image_mean():
    images = np.random.default_rng(0).normal(size=(8, 4, 4, 1)).astype("float32")
    out = numpy(color(images, seed()))
    # For one channel: out = (x + b - m) * c + m + b with m the mean of x, so out - mean(out) = c (x - m).
    ratio = (out - out.mean(axis=(1, 2, 3), keepdims=True)) / (images - images.mean(axis=(1, 2, 3), keepdims=True))
    contrast = ratio.reshape(8, -1)
    np.testing.assert_allclose(contrast, contrast[:, :1] * np.ones_like(contrast), rtol=1e-4)
    assert np.all((contrast[:, 0] >= 0.5) & (contrast[:, 0] <= 1.5))


def test_policy_is_applied_in_order_with_fresh_draws_per_call():
    augment = DiffAugment(["translation", "cutout", "color"], seed=seed(3))
    images = np.random.default_rng(0).uniform(-1, 1, size=(4, 8, 8, 1)).astype("float32")
    first, second = numpy(augment(images)), numpy(augment(images))
    assert first.shape == images.shape
    assert not np.allclose(first, second)


@pytest.mark.parametrize("name", sorted(diff_augment.POLICIES))
def test_each_augmentation_passes_gradients_to_its_input(name):
    images = tf.Variable(np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32"))
    with tf.GradientTape() as tape:
        out = diff_augment.POLICIES[name](images, seed())
        total = tf.reduce_sum(out * out)
    gradient = tape.gradient(total, images)
    assert gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0


@pytest.mark.parametrize(
    "policy,message",
    [
        (["translation", "cutot"], "Invalid value for argument `diff_augment`: unknown augmentation 'cutot' (did you mean "
         "'cutout'?); expected any of color, translation, cutout. Received: diff_augment=['translation', 'cutot']"),
        ("color", "Invalid value for argument `diff_augment`: expected a non-empty list of color, translation, cutout. "
         "Received: diff_augment='color'"),
        ([], "Invalid value for argument `diff_augment`: expected a non-empty list of color, translation, cutout. "
         "Received: diff_augment=[]"),
        (["color", "color"], "Invalid value for argument `diff_augment`: each augmentation at most once. "
         "Received: diff_augment=['color', 'color']"),
    ],
)
def test_bad_policies_are_refused_in_one_line(policy, message):
    with pytest.raises(ValueError) as error:
        check_policy(policy)
    assert str(error.value) == message
