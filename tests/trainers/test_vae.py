import keras
import numpy as np
import pytest
from support import assert_model_roundtrip

from kspec.registry import TRAINERS
from kspec.trainers.vae import VAE


def compiled_vae(encoder, decoder, **kwargs):
    vae = VAE(encoder, decoder, seed=0, **kwargs)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    return vae


def test_vae_is_registered():
    assert TRAINERS.get("vae") is VAE


def test_fit_reports_each_loss_term(vae_models, tiny):
    vae = compiled_vae(*vae_models)
    history = vae.fit(tiny.images(16), batch_size=8, epochs=2, verbose=0)
    assert sorted(history.history) == ["kl_loss", "kl_weight", "loss", "reconstruction_loss"]
    assert all(np.isfinite(v).all() for v in history.history.values())


def test_loss_is_reconstruction_plus_weighted_kl(vae_models, tiny):
    vae = compiled_vae(*vae_models, beta=3.0)
    logs = vae.evaluate(tiny.images(16), batch_size=8, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + 3.0 * logs["kl_loss"], rtol=1e-5)


def test_training_lowers_the_loss_on_fixed_data(vae_models, tiny):
    vae = compiled_vae(*vae_models)
    images = tiny.images(32, seed=1)
    before = vae.evaluate(images, batch_size=32, verbose=0, return_dict=True)["reconstruction_loss"]
    vae.fit(np.tile(images, (30, 1, 1, 1)), batch_size=32, epochs=1, verbose=0)  # 30 steps, one epoch
    after = vae.evaluate(images, batch_size=32, verbose=0, return_dict=True)["reconstruction_loss"]
    assert after < before


@pytest.mark.parametrize("step,expected", [(0, 0.0), (5, 1.0), (10, 2.0), (25, 2.0)])
def test_kl_weight_ramps_linearly_over_warmup_steps(vae_models, step, expected):
    vae = compiled_vae(*vae_models, beta=2.0, kl_warmup_steps=10)
    vae.optimizer.build(vae.trainable_weights)
    vae.optimizer.iterations.assign(step)
    np.testing.assert_allclose(float(vae.kl_weight()), expected)


def test_kl_weight_ramps_linearly_over_warmup_epochs(vae_models, tiny):
    vae = compiled_vae(*vae_models, beta=2.0, kl_warmup_epochs=2)
    history = vae.fit(tiny.images(8), batch_size=8, epochs=3, verbose=0)
    np.testing.assert_allclose(history.history["kl_weight"], [0.0, 1.0, 2.0])


def test_sample_is_reproducible_from_seed_and_reconstruct_keeps_shape(vae_models, tiny):
    vae = compiled_vae(*vae_models)
    np.testing.assert_array_equal(vae.sample(4, seed=1), vae.sample(4, seed=1))
    assert vae.sample(4, seed=1).shape == (4, 8, 8, 1)
    images = tiny.images(3)
    assert vae.reconstruct(images).shape == images.shape
    assert vae.interpolate([0.0, 0.0], [1.0, 1.0], steps=5).shape == (5, 8, 8, 1)


def test_reconstruct_is_deterministic(vae_models, tiny):
    vae = compiled_vae(*vae_models)
    images = tiny.images(3)
    np.testing.assert_array_equal(vae.reconstruct(images), vae.reconstruct(images))


def test_trained_encoder_and_decoder_save_and_reload(vae_models, tmp_path, tiny):
    encoder, decoder = vae_models
    compiled_vae(encoder, decoder).fit(tiny.images(8), batch_size=8, epochs=1, verbose=0)
    assert_model_roundtrip(decoder, str(tmp_path))
    reloaded = keras.saving.load_model(_save(encoder, tmp_path))
    images = tiny.images(2)
    np.testing.assert_allclose(reloaded(images)[0], encoder(images)[0], rtol=1e-5, atol=1e-6)


def _save(model, directory):
    path = str(directory / f"{model.name}.keras")
    model.save(path)
    return path


def test_encoder_without_three_outputs_is_refused(vae_models):
    _, decoder = vae_models
    encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError) as error:
        VAE(encoder, decoder)
    assert str(error.value) == (
        "Invalid value for argument `encoder`: expected a model with 3 outputs [z_mean, z_log_var, z]. "
        "Received: a model with 1 output(s)"
    )


def test_warmup_in_steps_and_epochs_together_is_refused(vae_models):
    with pytest.raises(ValueError, match="expected at most one of them to be set"):
        VAE(*vae_models, kl_warmup_steps=10, kl_warmup_epochs=2)


def dropout_vae(encoder_dropout=0.5, decoder_dropout=0.5, regularizer=None, **kwargs):
    """A VAE whose only randomness is Dropout: z is z_mean (no sampling), so any output that differs between
    two calls was computed in training mode."""
    images = keras.Input((4,))
    hidden = keras.layers.Dropout(encoder_dropout, seed=1)(keras.layers.Dense(8, kernel_regularizer=regularizer)(images))
    z_mean, z_log_var = keras.layers.Dense(2)(hidden), keras.layers.Dense(2)(hidden)
    encoder = keras.Model(images, [z_mean, z_log_var, keras.layers.Identity()(z_mean)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8), keras.layers.Dropout(decoder_dropout, seed=2),
                                keras.layers.Dense(4, activation="sigmoid")])
    vae = VAE(encoder, decoder, **kwargs)
    vae.compile(optimizer="adam")
    return vae


