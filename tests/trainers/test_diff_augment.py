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


def test_color_is_the_papers_formula_on_the_generators_draws():
    # Brightness, saturation, contrast, each with its own u ~ U(0, 1) per image, drawn in that order.
    images = np.random.default_rng(1).normal(size=(6, 3, 4, 3)).astype("float32")
    out = numpy(color(images, seed(9)))
    draws = seed(9)
    u = [numpy(keras.random.uniform((6, 1, 1, 1), seed=draws)) for _ in range(3)]
    expected = images + (u[0] - 0.5)
    channel_mean = expected.mean(axis=-1, keepdims=True)
    expected = (expected - channel_mean) * (u[1] * 2.0) + channel_mean
    image_mean = expected.mean(axis=(1, 2, 3), keepdims=True)
    expected = (expected - image_mean) * (u[2] + 0.5) + image_mean
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(diff_augment.POLICIES))
def test_the_same_seed_gives_the_same_augmentation(name):
    images = np.random.default_rng(0).uniform(size=(8, 8, 8, 2)).astype("float32")
    first = numpy(diff_augment.POLICIES[name](images, seed(4)))
    np.testing.assert_array_equal(numpy(diff_augment.POLICIES[name](images, seed(4))), first)


def test_a_policy_draws_from_the_seed_it_was_given():
    images = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    policy = ["translation", "cutout", "color"]
    first = numpy(DiffAugment(policy, seed=seed(6))(images))
    np.testing.assert_array_equal(numpy(DiffAugment(policy, seed=seed(6))(images)), first)


@pytest.mark.parametrize("name", sorted(diff_augment.POLICIES))
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_augmented_images_keep_their_dtype_under_mixed_precision(name, dtype):
    images = keras.ops.cast(np.random.default_rng(0).uniform(size=(2, 8, 8, 1)), dtype)
    assert keras.backend.standardize_dtype(diff_augment.POLICIES[name](images, seed()).dtype) == dtype


def test_rectangular_images_move_by_an_eighth_of_each_side():
    images = np.zeros((128, 16, 8, 1), "float32")
    images[:, 8, 4, 0] = 1.0
    shifted = numpy(translation(images, seed(2)))
    offsets = np.array([np.argwhere(image[..., 0] == 1.0)[0] - (8, 4) for image in shifted])
    assert set(offsets[:, 0]) == {-2, -1, 0, 1, 2} and set(offsets[:, 1]) == {-1, 0, 1}


def test_rectangular_images_lose_a_rectangle_of_half_each_side():
    masked = numpy(cutout(np.ones((64, 8, 16, 1), "float32"), seed(2)))
    for image in masked:
        zero = image[..., 0] == 0.0
        assert zero.any(axis=1).sum() <= 4 and zero.any(axis=0).sum() <= 8
    assert max(int((image[..., 0] == 0.0).sum()) for image in masked) == 4 * 8


def test_a_shift_matrix_moves_row_i_minus_offset_to_row_i():
    rows = numpy(diff_augment._shift_matrices(4, keras.ops.convert_to_tensor([1, -1]), "float32"))
    np.testing.assert_array_equal(rows @ np.arange(4.0), [[0, 0, 1, 2], [1, 2, 3, 0]])


@pytest.mark.parametrize("size, length", [(8, 4), (8, 3), (5, 2)])
def test_a_cut_band_starts_at_every_position_the_papers_code_allows(size, length):
    # The centre is uniform over size + 1 - length % 2 positions; the band covers [centre - length // 2, + length).
    bands = numpy(diff_augment._cut_band(np.zeros((4000, size, 1, 1), "float32"), size, length, seed(3)))
    starts = set()
    for band in bands:
        inside = np.flatnonzero(band)
        assert 0 < len(inside) <= length and np.all(np.diff(inside) == 1)
        starts.add(int(inside[-1]) - length + 1 if inside[0] == 0 else int(inside[0]))
    assert starts == set(range(-(length // 2), size + 1 - length % 2 - length // 2))


@pytest.mark.parametrize("policy", [5, {"color"}, None])
def test_a_policy_that_is_not_a_list_is_refused(policy):
    with pytest.raises(ValueError) as error:
        check_policy(policy)
    assert str(error.value) == ("Invalid value for argument `diff_augment`: expected a non-empty list of color, "
                                f"translation, cutout. Received: diff_augment={policy!r}")


def test_an_unknown_name_like_none_of_the_policies_gets_no_hint():
    with pytest.raises(ValueError) as error:
        check_policy(["zoom"])
    assert str(error.value) == ("Invalid value for argument `diff_augment`: unknown augmentation 'zoom'; expected any "
                                "of color, translation, cutout. Received: diff_augment=['zoom']")
