import keras
import numpy as np
import pytest
from support import assert_model_roundtrip

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.aae import AAE


def compiled_aae(encoder, decoder, discriminator, learning_rate=1e-3, **kwargs):
    aae = AAE(encoder, decoder, discriminator, reconstruction="mse", seed=0, **kwargs)
    # beta_1 = 0.5 as usual for adversarial training (Radford et al. 2016).
    aae.compile(
        ae_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
    )
    return aae


def toy_data(count=1024, data_dim=8, seed=0):
    """8-D points on a smooth 2-D sheet: a 2-D code can describe them without loss."""
    rng = np.random.default_rng(seed)
    sources = rng.uniform(-2.0, 2.0, size=(count, 2))
    return np.tanh(sources @ rng.normal(size=(2, data_dim)) / 2).astype("float32")


def squared_mmd(x, y, bandwidth=1.0):
    """Biased (V-statistic) squared maximum mean discrepancy with an RBF kernel (Gretton et al. 2012, eq. 5)."""

    def kernel(a, b):
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * bandwidth**2))

    return kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean()


def test_aae_is_registered():
    assert TRAINERS.get("aae") is AAE


def test_training_pulls_the_codes_towards_the_prior(tiny):
    # Makhzani et al. 2016, fig. 4: codes of a 2-D AAE take the shape of a 10-component mixture on a circle.
    data = toy_data()
    aae = compiled_aae(*tiny.aae_models(data_dim=8, latent_dim=2), prior="gaussian_mixture")
    prior_samples = keras.ops.convert_to_numpy(aae.prior.sample(500, seed=123))
    before = squared_mmd(aae.encode(data[:500]), prior_samples)
    aae.fit(data, batch_size=64, epochs=20, verbose=0)  # 320 steps
    after = squared_mmd(aae.encode(data[:500]), prior_samples)
    # Measured drops are 60-100x across model seeds 0-2; ask for 10x.
    assert after * 10 < before, f"MMD^2 {before:.4f} -> {after:.4f}"


def test_each_phase_updates_its_own_networks(monkeypatch, tiny):
    encoder, decoder, discriminator = tiny.aae_models()
    aae = compiled_aae(encoder, decoder, discriminator)
    updated = []
    minimize = gradients.minimize

    def spy(optimizer, compute_loss, variables):
        updated.append((optimizer, {id(v) for v in variables}))
        return minimize(optimizer, compute_loss, variables)

    monkeypatch.setattr(gradients, "minimize", spy)
    aae.train_step(toy_data(16))
    ids = lambda *models: {id(v) for m in models for v in m.trainable_weights}  # noqa: E731
    assert updated == [
        (aae.ae_optimizer, ids(encoder, decoder)),  # reconstruction phase
        (aae.d_optimizer, ids(discriminator)),  # regularization phase, discriminator
        (aae.g_optimizer, ids(encoder)),  # regularization phase, encoder as generator
    ]
    assert aae.g_optimizer is not aae.ae_optimizer


def test_fit_reports_each_phase_and_evaluates(tiny):
    aae = compiled_aae(*tiny.aae_models(), prior="uniform")
    history = aae.fit(toy_data(32), batch_size=16, epochs=1, verbose=0, validation_data=(toy_data(16, seed=1),))
    assert sorted(history.history) == [
        "d_loss",
        "g_loss",
        "reconstruction_loss",
        "val_d_loss",
        "val_g_loss",
        "val_reconstruction_loss",
    ]
    assert all(np.isfinite(v).all() for v in history.history.values())


def test_sample_reconstruct_and_interpolate_shapes(tiny):
    aae = compiled_aae(*tiny.aae_models())
    assert aae.sample(5, seed=0).shape == (5, 8)
    np.testing.assert_array_equal(aae.sample(5, seed=0), aae.sample(5, seed=0))
    assert aae.reconstruct(toy_data(3)).shape == (3, 8)
    assert aae.interpolate([0.0, 0.0], [1.0, 1.0], steps=4).shape == (4, 8)


def test_encoder_with_vae_outputs_uses_the_last_as_code(tiny):
    _, decoder, discriminator = tiny.aae_models()
    x = keras.Input((8,))
    mean, log_var = keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)
    encoder = keras.Model(x, [mean, log_var, keras.layers.Add()([mean, log_var])])
    aae = compiled_aae(encoder, decoder, discriminator)
    data = toy_data(4)
    np.testing.assert_allclose(aae.encode(data), keras.ops.convert_to_numpy(encoder(data)[2]), rtol=1e-6)


