"""How trainers read a batch: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` as Keras' `fit` hands it over,
and `(a, b)` of two image domains for the translation trainers."""

import keras


def unpack_images_and_labels(data):
    """Splits a training batch into images and (optional) labels.

    Args:
        data: what `fit` passes to `train_step`.

    Returns:
        `(images, labels)`; `labels` is None when the batch has none. For autoencoders fed `(x, x)`, the
        "labels" are the images again and the trainers ignore them.

    Example:
    >>> unpack_images_and_labels(([1.0], [0]))
    ([1.0], [0])
    """
    images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
    return images, labels


def unpack_image_pairs(data):
    """Splits a batch of the translation trainers into images of domain A and of domain B.

    Args:
        data: what `fit` passes to `train_step`: `(a, b)` from `fit(a, b)` or a two-domain dataset.

    Returns:
        `(a, b)`.

    Raises:
        ValueError: for a batch of one domain only.

    Example:
    >>> unpack_image_pairs(([0.0], [1.0]))
    ([0.0], [1.0])
    """
    images_a, images_b, _ = keras.utils.unpack_x_y_sample_weight(data)
    if images_b is None:
        raise ValueError("The translation trainers expect batches `(images of A, images of B)`. Received: one "
                         "array; give both domains, e.g. `fit(a, b)` or a data source with two domains")
    return images_a, images_b
