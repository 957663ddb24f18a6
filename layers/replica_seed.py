"""A seed generator whose draws differ between the replicas of a `tf.distribute` strategy.

Layers and trainers that draw noise inside a distributed step (the VAE's `Sampling`, the GAN's latents) use
it; it lives with the layers because a layer needs it and layers sit below the trainers.
"""

import keras


class PerReplicaSeedGenerator(keras.random.SeedGenerator):
    """A `keras.random.SeedGenerator` whose draws differ between the replicas of a `tf.distribute` strategy.

    The state variable is mirrored, so a plain generator hands every replica the same seed and the same
    noise. This one offsets the first seed component by the replica's index (0 outside a strategy, so
    single-device draws are those of a plain generator with the same seed). Workers of a multi-worker
    strategy count as replicas too (`replica_id_in_sync_group` numbers them across the cluster).

    Args:
        seed: integer seed, or None.

    Example:
    >>> generator = PerReplicaSeedGenerator(3)
    >>> keras.ops.convert_to_numpy(generator.next()).tolist() == keras.ops.convert_to_numpy(
    ...     keras.random.SeedGenerator(3).next()).tolist()
    True
    """

    # Far apart so replica streams do not meet for nearby user seeds.
    REPLICA_STRIDE = 1_000_003

    def next(self, ordered=True):
        seed = super().next(ordered=ordered)
        if keras.backend.backend() != "tensorflow":
            return seed  # only tf.distribute replicates a step over devices here
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is None or tf.distribute.get_strategy().num_replicas_in_sync == 1:
            return seed
        replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
        return seed + tf.stack([replica * self.REPLICA_STRIDE, tf.zeros_like(replica)])