def test_trained_decoder_saves_and_reloads(tiny, tmp_path):
    encoder, decoder, discriminator = tiny.aae_models()
    compiled_aae(encoder, decoder, discriminator).fit(toy_data(16), batch_size=16, epochs=1, verbose=0)
    assert_model_roundtrip(decoder, str(tmp_path))
    assert_model_roundtrip(encoder, str(tmp_path))


def test_gradient_penalty_loss_is_refused(tiny):
    with pytest.raises(ValueError, match="the AAE trainer has no gradient penalty"):
        AAE(*tiny.aae_models(), loss="wasserstein_gp")


def test_a_training_step_runs_every_network_in_training_mode_and_the_rest_do_not(tiny):
    models, (encoder, decoder, critic) = tiny.flagged_aae_models()
    aae = AAE(*models, reconstruction="mse", seed=0)
    aae.compile(ae_optimizer="sgd", d_optimizer="sgd")
    data = toy_data(4, data_dim=4)
    aae.train_step(data)
    # Encoder: reconstruction, codes for the discriminator, the generator phase; discriminator: prior samples,
    # codes, the generator phase.
    assert (encoder, decoder, critic) == ([True] * 3, [True], [True] * 3)
    for flags in (encoder, decoder, critic):
        flags.clear()
    aae.test_step(data)
    assert (encoder, decoder, critic) == ([False] * 3, [False], [False] * 3)
    encoder.clear(), decoder.clear()
    aae(data), aae.encode(data), aae.reconstruct(data)
    assert (encoder, decoder) == ([False] * 3, [False] * 2)


def test_regularization_losses_join_each_phase(tiny):
    (plain, _), (regularized, _) = tiny.flagged_aae_models(), tiny.flagged_aae_models(regularization=0.5)
    without, with_penalty = AAE(*plain, reconstruction="mse"), AAE(*regularized, reconstruction="mse")
    data, codes, prior = toy_data(4, data_dim=4), np.ones((4, 2), "float32"), np.zeros((4, 2), "float32")

    def difference(phase, *args):
        return float(getattr(with_penalty, phase)(*args)[0]) - float(getattr(without, phase)(*args)[0])

    # Kernels of ones: encoder 4x2 and decoder 2x4 weights, the discriminator 2.
    np.testing.assert_allclose(difference("reconstruction_phase_loss", data), 0.5 * (8 + 8), rtol=1e-5)
    np.testing.assert_allclose(difference("discriminator_phase_loss", prior, codes), 0.5 * 2, rtol=1e-5)
    np.testing.assert_allclose(difference("generator_phase_loss", data), 0.5 * 8, rtol=1e-5)


def test_the_defaults_are_a_gaussian_prior_cross_entropy_and_the_non_saturating_loss(tiny):
    aae = AAE(*tiny.aae_models())
    assert (type(aae.prior).__name__, type(aae.adversarial_loss).__name__) == ("GaussianPrior", "NonSaturatingLoss")
    images = np.array([[0.25, 0.75]], "float32")
    reconstructions = np.array([[0.5, 0.5]], "float32")
    expected = -np.sum(images * np.log(reconstructions) + (1 - images) * np.log(1 - reconstructions))
    np.testing.assert_allclose(float(aae.reconstruction_loss_fn(images, reconstructions)), expected, rtol=1e-5)


def test_compile_leaves_keras_own_optimizer_unset_and_gives_the_encoders_adversarial_phase_a_copy(tiny):
    aae = AAE(*tiny.aae_models())
    aae.compile(ae_optimizer=keras.optimizers.SGD(0.5, momentum=0.25), d_optimizer="adam", run_eagerly=True)
    assert aae.optimizer is None and aae.run_eagerly
    assert type(aae.g_optimizer) is keras.optimizers.SGD and aae.g_optimizer is not aae.ae_optimizer
    assert (float(aae.g_optimizer.learning_rate), aae.g_optimizer.momentum) == (0.5, 0.25)
    chosen = keras.optimizers.RMSprop(0.125)
    aae.compile(ae_optimizer="adam", d_optimizer="adam", g_optimizer=chosen)
    assert aae.g_optimizer is chosen


