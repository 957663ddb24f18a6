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
