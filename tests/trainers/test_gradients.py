"""Gradients for the trainers: minimize on chosen variables, differentiable input gradients, per-replica seeds."""

import keras
import numpy as np
import pytest

from kspec.trainers import gradients


def test_minimize_updates_only_the_given_variables():
    a, b = keras.Variable(2.0), keras.Variable(5.0)
    loss, extras = gradients.minimize(keras.optimizers.SGD(0.1), lambda: (a * a * b, "extra"), [a])
    assert float(loss) == 20.0 and extras == "extra"
    np.testing.assert_allclose(float(a), 2.0 - 0.1 * 2 * 2 * 5)  # d(a^2 b)/da = 2ab = 20
    assert float(b) == 5.0


def test_input_gradients_are_differentiable_for_penalties():
    w = keras.Variable(3.0)

    def penalty():
        x = keras.ops.convert_to_tensor([[1.0, 2.0]])
        g = gradients.input_gradients(lambda t: w * keras.ops.sum(t * t), x)  # 2 w x
        return keras.ops.sum(g), ()

    # sum(2 w x) = 6 w; its derivative with respect to w is 6.
    gradients.minimize(keras.optimizers.SGD(1.0), penalty, [w])
    np.testing.assert_allclose(float(w), 3.0 - 6.0)


# Under tf.distribute, replicas are told apart through the replica context and the strategy's replica count.
# The slow test in test_distributed.py runs real MirroredStrategy replicas in a subprocess; these fake the two
# calls so the arithmetic is checked in-process, replica by replica.


def fake_distribution(monkeypatch, replicas, replica_id=None):
    import types

    import tensorflow as tf

    context = None if replica_id is None else types.SimpleNamespace(replica_id_in_sync_group=tf.constant(replica_id))
    monkeypatch.setattr(tf.distribute, "get_replica_context", lambda: context)
    monkeypatch.setattr(tf.distribute, "get_strategy", lambda: types.SimpleNamespace(num_replicas_in_sync=replicas))


def draws(generator, count=3):
    return [keras.ops.convert_to_numpy(generator.next()).tolist() for _ in range(count)]


def test_seeds_outside_a_strategy_follow_a_plain_seed_generator():
    assert draws(gradients.PerReplicaSeedGenerator(3)) == draws(keras.random.SeedGenerator(3))


@pytest.mark.parametrize(
    "replicas, replica_id, offset",
    [
        (1, 0, 0),  # one replica: no offset
        (2, None, 0),  # cross-replica context (no replica context): no offset
        (2, 0, 0),
        (2, 1, gradients.PerReplicaSeedGenerator.REPLICA_STRIDE),
        (4, 3, 3 * gradients.PerReplicaSeedGenerator.REPLICA_STRIDE),
    ],
)
def test_each_replica_offsets_the_first_seed_component_by_its_index(monkeypatch, replicas, replica_id, offset):
    plain = draws(keras.random.SeedGenerator(3))
    fake_distribution(monkeypatch, replicas, replica_id)
    assert draws(gradients.PerReplicaSeedGenerator(3)) == [[a + offset, b] for a, b in plain]


def test_minimize_divides_the_loss_by_the_replica_count_and_returns_it_unscaled(monkeypatch):
    import types

    import tensorflow as tf

    w, optimizer = keras.Variable(3.0), keras.optimizers.SGD(1.0)
    optimizer.build([w])
    strategy = types.SimpleNamespace(num_replicas_in_sync=2)
    # Only while the loss is taken: the optimizer's own update asks the real (default) strategy.
    real_apply = optimizer.apply_gradients
    monkeypatch.setattr(tf.distribute, "get_strategy", lambda: strategy)

    def apply_in_the_default_strategy(pairs):
        monkeypatch.undo()
        return real_apply(pairs)

    monkeypatch.setattr(optimizer, "apply_gradients", apply_in_the_default_strategy)
    loss, _ = gradients.minimize(optimizer, lambda: (w * w, ()), [w])
    # d(w^2 / 2)/dw = w = 3: one step of 1.0 lands on 0 (the optimizer would sum the two replicas' halves).
    assert float(loss) == 9.0 and float(w) == 0.0


def test_a_backend_other_than_tensorflow_is_refused_with_what_to_use(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(NotImplementedError) as caught:
        gradients.minimize(keras.optimizers.SGD(1.0), lambda: (keras.ops.ones(()), ()), [])
    assert str(caught.value) == ("kspec's trainers take gradients with tf.GradientTape; expected the Keras backend "
                                 "'tensorflow'. Received: backend='jax'")
    with pytest.raises(NotImplementedError):
        gradients.input_gradients(lambda t: t, keras.ops.ones((1,)))


def test_minimize_jointly_takes_every_gradient_at_the_old_weights_and_moves_each_players_own():
    u, v, shared = keras.Variable(1.0), keras.Variable(2.0), keras.Variable(7.0)
    steps = [(keras.optimizers.SGD(0.5), [u]), (keras.optimizers.SGD(0.25), [v])]
    losses, extras = gradients.minimize_jointly(lambda: ((u * v * shared, -u * v), "terms"), steps)
    assert [float(loss) for loss in losses] == [14.0, -2.0] and extras == "terms"
    # d/du (u v s) = v s = 14 and d/dv (-u v) = -u = -1, both at the weights before the step.
    assert (float(u), float(v), float(shared)) == (1.0 - 0.5 * 14.0, 2.0 + 0.25 * 1.0, 7.0)


def test_minimize_jointly_divides_each_loss_by_the_replica_count(monkeypatch):
    import types

    import tensorflow as tf

    u, v = keras.Variable(3.0), keras.Variable(4.0)
    steps = [(keras.optimizers.SGD(1.0), [u]), (keras.optimizers.SGD(1.0), [v])]
    for optimizer, variables in steps:
        optimizer.build(variables)
    monkeypatch.setattr(tf.distribute, "get_strategy", lambda: types.SimpleNamespace(num_replicas_in_sync=2))
    losses, _ = gradients.minimize_jointly(lambda: ((u * u, v * v), ()), steps)
    # Halved: d(u^2 / 2)/du = u, so one step of 1.0 lands on 0; the returned losses are not halved.
    assert [float(loss) for loss in losses] == [9.0, 16.0] and (float(u), float(v)) == (0.0, 0.0)


@pytest.mark.parametrize("joint", [False, True])
def test_a_loss_scale_optimizer_gets_the_scaled_loss_and_divides_it_out(joint):
    # Under mixed_float16 Keras wraps the optimizer in a LossScaleOptimizer: its apply_gradients divides by the
    # scale, so a loss the trainers did not multiply by it would take a step 1024 times too small.
    w = keras.Variable(3.0)
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5), initial_scale=1024.0)
    if joint:
        gradients.minimize_jointly(lambda: ((w * w,), ()), [(optimizer, [w])])
    else:
        gradients.minimize(optimizer, lambda: (w * w, ()), [w])
    assert float(w) == 0.0  # 3 - 0.5 * 6


def test_minimize_jointly_refuses_a_backend_other_than_tensorflow(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(NotImplementedError, match="Received: backend='torch'"):
        gradients.minimize_jointly(lambda: ((keras.ops.ones(()),), ()), [(keras.optimizers.SGD(1.0), [])])
