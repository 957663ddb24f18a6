"""How trainers read a batch: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` as Keras' `fit` hands it over."""

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
