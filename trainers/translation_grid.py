"""Showing translations: rows A | G(A) | F(G(A)) as one image, and a callback that saves them after each epoch."""

import keras
import numpy as np

from kspec.trainers.sample_grid import SampleGrid, image_grid


def translate_in_batches(generator, images, batch_size=32):
    """`generator(images)` in inference mode, `batch_size` images at a time, as one numpy array.

    Direct calls rather than `predict`, which traces a function per model: a grid of a few images is done
    before a trace would be.

    Example:
    >>> double = keras.Sequential([keras.Input((2,)), keras.layers.Rescaling(2.0)])
    >>> translate_in_batches(double, np.ones((5, 2)), batch_size=2).tolist()[-1]
    [2.0, 2.0]
    """
    images = np.asarray(images, "float32")
    parts = [keras.ops.convert_to_numpy(generator(images[start:start + batch_size], training=False))
             for start in range(0, len(images), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, *generator.outputs[0].shape[1:]), "float32")


def translation_grid(columns, value_range=None):
    """Tiles image columns side by side: row `i` shows `columns[0][i] | columns[1][i] | ...`.

    Grayscale columns are shown in RGB when another column has colour, so domains with different channel
    counts share one grid.

    Args:
        columns: a list of image batches of equal length and height and width, e.g. `[a, G(a), F(G(a))]`.
        value_range: pixel range of the images, see `image_grid`.

    Returns:
        A uint8 array, one row per example and one column per batch.

    Example:
    >>> translation_grid([np.zeros((2, 3, 3, 1)), np.ones((2, 3, 3, 3))], value_range=(0, 1)).shape
    (7, 7, 3)
    """
    columns = [np.asarray(c, "float32") for c in columns]
    columns = [c if c.ndim == 4 else c[..., None] for c in columns]
    channels = max(c.shape[-1] for c in columns)
    columns = [np.repeat(c, channels, axis=-1) if c.shape[-1] == 1 else c for c in columns]
    rows = np.stack(columns, axis=1)  # (examples, columns, height, width, channels)
    return image_grid(rows.reshape(-1, *rows.shape[2:]), columns=len(columns), value_range=value_range)


class TranslationGrid(SampleGrid):
    """After every `every` epochs, writes `translations_<name>_<epoch>.png` for each row set of the trainer.

    The trainer's `translation_rows(a, b)` names the row sets: CycleGAN gives `ab` (A | G(A) | F(G(A))) and
    `ba` (B | F(B) | G(F(B))), pix2pix `ab` (A | G(A) | B). The same images every epoch show the progress.
    Written like `SampleGrid`'s grids (atomically, and to TensorBoard with `log_dir`).

    Args:
        directory: where the PNGs go (created if missing).
        a_images, b_images: a few validation images of each domain (as the model takes them).
        log_dir: optional TensorBoard log directory.
        value_range: pixel range of the images, see `image_grid`.
        every: write every this many epochs.

    Example:
    >>> callback = TranslationGrid("samples", np.zeros((4, 8, 8, 1)), np.zeros((4, 8, 8, 1)))
    >>> len(callback.a_images)
    4
    """

    def __init__(self, directory, a_images, b_images, log_dir=None, value_range=None, every=1):
        super().__init__(directory, log_dir=log_dir, value_range=value_range, every=every)
        self.a_images = np.asarray(a_images)
        self.b_images = np.asarray(b_images)

    def grids(self):
        rows = self.model.translation_rows(self.a_images, self.b_images)
        return {f"translations_{name}": translation_grid(columns, self.value_range) for name, columns in rows.items()}
