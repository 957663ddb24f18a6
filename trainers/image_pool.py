"""A history of generated images for discriminator updates (Shrivastava et al. 2017, sec. 2.3)."""

import keras
from keras import ops


class ImagePool(keras.layers.Layer):
    """Hands the discriminator a mix of the newest generated images and ones from earlier steps.

    A discriminator trained only on the latest generator output forgets what earlier outputs looked like, and
    the generator can cycle back to them; Shrivastava et al. (2017) update it with a buffer of past fakes,
    and CycleGAN (Zhu et al. 2017, sec. 4) keeps the last 50. Per image of a batch, in order: while fewer
    than `size` images are stored, the image is stored and returned; once the pool is full, with probability
    1/2 a uniformly chosen stored image is returned and the new image takes its place, otherwise the new
    image is returned and the pool is left as it is.

    The pool and its fill count are (non-trainable) variables and the coin flips come from a
    `keras.random.SeedGenerator`, so the pool works inside a compiled `train_step` and is saved with the
    trainer's checkpoints.

    Args:
        size: images kept (50 in CycleGAN); 0 returns every batch unchanged.
        seed: integer seed of the draws, or None.
        **kwargs: base `keras.layers.Layer` arguments (`name`).

    Call arguments:
        images: a batch of generated images `(batch, height, width, channels)` (the shape the pool was built
            with); treat them as constants (`ops.stop_gradient`) before.

    Returns:
        A batch of the same shape.

    Example:
    >>> import numpy as np
    >>> pool = ImagePool(size=2, seed=0)
    >>> first = pool(np.zeros((2, 1, 1, 1), "float32"))  # fills the pool, returned as they are
    >>> int(pool.count), [float(v) for v in keras.ops.ravel(first)]
    (2, [0.0, 0.0])
    >>> mixed = keras.ops.convert_to_numpy(pool(np.ones((64, 1, 1, 1), "float32"))).ravel()
    >>> sorted(set(mixed.tolist())), int(pool.count)  # old zeros come back once, then the ones stored
    ([0.0, 1.0], 2)
    """

    def __init__(self, size=50, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"Invalid value for argument `size`: expected an integer >= 0. Received: size={size!r}")
        self.size = size
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        image_shape = tuple(input_shape[1:])
        if any(d is None for d in image_shape):
            if self.size:
                raise ValueError(
                    f"An image pool needs images of a fixed shape. Received: input_shape={tuple(input_shape)}")
            image_shape = tuple(0 if d is None else d for d in image_shape)  # an empty pool: no shape to know
        self.images = self.add_weight(name="images", shape=(self.size, *image_shape), initializer="zeros",
                                      trainable=False)
        self.count = self.add_weight(name="count", shape=(), initializer="zeros", dtype="int32", trainable=False)

    def call(self, images):
        if not self.size:
            return images
        batch = ops.shape(images)[0]
        # Drawn for the whole batch up front; the loop below only reads them.
        coins = keras.random.uniform((batch,), seed=self.seed_generator)
        slots = keras.random.randint((batch,), 0, self.size, seed=self.seed_generator)

        def one_image(index, state):
            pool, count, outputs = state
            image = images[index]
            filling = count < self.size
            swap = ops.logical_and(ops.logical_not(filling), coins[index] < 0.5)
            slot = ops.where(filling, count, slots[index])
            stored = ops.take(pool, slot, axis=0)
            kept = ops.where(ops.logical_or(filling, swap), image, stored)
            pool = ops.scatter_update(pool, ops.reshape(slot, (1, 1)), kept[None])
            outputs = ops.scatter_update(outputs, ops.reshape(index, (1, 1)), ops.where(swap, stored, image)[None])
            return pool, ops.minimum(count + 1, self.size), outputs

        pool, count, outputs = ops.fori_loop(
            0, batch, one_image, (ops.convert_to_tensor(self.images), ops.convert_to_tensor(self.count),
                                  ops.zeros_like(images)))
        self.images.assign(pool)
        self.count.assign(count)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "seed": self.seed})
        return config
