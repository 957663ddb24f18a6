"""Image array conventions shared by the image sources: NHWC float32, optional bilinear resize."""

from kspec.data.lazy_numpy import np


def as_nhwc(images):
    """Adds a trailing channel axis to grayscale `(n, height, width)` images; NHWC input is returned as is.

    Example:
    >>> as_nhwc(np.zeros((2, 8, 8))).shape
    (2, 8, 8, 1)
    """
    images = np.asarray(images)
    return images[..., None] if images.ndim == 3 else images


def resize_images(images, size):
    """Bilinear resize of NHWC images to `size = (height, width)`, as float32 in the same value range.

    Args:
        images: array `(n, height, width, channels)`.
        size: `(height, width)`, or None to keep the size.

    Returns:
        float32 array `(n, *size, channels)`.

    Example:
    >>> resize_images(np.ones((1, 8, 8, 1)), (28, 28)).shape
    (1, 28, 28, 1)
    """
    images = np.asarray(images, dtype="float32")
    if size is None or tuple(images.shape[1:3]) == tuple(size):
        return images
    import tensorflow as tf

    return tf.image.resize(images, size, method="bilinear").numpy().astype("float32")