def test_calling_encoding_reconstructing_and_evaluating_run_in_inference_mode():
    vae = dropout_vae()
    x = np.random.default_rng(0).uniform(size=(16, 4)).astype("float32")
    np.testing.assert_array_equal(np.asarray(vae(x)), np.asarray(vae(x)))
    np.testing.assert_allclose(np.asarray(vae(x)), vae.reconstruct(x), rtol=1e-6)
    np.testing.assert_array_equal(vae.encode(x), vae.encode(x))
    np.testing.assert_array_equal(vae.reconstruct(x), vae.reconstruct(x))
    first, second = (vae.evaluate(x, batch_size=16, verbose=0, return_dict=True) for _ in range(2))
    assert first == second
    # ... while training mode does drop units: the same call with training=True differs.
    assert not np.array_equal(np.asarray(vae(x, training=True)), np.asarray(vae(x, training=True)))


def test_defaults_are_the_plain_elbo_and_eight_interpolation_steps():
    vae = dropout_vae()
    assert (vae.beta, vae.kl_warmup_steps, vae.kl_warmup_epochs) == (1.0, 0, 0)
    assert float(vae.kl_weight()) == 1.0
    assert vae.interpolate(np.zeros(2), np.ones(2)).shape == (8, 4)


def test_sample_uses_the_trainers_seed_unless_given_one():
    vae = dropout_vae(seed=3)
    np.testing.assert_array_equal(vae.sample(4), vae.sample(4, seed=3))
    assert not np.array_equal(vae.sample(4), vae.sample(4, seed=4))


@pytest.mark.parametrize("arguments, message", [
    ({"beta": -0.5}, "Invalid value for argument `beta`: expected a number >= 0. Received: beta=-0.5"),
    ({"beta": "1"}, "Invalid value for argument `beta`: expected a number >= 0. Received: beta='1'"),
    ({"kl_warmup_steps": -1},
     "Invalid value for argument `kl_warmup_steps`: expected an integer >= 0. Received: kl_warmup_steps=-1"),
    ({"kl_warmup_epochs": 1.5},
     "Invalid value for argument `kl_warmup_epochs`: expected an integer >= 0. Received: kl_warmup_epochs=1.5"),
    ({"kl_warmup_steps": 2, "kl_warmup_epochs": 1},
     "Invalid values for arguments `kl_warmup_steps` and `kl_warmup_epochs`: expected at most one of them to be set. "
     "Received: kl_warmup_steps=2, kl_warmup_epochs=1"),
])
def test_bad_arguments_are_refused_in_one_line(arguments, message):
    with pytest.raises(ValueError) as caught:
        dropout_vae(**arguments)
    assert str(caught.value) == message


@pytest.mark.parametrize("beta", [0, 0.5])
def test_a_kl_weight_below_one_is_allowed(beta):
    assert dropout_vae(beta=beta).beta == beta


@pytest.mark.parametrize("network", ["encoder", "decoder"])
def test_loss_terms_pass_the_training_flag_to_each_network(network):
    vae = dropout_vae(encoder_dropout=0.5 if network == "encoder" else 0.0,
                      decoder_dropout=0.5 if network == "decoder" else 0.0)
    x = np.random.default_rng(1).uniform(size=(16, 4)).astype("float32")
    term = 1 if network == "encoder" else 0  # dropout before z_mean moves the KL term; after z, reconstruction
    draws = [float(vae.compute_loss_terms(x, training=True)[1][term]) for _ in range(2)]
    assert draws[0] != draws[1]
    assert float(vae.compute_loss_terms(x)[0]) == float(vae.compute_loss_terms(x)[0])  # inference by default


def test_total_loss_adds_the_layers_regularization_losses():
    vae = dropout_vae(encoder_dropout=0.0, decoder_dropout=0.0, regularizer=keras.regularizers.L2(10.0))
    x = np.random.default_rng(2).uniform(size=(8, 4)).astype("float32")
    total, (reconstruction, kl) = vae.compute_loss_terms(x)
    penalty = 10.0 * float(np.sum(np.square(np.asarray(vae.encoder.layers[1].kernel))))
    assert penalty > 1.0
    assert float(total) == pytest.approx(float(reconstruction) + float(kl) + penalty, rel=1e-5)


def test_warmup_in_epochs_starts_at_zero_and_keeps_the_users_callbacks():
    vae = dropout_vae(kl_warmup_epochs=2)
    assert float(vae.kl_weight()) == 0.0  # before the first epoch
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    vae.fit(np.ones((4, 4), "float32"), batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    assert epochs == [0, 1]


def test_a_training_step_runs_the_networks_in_training_mode_and_evaluation_does_not():
    # BatchNormalization moves its moving mean only in training mode: a step that ran the encoder in inference
    # mode would leave it at zero, and an evaluation in training mode would move it.
    images = keras.Input((4,))
    norm = keras.layers.BatchNormalization(momentum=0.0)
    hidden = norm(keras.layers.Dense(8)(images))
    z_mean, z_log_var = keras.layers.Dense(2)(hidden), keras.layers.Dense(2)(hidden)
    encoder = keras.Model(images, [z_mean, z_log_var, keras.layers.Identity()(z_mean)])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="sigmoid")])
    vae = VAE(encoder, decoder)
    vae.compile(optimizer="adam")
    x = np.random.default_rng(3).uniform(size=(8, 4)).astype("float32")
    vae.evaluate(x, batch_size=8, verbose=0)
    np.testing.assert_array_equal(np.asarray(norm.moving_mean), np.zeros(8))
    vae.fit(x, batch_size=8, epochs=1, verbose=0)
    assert np.abs(np.asarray(norm.moving_mean)).max() > 0
