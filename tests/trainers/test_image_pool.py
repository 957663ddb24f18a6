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


def test_an_empty_pool_takes_images_of_an_open_size():
    pool = ImagePool(size=0)
    pool.build((None, None, None, 3))
    assert tuple(pool.images.shape) == (0, 0, 0, 3)
    np.testing.assert_array_equal(pool(labelled([5, 6])), labelled([5, 6]))


def test_images_of_an_open_size_are_refused():
    with pytest.raises(ValueError) as error:
        ImagePool(size=3).build((None, None, 8, 1))
    assert str(error.value) == "An image pool needs images of a fixed shape. Received: input_shape=(None, None, 8, 1)"


def test_negative_size_is_refused():
    with pytest.raises(ValueError) as error:
        ImagePool(size=-1)
    assert str(error.value) == "Invalid value for argument `size`: expected an integer >= 0. Received: size=-1"


def test_the_default_size_is_cyclegans_fifty():
    assert ImagePool().size == 50


@pytest.mark.parametrize("size", [True, 2.0, "3"])
def test_a_size_that_is_not_an_integer_is_refused(size):
    with pytest.raises(ValueError, match=r"expected an integer >= 0\. Received: size="):
        ImagePool(size=size)


def test_the_pool_starts_empty_in_two_non_trainable_variables():
    pool = ImagePool(size=3)
    pool.build((None, 2, 2, 1))
    assert pool.trainable_weights == []
    assert [(w.name, tuple(w.shape), w.dtype) for w in pool.non_trainable_weights] == [
        ("images", (3, 2, 2, 1), "float32"), ("count", (), "int32")]
    assert not np.asarray(pool.images).any() and int(pool.count) == 0


def test_the_configuration_recreates_the_pool():
    config = ImagePool(size=4, seed=11, name="pool_a").get_config()
    assert (config["size"], config["seed"], config["name"]) == (4, 11, "pool_a")
    copy = ImagePool.from_config(config)
    assert (copy.size, copy.seed) == (4, 11)


def test_a_swapped_image_comes_back_whole():
    # Images of several pixels: what the pool returns is one stored image, not one value spread over an image.
    pool = ImagePool(size=2, seed=5)
    stored = np.arange(8, dtype="float32").reshape(2, 2, 2, 1)
    pool(stored)
    returned = np.asarray(pool(np.full((16, 2, 2, 1), -1.0, "float32")))
    swapped = [image for image in returned if not (image == -1).all()]
    assert swapped, "with 16 draws of probability 1/2 at least one comes from the pool"
    for image in swapped:
        assert any(np.array_equal(image, original) for original in stored)


def test_every_slot_of_a_full_pool_can_be_swapped_out():
    pool = ImagePool(size=2, seed=1)
    pool(labelled([-1, -2]))
    returned = labels(pool(labelled(range(64))))
    assert -1 in returned and -2 in returned  # the first slot as well as the last
