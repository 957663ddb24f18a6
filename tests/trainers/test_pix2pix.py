"""pix2pix trainer: each update moves only its own weights, losses on conditional patch maps by hand, errors."""

import keras
import numpy as np
import pytest

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.pix2pix import Pix2Pix


def compiled(models, g_rate=1e-2, d_rate=1e-2, **options):
    pix2pix = Pix2Pix(*models, **options)
    pix2pix.compile(g_optimizer=keras.optimizers.SGD(g_rate), d_optimizer=keras.optimizers.SGD(d_rate))
    return pix2pix


def test_pix2pix_is_registered():
    assert TRAINERS.get("pix2pix") is Pix2Pix


@pytest.mark.parametrize("g_rate, d_rate, moves", [(1e-2, 0.0, [True, False]), (0.0, 1e-2, [False, True])])
def test_each_update_moves_only_its_own_weights(translation, g_rate, d_rate, moves):
    # With the other optimizer's learning rate at 0, whatever moves was moved by this one.
    models = translation.models(conditional=True)
    pix2pix = compiled(models, g_rate, d_rate)
    before = [translation.weights_of(m) for m in models]
    pix2pix.train_step((translation.images(4, seed=1), translation.images(4, seed=2)))
    assert [translation.moved(b, m) for b, m in zip(before, models)] == moves


def test_the_generator_and_discriminator_losses_go_to_their_own_optimizers(monkeypatch, translation):
    generator, discriminator = translation.models(conditional=True)
    pix2pix = compiled((generator, discriminator))
    calls = []
    minimize_jointly = gradients.minimize_jointly

    def spy(compute_losses, steps):
        calls.append([(optimizer, [v.path for v in variables]) for optimizer, variables in steps])
        return minimize_jointly(compute_losses, steps)

    monkeypatch.setattr(gradients, "minimize_jointly", spy)
    pix2pix.train_step((translation.images(4, seed=1), translation.images(4, seed=2)))
    (g_step, d_step), = calls
    assert g_step == (pix2pix.g_optimizer, [v.path for v in generator.trainable_variables])
    assert d_step == (pix2pix.d_optimizer, [v.path for v in discriminator.trainable_variables])


def pointwise_models(g, w_a, w_b):
    """G(x) = g x; D([a, b]) = w_a a + w_b b, one logit per pixel (a 1x1 conditional PatchGAN)."""
    images = keras.Input((2, 2, 1))
    generator = keras.Model(images, keras.layers.Conv2D(
        1, 1, use_bias=False, kernel_initializer=keras.initializers.Constant(g))(images))
    source, target = keras.Input((2, 2, 1)), keras.Input((2, 2, 1))
    kernel = np.array([w_a, w_b], "float32").reshape(1, 1, 2, 1)
    patches = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer=keras.initializers.Constant(kernel))
    discriminator = keras.Model([source, target], patches(keras.layers.Concatenate()([source, target])))
    return generator, discriminator


A = np.array([0.5, -1.0, 0.25, 1.0], "float32").reshape(1, 2, 2, 1)
B = np.array([-0.5, 0.75, 1.0, 0.0], "float32").reshape(1, 2, 2, 1)


def softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize("loss", ["non_saturating", "lsgan"])
def test_losses_on_conditional_patch_maps_by_hand(loss):
    g, w_a, w_b = 2.0, 0.5, -1.5
    pix2pix = Pix2Pix(*pointwise_models(g, w_a, w_b), loss=loss, lambda_l1=100.0)
    (g_loss, d_loss), l1 = pix2pix.losses_of(A, B)
    real, fake = w_a * A + w_b * B, w_a * A + w_b * (g * A)  # the discriminator sees (input, output) pairs
    if loss == "non_saturating":
        adversarial = np.mean(softplus(-fake))
        discriminator = 0.5 * (np.mean(softplus(-real)) + np.mean(softplus(fake)))
    else:
        adversarial = np.mean((fake - 1) ** 2)
        discriminator = 0.5 * (np.mean((real - 1) ** 2) + np.mean(fake ** 2))
    expected_l1 = np.mean(np.abs(g * A - B))
    np.testing.assert_allclose(float(l1), expected_l1, rtol=1e-6)
    np.testing.assert_allclose(float(g_loss), adversarial + 100.0 * expected_l1, rtol=1e-5)
    np.testing.assert_allclose(float(d_loss), discriminator, rtol=1e-5)


def test_fit_logs_losses_and_validation_l1(translation):
    pix2pix = compiled(translation.models(conditional=True))
    history = pix2pix.fit(translation.images(4, seed=1), translation.images(4, seed=2), batch_size=2, epochs=1,
                          validation_data=(translation.images(2, seed=3), translation.images(2, seed=4)), verbose=0)
    assert sorted(history.history) == ["d_loss", "g_loss", "l1_loss", "val_d_loss", "val_g_loss", "val_l1_loss"]
    assert int(pix2pix.g_optimizer.iterations) == int(pix2pix.d_optimizer.iterations) == 2
    a, b = translation.images(2, seed=3), translation.images(2, seed=4)
    np.testing.assert_allclose(history.history["val_l1_loss"][0], np.mean(np.abs(pix2pix.translate(a) - b)),
                               rtol=1e-5)


def test_an_unconditional_discriminator_is_refused(translation):
    generator, discriminator, _, _ = translation.models()
    with pytest.raises(ValueError) as error:
        Pix2Pix(generator, discriminator)
    assert str(error.value) == ("Invalid value for argument `discriminator`: pix2pix's discriminator is conditional and "
                                "takes two inputs [input image, output image]. Received: a model with 1 input(s)")


