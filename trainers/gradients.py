"""The backend-specific part of kspec's trainers: every gradient they take is taken here, with TensorFlow.

The trainers' `train_step`s describe their phases with backend-neutral `keras.ops` and call `minimize` (or
`minimize_jointly` for several optimizers on one forward pass) and `input_gradients` for the two things Keras 3
has no backend-neutral API for: differentiating a custom loss with respect to chosen variables, and
differentiating a network's output with respect to its input (for the WGAN-GP penalty). Supporting JAX or
PyTorch means writing these functions for that backend.

Under `tf.distribute` each replica sees a slice of the global batch and the optimizer sums the replicas'
gradients, so the loss is divided by the number of replicas before differentiation (as Keras' own
`train_step` does); the loss returned for the metrics is the unscaled per-replica value. The replicas' random
draws are told apart by `PerReplicaSeedGenerator`, which reads the replica index from `tf.distribute`.
"""

import keras

# ---------------------------------------------------------------------------------------------------------------
# Backend-specific (TensorFlow): tf.GradientTape.
# ---------------------------------------------------------------------------------------------------------------
import tensorflow as tf


def _require_tensorflow():
    if keras.backend.backend() != "tensorflow":
        raise NotImplementedError(
            "kspec's trainers take gradients with tf.GradientTape; expected the Keras backend 'tensorflow'. "
            f"Received: backend={keras.backend.backend()!r}"
        )


def _replica_count():
    return tf.distribute.get_strategy().num_replicas_in_sync


def minimize(optimizer, compute_loss, variables):
    """Takes one optimizer step on `compute_loss()` with respect to `variables` only.

    Args:
        optimizer: a `keras.optimizers.Optimizer`.
        compute_loss: a function of no arguments returning `(loss, extras)`: a scalar to minimize and any
            structure of tensors (such as the loss terms) to hand back for the metrics.
        variables: the variables to update; every other variable the loss depends on stays unchanged.

    Returns:
        `(loss, extras)` as computed before the update.

    Example:
    >>> w = keras.Variable(3.0)
    >>> loss, _ = minimize(keras.optimizers.SGD(0.5), lambda: (w * w, ()), [w])
    >>> float(loss), float(w)  # gradient 6, step 0.5 * 6
    (9.0, 0.0)
    """
    _require_tensorflow()
    with tf.GradientTape() as tape:
        loss, extras = compute_loss()
        scaled_loss = loss / tf.cast(_replica_count(), loss.dtype)
    gradients = tape.gradient(scaled_loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss, extras


def minimize_jointly(compute_losses, steps):
    """One forward pass, then one optimizer step per loss, each on its own variables (simultaneous updates).

    Every gradient is taken before any variable changes, so each step sees the other players' weights from
    before this step. A generator and a discriminator that share one forward pass this way (the TensorFlow
    pix2pix tutorial's two tapes) need one discriminator pass on the generated images instead of two.

    Args:
        compute_losses: a function of no arguments returning `(losses, extras)`: a tuple of scalars, one per
            step, and any structure of tensors to hand back for the metrics.
        steps: one `(optimizer, variables)` per loss, in the order of `losses`: loss `i` is differentiated
            with respect to `variables` of step `i` only, and nothing else changes.

    Returns:
        `(losses, extras)` as computed before the updates.

    Example:
    >>> u, v = keras.Variable(1.0), keras.Variable(2.0)
    >>> losses, _ = minimize_jointly(lambda: ((u * v, -u * v), ()),
    ...                              [(keras.optimizers.SGD(0.5), [u]), (keras.optimizers.SGD(0.5), [v])])
    >>> float(u), float(v)  # d/du (u v) = v = 2 and d/dv (-u v) = -u = -1, both at the old values
    (0.0, 2.5)
    """
    _require_tensorflow()
    with tf.GradientTape(persistent=True) as tape:
        losses, extras = compute_losses()
        scaled = [loss / tf.cast(_replica_count(), loss.dtype) for loss in losses]
    gradients = [tape.gradient(loss, variables) for loss, (_, variables) in zip(scaled, steps)]
    del tape
    for grads, (optimizer, variables) in zip(gradients, steps):
        optimizer.apply_gradients(zip(grads, variables))
    return losses, extras


def input_gradients(function, inputs):
    """The gradient of `sum(function(inputs))` with respect to `inputs`, itself differentiable.

    Called inside the loss of `minimize`, the outer tape records this computation, so a penalty on these
    gradients (WGAN-GP) trains the network's weights.

    Args:
        function: maps a tensor to a tensor (e.g. a critic's logits).
        inputs: the tensor to differentiate with respect to.

    Returns:
        A tensor shaped like `inputs`.

    Example:
    >>> x = keras.ops.convert_to_tensor([[1.0, 2.0]])
    >>> keras.ops.convert_to_numpy(input_gradients(lambda t: t * t, x)).tolist()
    [[2.0, 4.0]]
    """
    _require_tensorflow()
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = function(inputs)
    return tape.gradient(outputs, inputs)


class PerReplicaSeedGenerator(keras.random.SeedGenerator):
    """A `keras.random.SeedGenerator` whose draws differ between the replicas of a `tf.distribute` strategy.

    The state variable is mirrored, so a plain generator hands every replica the same seed and the same
    latents. This one offsets the first seed component by the replica's index (0 outside a strategy, so
    single-device draws are those of a plain generator with the same seed).

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
        context = tf.distribute.get_replica_context()
        if context is None or tf.distribute.get_strategy().num_replicas_in_sync == 1:
            return seed
        replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
        return seed + tf.stack([replica * self.REPLICA_STRIDE, tf.zeros_like(replica)])