def test_samples_are_the_decoded_prior_draws_of_the_trainers_seed(tiny):
    aae = AAE(*tiny.aae_models(), seed=3)
    expected = keras.ops.convert_to_numpy(aae.decoder(aae.prior.sample(5, seed=3)))
    np.testing.assert_allclose(aae.sample(5), expected, rtol=1e-5)
    np.testing.assert_allclose(aae.sample(5, seed=4), keras.ops.convert_to_numpy(
        aae.decoder(aae.prior.sample(5, seed=4))), rtol=1e-5)


def test_interpolation_decodes_eight_codes_by_default(tiny):
    aae = AAE(*tiny.aae_models())
    line = aae.interpolate([0.0, 0.0], [1.0, 1.0])
    assert line.shape == (8, 8)
    np.testing.assert_allclose(line[-1], keras.ops.convert_to_numpy(aae.decoder(np.ones((1, 2), "float32")))[0],
                               rtol=1e-5)


def test_a_fresh_trainer_is_built_so_a_checkpoint_can_be_saved_and_loaded_before_any_step(tiny, tmp_path):
    aae = compiled_aae(*tiny.aae_models())
    aae.save_weights(tmp_path / "fresh.weights.h5")
    other = compiled_aae(*tiny.aae_models(seed=1))
    other.load_weights(tmp_path / "fresh.weights.h5")
    np.testing.assert_allclose(other.encode(toy_data(3)), aae.encode(toy_data(3)), rtol=1e-6)


def test_the_gradient_penalty_refusal_says_what_to_use():
    encoder, decoder, critic = build_linear_models()
    with pytest.raises(ValueError) as error:
        AAE(encoder, decoder, critic, loss="wasserstein_gp")
    assert str(error.value) == (
        "Invalid value for argument `loss`: the AAE trainer has no gradient penalty; use `wasserstein` with another "
        "Lipschitz constraint, or a non-Wasserstein loss. Received: loss='wasserstein_gp'")


def build_linear_models():
    def linear(inputs, outputs):
        return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(outputs)])

    return linear(8, 2), linear(2, 8), linear(2, 1)


def test_each_phase_loss_is_its_term_and_nothing_more(tiny):
    (encoder, decoder, critic), _ = tiny.flagged_aae_models()
    aae = AAE(encoder, decoder, critic, reconstruction="mse")
    data, codes, prior = toy_data(3, data_dim=4), np.ones((3, 2), "float32"), np.zeros((3, 2), "float32")
    reconstruction = aae.reconstruction_loss_fn(data, decoder(encoder(data)))
    np.testing.assert_allclose(float(aae.reconstruction_phase_loss(data)[0]), float(reconstruction), rtol=1e-6)
    discriminator = aae.adversarial_loss.discriminator_loss(critic(prior), critic(codes))
    np.testing.assert_allclose(float(aae.discriminator_phase_loss(prior, codes)[0]), float(discriminator), rtol=1e-6)
    generator = aae.adversarial_loss.generator_loss(critic(encoder(data)))
    np.testing.assert_allclose(float(aae.generator_phase_loss(data)[0]), float(generator), rtol=1e-6)


def test_label_smoothing_reaches_the_adversarial_loss(tiny):
    assert AAE(*tiny.aae_models(), label_smoothing=0.25).adversarial_loss.label_smoothing == 0.25


def test_the_trainers_seed_makes_training_and_evaluation_reproducible(tiny):
    data = toy_data(6, data_dim=8)
    results = []
    for seed in (3, 3, 4):
        aae = AAE(*tiny.aae_models(), reconstruction="mse", seed=seed)  # the same initial weights each time
        aae.compile(ae_optimizer="adam", d_optimizer="adam")
        logs = aae.train_step(data)
        results.append([float(logs[name]) for name in ("d_loss", "g_loss")]
                       + [float(aae.test_step(data)[name]) for name in ("d_loss", "g_loss")])
    assert results[0] == results[1] and results[0] != results[2]


def test_each_phase_draws_one_prior_sample_per_image_from_the_trainers_seed_generator(tiny, monkeypatch):
    aae = compiled_aae(*tiny.aae_models())
    drawn = tiny.prior_draws(monkeypatch, aae)
    data = toy_data(6, data_dim=8)  # 6 images of 8 values: the batch axis is the first
    aae.train_step(data), aae.test_step(data)
    assert drawn == [(6, True), (6, True)]
