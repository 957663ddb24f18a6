"""Heatmaps over images: coarse maps upsampled to the image size, scaled to [0, 1], colored and blended in."""

import numpy as np


def upsample(maps, size):
    """Bilinear resize of maps `(n, h, w)` to `size = (height, width)`; float32 `(n, height, width)`.

    Example:
    >>> upsample(np.ones((2, 4, 4)), (8, 8)).shape
    (2, 8, 8)
    """
    import keras

    maps = np.asarray(maps, dtype="float32")
    if tuple(maps.shape[1:3]) == tuple(size):
        return maps
    resized = keras.ops.image.resize(maps[..., None], tuple(size), interpolation="bilinear", antialias=False)
    return keras.ops.convert_to_numpy(resized)[..., 0]


def scale_each(maps):
    """Each map min-max scaled to [0, 1] on its own (a constant map becomes 0).

    Example:
    >>> scale_each(np.array([[[1.0, 3.0]], [[2.0, 2.0]]])).tolist()
    [[[0.0, 1.0]], [[0.0, 0.0]]]
    """
    maps = np.asarray(maps, dtype="float64")
    low = maps.min(axis=(1, 2), keepdims=True)
    width = maps.max(axis=(1, 2), keepdims=True) - low
    return ((maps - low) / np.where(width > 0, width, 1.0)).astype("float32")


def overlay(images, maps, *, alpha=0.5, colormap="jet"):
    """Blends colored heatmaps over images.

    Args:
        images: `(n, height, width, channels)` in [0, 1], 1 or 3 channels.
        maps: `(n, height, width)` in [0, 1] (see `scale_each`).
        alpha: weight of the heatmap.
        colormap: a Matplotlib colormap name.

    Returns:
        float32 RGB images `(n, height, width, 3)` in [0, 1].

    Example:
    >>> overlay(np.zeros((1, 2, 2, 1)), np.ones((1, 2, 2))).shape
    (1, 2, 2, 3)
    """
    import matplotlib

    images = np.asarray(images, dtype="float32")
    rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images[..., :3]
    heat = matplotlib.colormaps[colormap](np.clip(maps, 0.0, 1.0))[..., :3]
    return ((1.0 - alpha) * rgb + alpha * heat).astype("float32")
