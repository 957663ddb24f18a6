import keras
import numpy as np
import pytest
import tensorflow as tf
from support import assert_model_roundtrip

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.gan import GAN


def compiled_gan(generator, discriminator, **kwargs):
    gan = GAN(generator, discriminator, seed=0, **kwargs)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2))
    return gan


def test_gan_is_registered():
    assert TRAINERS.get("gan") is GAN


def test_discriminator_step_moves_only_discriminator_weights(tiny):
    generator, discriminator = tiny.gan_models(batch_norm=True)
    gan = compiled_gan(generator, discriminator)
    g_before, d_before = tiny.weights_of(generator), tiny.weights_of(discriminator)
    gan.train_discriminator(tiny.images(8, low=-1.0))
    assert tiny.moved(d_before, discriminator)
    assert not tiny.moved(g_before, generator)


def test_generator_step_moves_only_generator_weights(tiny):
    generator, discriminator = tiny.gan_models(batch_norm=True)
    gan = compiled_gan(generator, discriminator)
    g_before, d_before = tiny.weights_of(generator), tiny.weights_of(discriminator)
    gan.train_generator(8)
    assert tiny.moved(g_before, generator)
    assert not tiny.moved(d_before, discriminator)


def test_discriminator_loss_has_no_gradient_path_to_the_generator(monkeypatch, gan_models, tiny):
    # Spy on the trainer's one gradient function: differentiate each phase's loss with respect to the generator.
    generator, discriminator = gan_models
    gan = compiled_gan(generator, discriminator)
    gradients_to_generator = []
    minimize = gradients.minimize

    def spy(optimizer, compute_loss, variables):
        with tf.GradientTape() as tape:
            loss, _ = compute_loss()
        gradients_to_generator.append(tape.gradient(loss, generator.trainable_weights))
        return minimize(optimizer, compute_loss, variables)

    monkeypatch.setattr(gradients, "minimize", spy)
    gan.train_discriminator(tiny.images(8, low=-1.0))
    gan.train_generator(8)
    discriminator_phase, generator_phase = gradients_to_generator
    assert all(g is None for g in discriminator_phase)  # fakes are constants: netD(fake.detach())
    assert all(g is not None for g in generator_phase)


def test_n_critic_discriminator_steps_per_generator_step(gan_models, tiny):
    gan = compiled_gan(*gan_models, loss="wasserstein", n_critic=3)
    gan.fit(tiny.images(8, low=-1.0), batch_size=8, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 3
    assert int(gan.g_optimizer.iterations) == 1


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "wasserstein", "wasserstein_gp", "hinge", "lsgan"])
def test_each_loss_trains(gan_models, loss, tiny):
    gan = GAN(*gan_models, loss=loss, seed=0)
    gan.compile(d_optimizer="adam", g_optimizer="adam", run_eagerly=True)
    history = gan.fit(tiny.images(8, low=-1.0), batch_size=4, epochs=1, verbose=0)
    expected = ["d_loss", "g_loss"] + (["gradient_penalty"] if loss == "wasserstein_gp" else [])
    assert sorted(history.history) == expected
    assert all(np.isfinite(v).all() for v in history.history.values())


def test_gradient_penalty_enters_the_discriminator_loss(gan_models, tiny):
    gan = compiled_gan(*gan_models, loss="wasserstein_gp", gradient_penalty_weight=10.0)
    real, fake = tiny.images(4, low=-1.0, seed=1), tiny.images(4, low=-1.0, seed=2)
    loss, (adversarial, penalty) = gan.discriminator_loss(real, fake)
    assert float(penalty) > 0
    np.testing.assert_allclose(float(loss), float(adversarial) + 10.0 * float(penalty), rtol=1e-5)


def test_ema_generator_averages_weights_and_is_used_for_sampling(gan_models, tiny):
    generator, discriminator = gan_models
    gan = compiled_gan(generator, discriminator, ema_decay=0.9)
    before = tiny.weights_of(generator)
    gan.fit(tiny.images(8, low=-1.0), batch_size=8, epochs=1, verbose=0)
    after = tiny.weights_of(generator)
    for w0, w1, average in zip(before, after, gan.ema_generator.trainable_weights + gan.ema_generator.non_trainable_weights):
        np.testing.assert_allclose(average.numpy(), 0.9 * w0 + 0.1 * w1, rtol=1e-5, atol=1e-7)
    z = keras.ops.convert_to_numpy(gan.prior.sample(3, seed=5))
    np.testing.assert_allclose(gan.sample(3, seed=5), gan.ema_generator(z), rtol=1e-5)
    assert not np.allclose(gan.sample(3, seed=5), generator(z))


def test_conditional_gan_trains_on_labels_and_samples_per_class(tiny):
    generator, discriminator = tiny.gan_models(num_classes=3)
    gan = compiled_gan(generator, discriminator, num_classes=3)
    labels = np.arange(8) % 3
    history = gan.fit(tiny.images(8, low=-1.0), labels, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    assert gan.sample(5).shape == (5, 8, 8, 1)
    # The label changes the image for the same latent.
    assert not np.allclose(gan.sample(2, seed=1, labels=[0, 0]), gan.sample(2, seed=1, labels=[1, 1]))


def test_conditional_gan_without_labels_is_refused(tiny):
    gan = compiled_gan(*tiny.gan_models(num_classes=3), num_classes=3)
    with pytest.raises(ValueError, match="expects batches `\\(images, labels\\)`"):
        gan.fit(tiny.images(8, low=-1.0), batch_size=4, epochs=1, verbose=0)


def test_unconditional_gan_refuses_a_labelled_generator(tiny):
    generator, discriminator = tiny.gan_models(num_classes=3)
    with pytest.raises(ValueError) as error:
        GAN(generator, discriminator)
    assert str(error.value) == (
        "Invalid value for argument `generator`: an unconditional GAN needs 1 input. Received: a model with 2 input(s)"
    )


def test_trained_generator_saves_and_reloads(gan_models, tmp_path, tiny):
    generator, discriminator = gan_models
    compiled_gan(generator, discriminator).fit(tiny.images(8, low=-1.0), batch_size=8, epochs=1, verbose=0)
    assert_model_roundtrip(generator, str(tmp_path))
    assert_model_roundtrip(discriminator, str(tmp_path))