def test_translation_rows_show_input_output_and_target_and_ba_is_refused(translation):
    pix2pix = Pix2Pix(*translation.models(shape_b=(8, 8, 3), conditional=True))
    a, b = translation.images(2), translation.images(2, (8, 8, 3))
    columns = pix2pix.translation_rows(a, b)["ab"]
    assert [c.shape for c in columns] == [(2, 8, 8, 1), (2, 8, 8, 3), (2, 8, 8, 3)]
    with pytest.raises(ValueError) as error:
        pix2pix.translate(a, "ba")
    assert str(error.value) == ("Invalid value for argument `direction`: pix2pix learns A -> B only; expected 'ab'. "
                                "Received: direction='ba'")


def test_a_training_step_runs_both_networks_in_training_mode_and_evaluation_and_translation_do_not(translation):
    models, (g_flags, d_flags) = translation.flagged_models(conditional=True)
    pix2pix = compiled(models)
    a, b = translation.images(2, (4, 4, 1), seed=1), translation.images(2, (4, 4, 1), seed=2)
    pix2pix.train_step((a, b))
    assert (g_flags, d_flags) == ([True], [True, True])  # G(a); D on (a, b) and on (a, G(a))
    g_flags.clear(), d_flags.clear()
    pix2pix.test_step((a, b))
    assert (g_flags, d_flags) == ([False], [False, False])
    g_flags.clear()
    np.testing.assert_allclose(pix2pix(a), models[0](a), rtol=1e-6)
    assert g_flags == [False, None]  # the trainer's call runs G in inference mode (the second call is ours)


def test_regularization_losses_join_each_networks_objective(translation):
    (plain, _), (regularized, _) = translation.flagged_models(True), translation.flagged_models(True, 0.25)
    a, b = translation.images(2, (4, 4, 1), seed=1), translation.images(2, (4, 4, 1), seed=2)
    (g_plain, d_plain), _ = Pix2Pix(*plain).losses_of(a, b)
    (g_loss, d_loss), _ = Pix2Pix(*regularized).losses_of(a, b)
    # Kernels of ones: the generator's 1x1 kernel holds one weight, the conditional discriminator's two.
    np.testing.assert_allclose(float(g_loss) - float(g_plain), 0.25 * 1, rtol=1e-5)
    np.testing.assert_allclose(float(d_loss) - float(d_plain), 0.25 * 2, rtol=1e-5)


def test_the_defaults_are_the_papers(translation):
    pix2pix = Pix2Pix(*translation.models(conditional=True))
    assert type(pix2pix.adversarial_loss).__name__ == "NonSaturatingLoss" and pix2pix.lambda_l1 == 100.0
    assert pix2pix.decay_epochs == 0


def test_a_fresh_trainer_is_built_so_a_checkpoint_can_be_saved_and_loaded_before_any_step(translation, tmp_path):
    pix2pix = compiled(translation.models(conditional=True))
    pix2pix.save_weights(tmp_path / "fresh.weights.h5")
    other = compiled(translation.models(conditional=True, seed=1))
    other.load_weights(tmp_path / "fresh.weights.h5")
    a = translation.images(2)
    np.testing.assert_allclose(other.translate(a), pix2pix.translate(a), rtol=1e-6)


def test_compile_leaves_keras_own_optimizer_unset_and_passes_its_options_on(translation):
    pix2pix = Pix2Pix(*translation.models(conditional=True))
    pix2pix.compile(g_optimizer="adam", d_optimizer="adam", run_eagerly=True)
    assert pix2pix.optimizer is None and pix2pix.run_eagerly


def test_decay_epochs_lower_the_learning_rates_and_keep_the_users_callbacks(translation):
    pix2pix = compiled(translation.models(conditional=True), decay_epochs=1)
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    history = pix2pix.fit(translation.images(4, seed=1), translation.images(4, seed=2), batch_size=4, epochs=2,
                          verbose=0, callbacks=[callback])
    assert history.history["learning_rate"] == pytest.approx([1e-2, 5e-3])  # the last epoch at (1 - 1/2)
    assert epochs == [0, 1]


def test_without_decay_a_learning_rate_schedule_is_allowed(translation):
    pix2pix = Pix2Pix(*translation.models(conditional=True))
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=10, decay_rate=0.5)
    pix2pix.compile(g_optimizer=keras.optimizers.Adam(schedule), d_optimizer="adam")
    assert pix2pix.base_learning_rates == []


def test_translate_runs_the_generator_on_batches_of_32_by_default(translation, monkeypatch):
    from kspec.trainers import pix2pix as module

    calls = []
    monkeypatch.setattr(module, "translate_in_batches", lambda *args, **kwargs: calls.append((args[2:], kwargs)))
    Pix2Pix(*translation.models(conditional=True)).translate(translation.images(2))
    assert calls == [((32,), {})]


@pytest.mark.parametrize("options, message", [
    ({"lambda_l1": -1.0}, "Invalid value for argument `lambda_l1`: expected a number >= 0. Received: lambda_l1=-1.0"),
    ({"loss": "wasserstein_gp"}, "Invalid value for argument `loss`: the pix2pix trainer has no gradient penalty; "
                                 "use `non_saturating`, `lsgan` or `hinge`. Received: loss='wasserstein_gp'"),
])
def test_options_pix2pix_cannot_use_are_refused(translation, options, message):
    with pytest.raises(ValueError) as error:
        Pix2Pix(*translation.models(conditional=True), **options)
    assert str(error.value) == message


def test_a_generator_of_two_inputs_is_refused(translation):
    _, discriminator = translation.models(conditional=True)
    with pytest.raises(ValueError) as error:
        Pix2Pix(discriminator, discriminator)
    assert str(error.value) == ("Invalid value for argument `generator`: pix2pix's generator takes one image input. "
                                "Received: a model with 2 inputs")
