"""Where the WGAN-GP penalty is evaluated: on random points between each real and fake image.

Gulrajani et al. (2017), algorithm 1: for each example, eps ~ U[0, 1], x_hat = eps x + (1 - eps) x_fake, and
the penalty is lambda (||grad_x_hat D(x_hat)||_2 - 1)^2 averaged over the batch. With the quadratic critic
D(x) = c/2 ||x||^2 the input gradient is c x, so the penalty at x_hat is known in closed form: (c ||x_hat|| - 1)^2.
The critic records the points it is called on; the interpolation weights are recovered from them, and the
trainer's penalty is compared with the closed form at exactly those points.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kspec.trainers import gradients
from kspec.trainers.gan import GAN

CURVATURE = 0.7  # c: gradient norms c ||x|| straddle 1 on these images, so no point gives a zero penalty
SHAPE = (2, 3, 1)  # images: the norm must cover every pixel axis, not only the last one
BATCH = 6


class QuadraticCritic(keras.layers.Layer):
    """D(x) = c/2 ||x||^2 per example; remembers the inputs of its eager calls."""

    def __init__(self, seen, **kwargs):
        super().__init__(**kwargs)
        self.record = seen.append  # a bound method: Keras would copy a list attribute into a tracked one

    def call(self, images):
        if tf.executing_eagerly():
            self.record(keras.ops.convert_to_numpy(images))
        return 0.5 * CURVATURE * keras.ops.sum(keras.ops.square(keras.ops.reshape(images, (-1, 6))), axis=1,
                                               keepdims=True)


@pytest.fixture
def wgan_gp():
    seen = []
    images = keras.Input(SHAPE)
    critic = keras.Model(images, QuadraticCritic(seen)(images))
    z = keras.Input((2,))
    generator = keras.Model(z, keras.layers.Reshape(SHAPE)(keras.layers.Dense(6)(z)))
    gan = GAN(generator, critic, loss="wasserstein_gp", gradient_penalty_weight=10.0, seed=3)
    seen.clear()
    return gan, seen


def real_and_fake():
    rng = np.random.default_rng(0)
    real = rng.normal(1.0, 0.5, size=(BATCH, *SHAPE)).astype("float32")
    fake = rng.normal(-1.0, 0.5, size=(BATCH, *SHAPE)).astype("float32")
    return real, fake


def interpolation_weights(points, real, fake):
    """eps_i with points_i = real_i + eps_i (fake_i - real_i), asserting each point lies on its segment's line."""
    direction = (fake - real).reshape(BATCH, -1)
    offset = (points - real).reshape(BATCH, -1)
    weights = np.sum(offset * direction, axis=1) / np.sum(direction * direction, axis=1)
    np.testing.assert_allclose(offset, weights[:, None] * direction, atol=1e-5,
                               err_msg="the penalty was evaluated off the lines between real and fake images")
    return weights


def closed_form_penalty(points):
    norms = CURVATURE * np.linalg.norm(points.reshape(BATCH, -1).astype("float64"), axis=1)
    return np.mean((norms - 1.0) ** 2)


def penalty_points(seen, real, fake):
    """The batches the critic saw besides the real and the fake images themselves."""
    others = [batch for batch in seen if not (np.array_equal(batch, real) or np.array_equal(batch, fake))]
    assert len(others) == 1, f"expected one batch of interpolates, the critic saw {len(others)} other batches"
    return others[0]


def test_penalty_is_the_closed_form_at_points_between_each_real_and_its_fake(wgan_gp):
    gan, seen = wgan_gp
    real, fake = real_and_fake()
    loss, terms = gan.discriminator_loss(real, fake, training=True)
    adversarial, penalty = terms["adversarial"], terms["gradient_penalty"]
    points = penalty_points(seen, real, fake)
    weights = interpolation_weights(points, real, fake)
    assert np.all((weights >= 0) & (weights <= 1)), weights
    # One weight per example, not one for the whole batch: they differ (6 uniform draws).
    assert np.ptp(weights) > 0.05, weights
    expected = closed_form_penalty(real + weights[:, None, None, None] * (fake - real))
    np.testing.assert_allclose(float(penalty), expected, rtol=1e-4)
    # Wasserstein critic loss mean(D(fake)) - mean(D(real)), plus lambda times the penalty.
    critic_values = {name: 0.5 * CURVATURE * np.sum(x.reshape(BATCH, -1).astype("float64") ** 2, axis=1).mean()
                     for name, x in (("real", real), ("fake", fake))}
    np.testing.assert_allclose(float(adversarial), critic_values["fake"] - critic_values["real"], rtol=1e-5)
    np.testing.assert_allclose(float(loss), float(adversarial) + 10.0 * expected, rtol=1e-5)


def test_each_call_draws_new_interpolation_weights(wgan_gp):
    gan, seen = wgan_gp
    real, fake = real_and_fake()
    gan.discriminator_loss(real, fake, training=True)
    first = interpolation_weights(penalty_points(seen, real, fake), real, fake)
    seen.clear()
    gan.discriminator_loss(real, fake, training=True)
    second = interpolation_weights(penalty_points(seen, real, fake), real, fake)
    assert not np.allclose(first, second)


def test_the_penalty_trains_the_critic_weights():
    # D(x) = w/2 ||x||^2 with a trainable w: d penalty / dw is nonzero, so one step on the penalty alone moves w
    # towards the value where the gradient norms w ||x_hat|| are closest to 1.
    class Scaled(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(), initializer=keras.initializers.Constant(3.0))

        def call(self, images):
            return 0.5 * self.w * keras.ops.sum(keras.ops.square(keras.ops.reshape(images, (-1, 6))), axis=1,
                                                keepdims=True)

    images = keras.Input(SHAPE)
    critic = keras.Model(images, Scaled()(images))
    z = keras.Input((2,))
    generator = keras.Model(z, keras.layers.Reshape(SHAPE)(keras.layers.Dense(6)(z)))
    gan = GAN(generator, critic, loss="wasserstein_gp", gradient_penalty_weight=1.0, seed=0)
    gan.compile(d_optimizer=keras.optimizers.SGD(1e-3), g_optimizer=keras.optimizers.SGD(0.0))
    # Real == fake: the Wasserstein term is 0 and only the penalty (w sqrt(6) - 1)^2 remains, at w = 3.
    real = np.full((BATCH, *SHAPE), 1.0, "float32")
    loss, _ = gan.discriminator_loss(real, real, training=True)
    np.testing.assert_allclose(float(loss), (3.0 * np.sqrt(6.0) - 1.0) ** 2, rtol=1e-5)
    gradients.minimize(gan.d_optimizer, lambda: gan.discriminator_loss(real, real, training=True),
                       critic.trainable_weights)
    # One SGD step: w - lr * d/dw (w sqrt(6) - 1)^2 = w - lr * 2 sqrt(6) (w sqrt(6) - 1).
    expected = 3.0 - 1e-3 * 2.0 * np.sqrt(6.0) * (3.0 * np.sqrt(6.0) - 1.0)
    np.testing.assert_allclose(float(critic.weights[0].numpy()), expected, rtol=1e-5)
