"""The image history pool: filling, swapping with probability 1/2 once full, state in variables, in tf.function."""

import numpy as np
import pytest
import tensorflow as tf

from kspec.trainers.image_pool import ImagePool


def labelled(values):
    """1x1 images whose single pixel is their label."""
    return np.asarray(values, "float32").reshape(-1, 1, 1, 1)


def labels(images):
    return np.asarray(images).ravel().tolist()


def test_while_filling_images_are_returned_and_stored_in_order():
    pool = ImagePool(size=5, seed=0)
    assert labels(pool(labelled([1, 2, 3]))) == [1, 2, 3]
    assert labels(pool(labelled([4]))) == [4]
    assert int(pool.count) == 4 and labels(pool.images)[:4] == [1, 2, 3, 4]


def test_once_full_half_the_images_come_from_the_pool_and_nothing_is_lost():
    pool = ImagePool(size=10, seed=3)
    query = tf.function(pool.__call__)  # compiled: state in variables, draws from the seed generator
    query(labelled(range(-10, 0)))  # fill with -10 .. -1
    from_pool, new_labels = 0, 1000
    for _ in range(40):
        before = labels(pool.images)
        batch = list(range(new_labels, new_labels + 10))
        new_labels += 10
        returned = labels(query(labelled(batch)))
        after = labels(pool.images)
        # Every image either comes back at once or is stored in place of the one returned.
        assert sorted(before + batch) == sorted(after + returned)
        # A stored image (possibly one stored earlier in this batch) instead of the image itself.
        from_pool += sum(value != image for value, image in zip(returned, batch))
    assert int(pool.count) == 10
    assert 0.42 <= from_pool / 400 <= 0.58  # probability 1/2; 400 draws, std 0.025


def test_the_same_seed_gives_the_same_choices():
    results = []
    for _ in range(2):
        pool = ImagePool(size=4, seed=7)
        pool(labelled([-1, -2, -3, -4]))
        results.append(labels(pool(labelled(range(16)))))
    assert results[0] == results[1]


def test_size_zero_returns_every_batch_unchanged():
    pool = ImagePool(size=0)
    np.testing.assert_array_equal(pool(labelled([5, 6])), labelled([5, 6]))


def test_images_of_an_open_size_are_refused():
    with pytest.raises(ValueError) as error:
        ImagePool(size=3).build((None, None, 8, 1))
    assert str(error.value) == "An image pool needs images of a fixed shape. Received: input_shape=(None, None, 8, 1)"


def test_negative_size_is_refused():
    with pytest.raises(ValueError) as error:
        ImagePool(size=-1)
    assert str(error.value) == "Invalid value for argument `size`: expected an integer >= 0. Received: size=-1"
