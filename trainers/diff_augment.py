"""Differentiable augmentation for GANs (DiffAugment, Zhao et al. 2020).

A discriminator trained on few images memorizes them. DiffAugment applies the same random transformations to
real *and* generated images every time the discriminator sees them, in the discriminator step and in the
generator step, so the discriminator never sees an unaugmented image and the generator is never pushed to
reproduce the augmentations. The transformations are made of differentiable tensor operations, so the
generator's gradient passes through them.

The three policies of the paper (defaults of its reference implementation), on channels-last images
`(batch, height, width, channels)` in any value range:

- `color`: brightness `x + (u - 0.5)`, saturation `(x - mean_c) * 2u + mean_c`, contrast
  `(x - mean) * (u + 0.5) + mean`, one `u ~ U(0, 1)` per image and transformation;
- `translation`: a shift of up to 1/8 of the image size (rounded) in each direction, integer pixels, zero fill;
- `cutout`: a zeroed square of half the image size whose centre is uniform over the image.

Every image of a batch gets its own draw; two calls draw independently.
"""

import difflib

import keras
from keras import ops

TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def color(images, seed):
    """Random brightness, saturation and contrast per image (Zhao et al. 2020, `color` policy)."""
    batch = ops.shape(images)[0]

    def uniform():
        return keras.random.uniform((batch, 1, 1, 1), dtype=images.dtype, seed=seed)

    images = images + (uniform() - 0.5)
    channel_mean = ops.mean(images, axis=-1, keepdims=True)
    images = (images - channel_mean) * (uniform() * 2.0) + channel_mean
    image_mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - image_mean) * (uniform() + 0.5) + image_mean


def translation(images, seed, ratio=TRANSLATION_RATIO):
    """Shifts each image by whole pixels, up to `ratio` of its size each way; uncovered pixels become 0.

    The shift is a product with 0/1 shift matrices (`out = S_rows @ image @ S_cols^T` per channel): backend
    neutral, differentiable in the image, and cheap at the image sizes GANs here train on.
    """
    height, width = images.shape[1], images.shape[2]
    rows = _shift_matrices(height, _offsets(images, height, ratio, seed), images.dtype)
    columns = _shift_matrices(width, _offsets(images, width, ratio, seed), images.dtype)
    shifted = ops.einsum("bik,bkwc->biwc", rows, images)
    return ops.einsum("bjl,bilc->bijc", columns, shifted)


def cutout(images, seed, ratio=CUTOUT_RATIO):
    """Zeroes one square of `ratio` times the image size per image; the square may overhang the border."""
    height, width = images.shape[1], images.shape[2]
    inside_rows = _cut_band(images, height, int(height * ratio + 0.5), seed)
    inside_columns = _cut_band(images, width, int(width * ratio + 0.5), seed)
    keep = 1.0 - inside_rows[:, :, None, None] * inside_columns[:, None, :, None]
    return images * keep


def _offsets(images, size, ratio, seed):
    """One integer shift per image, uniform in [-round(size * ratio), round(size * ratio)]."""
    limit = int(size * ratio + 0.5)
    return keras.random.randint((ops.shape(images)[0],), -limit, limit + 1, seed=seed)


def _shift_matrices(size, offsets, dtype):
    """`(batch, size, size)` matrices with a 1 at `[i, i - offset]`: row `i` of the output is input row `i - offset`."""
    target = ops.arange(size)[None, :, None]
    source = ops.arange(size)[None, None, :]
    return ops.cast(ops.equal(source, target - offsets[:, None, None]), dtype)


def _cut_band(images, size, length, seed):
    """`(batch, size)` indicators of `length` consecutive positions centred on a uniform position per image.

    As in the paper's code, the centre ranges over `size + 1 - length % 2` positions, so an even-length band
    can also overhang the far border by half its length.
    """
    centre = keras.random.randint((ops.shape(images)[0], 1), 0, size + 1 - length % 2, seed=seed)
    start = centre - length // 2
    positions = ops.arange(size)[None, :]
    return ops.cast(ops.logical_and(positions >= start, positions < start + length), images.dtype)


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment:
    """Applies a DiffAugment policy to image batches, each call with fresh random draws.

    Args:
        policy: names from `POLICIES` (`color`, `translation`, `cutout`), applied in this order (the paper's
            recommendation for small data is all three: `["translation", "cutout", "color"]`).
        seed: a `keras.random.SeedGenerator` (or integer seed) the draws come from.

    Example:
    >>> import numpy as np
    >>> augment = DiffAugment(["translation", "cutout"], seed=keras.random.SeedGenerator(0))
    >>> tuple(augment(np.ones((2, 8, 8, 1), "float32")).shape)
    (2, 8, 8, 1)
    """

    def __init__(self, policy, seed=None):
        self.policy = check_policy(policy)
        self.seed = seed

    def __call__(self, images):
        images = ops.convert_to_tensor(images)
        for name in self.policy:
            images = POLICIES[name](images, self.seed)
        return images


def check_policy(policy, argument="diff_augment"):
    """The policy as a tuple of known names; a `ValueError` in Keras' words otherwise.

    Example:
    >>> check_policy(["translation", "color"])
    ('translation', 'color')
    """
    expected = ", ".join(POLICIES)
    if isinstance(policy, str) or not isinstance(policy, (list, tuple)) or not policy:
        raise ValueError(f"Invalid value for argument `{argument}`: expected a non-empty list of {expected}. "
                         f"Received: {argument}={policy!r}")
    for name in policy:
        if name not in POLICIES:
            close = difflib.get_close_matches(str(name), list(POLICIES), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"Invalid value for argument `{argument}`: unknown augmentation {name!r}{hint}; "
                             f"expected any of {expected}. Received: {argument}={list(policy)!r}")
    if len(set(policy)) != len(policy):
        raise ValueError(f"Invalid value for argument `{argument}`: each augmentation at most once. "
                         f"Received: {argument}={list(policy)!r}")
    return tuple(policy)
