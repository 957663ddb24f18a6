"""A callback that saves a grid of generated images (and reconstructions) after each epoch."""

import os
import tempfile

import keras
import numpy as np

from kspec.atomic import publish


def image_grid(images, columns=None, value_range=None, padding=1):
    """Tiles a batch of images into one uint8 image.

    Args:
        images: array `(n, height, width)` or `(n, height, width, channels)` with 1 or 3 channels.
        columns: images per row; default the ceiling of sqrt(n).
        value_range: `(low, high)` mapped to 0..255; default `(-1, 1)` when any value is negative (tanh
            generators), else `(0, 1)`.
        padding: pixels of black between images.

    Returns:
        A uint8 array `(rows * (height + padding) - padding, columns * (width + padding) - padding, channels)`.

    Example:
    >>> image_grid(np.ones((4, 2, 2, 1)), padding=0).shape
    (4, 4, 1)
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            "Invalid value for argument `images`: expected shape (n, height, width[, 1 or 3]). "
            f"Received: images.shape={images.shape}"
        )
    if value_range is None:
        value_range = (-1.0, 1.0) if images.min() < 0 else (0.0, 1.0)
    low, high = value_range
    scaled = np.clip((images - low) / (high - low), 0.0, 1.0)
    count, height, width, channels = scaled.shape
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    grid = np.zeros((rows * (height + padding) - padding, columns * (width + padding) - padding, channels), "float32")
    for index, image in enumerate(scaled):
        top = (index // columns) * (height + padding)
        left = (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return np.round(grid * 255.0).astype("uint8")


def write_png(grid, path):
    """Writes a uint8 `(height, width, 1 or 3)` array as a PNG, atomically (temporary file, then rename).

    A reader (TensorBoard, a browser refreshing the run directory) never sees a half-written file.

    Args:
        grid: the image, e.g. from `image_grid`.
        path: destination file.

    Returns:
        `path`.

    Example:
    >>> import tempfile
    >>> path = write_png(np.zeros((2, 2, 1), "uint8"), os.path.join(tempfile.mkdtemp(), "g.png"))
    >>> os.path.exists(path)
    True
    """
    from PIL import Image

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    image = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    # `.tmp-` like every temporary file of kspec: a resumed run deletes the ones a kill left behind.
    descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as file:
            image.save(file, format="PNG")
        publish(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


class SampleGrid(keras.callbacks.Callback):
    """After every `every` epochs, and after the last one, writes `samples_<epoch>.png` from `sample(n, seed)`.

    The same seed every epoch shows the same latents, so successive grids show training progress. With
    `images`, and a trainer that has `reconstruct` (VAE, AAE), also writes `reconstructions_<epoch>.png`:
    rows alternate originals and their reconstructions.

    Args:
        directory: where the PNGs go (created if missing).
        num_samples: images per sample grid.
        seed: integer seed of the latent draw.
        images: optional batch of real images to reconstruct.
        log_dir: optional TensorBoard log directory; the grids are also written there with `tf.summary.image`.
        value_range: pixel range of the images, see `image_grid`.
        every: write every this many epochs.

    Example:
    >>> callback = SampleGrid(tempfile.mkdtemp(), num_samples=4)
    >>> callback.num_samples
    4
    """

    def __init__(self, directory, num_samples=16, seed=0, images=None, log_dir=None, value_range=None, every=1):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"Invalid value for argument `every`: expected an integer >= 1. Received: every={every!r}")
        self.directory = directory
        self.num_samples = num_samples
        self.seed = seed
        self.images = None if images is None else np.asarray(images)
        self.log_dir = log_dir
        self.value_range = value_range
        self.every = every
        self._writer = None
        self._unwritten = None  # the last finished epoch, while its grid is not written

    def on_epoch_end(self, epoch, logs=None):
        self._unwritten = epoch
        if (epoch + 1) % self.every == 0:
            self._write(epoch)

    def on_train_end(self, logs=None):
        # A run whose epoch count is no multiple of `every` still ends with a grid of its final model, unless
        # training stopped on a non-finite loss (its weights are no longer finite): there is no model to show.
        if self._unwritten is not None and all(np.isfinite(w).all() for w in self.model.get_weights()):
            self._write(self._unwritten)

    def _write(self, epoch):
        self._unwritten = None
        number = epoch + 1
        grids = self.grids()
        for name, grid in grids.items():
            write_png(grid, os.path.join(self.directory, f"{name}_{number:04d}.png"))
        if self.log_dir:
            self._write_summaries(grids, number)

    def grids(self):
        """The images to write this epoch, by file name prefix."""
        grids = {"samples": image_grid(self.model.sample(self.num_samples, seed=self.seed), value_range=self.value_range)}
        if self.images is not None and hasattr(self.model, "reconstruct"):
            grids["reconstructions"] = self._reconstruction_grid()
        return grids

    def _reconstruction_grid(self):
        originals = self.images
        reconstructions = self.model.reconstruct(originals)
        columns = int(np.ceil(np.sqrt(len(originals))))
        rows = []
        for start in range(0, len(originals), columns):
            rows.extend([originals[start : start + columns], reconstructions[start : start + columns]])
        pad = columns - len(rows[-1])
        if pad:  # keep pairs of rows aligned when the last row is short
            rows[-2:] = [np.concatenate([r, np.zeros((pad, *r.shape[1:]), r.dtype)]) for r in rows[-2:]]
        return image_grid(np.concatenate(rows), columns=columns, value_range=self.value_range)

    def _write_summaries(self, grids, step):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            for name, grid in grids.items():
                tf.summary.image(name, grid[None], step=step)
        self._writer.flush()
