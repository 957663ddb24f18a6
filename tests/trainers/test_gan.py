import keras
import numpy as np
import pytest
import tensorflow as tf
from support import assert_model_roundtrip

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.gan import GAN, _as_model_labels


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
    loss, terms = gan.discriminator_loss(real, fake)
    assert float(terms["gradient_penalty"]) > 0
    np.testing.assert_allclose(float(loss), float(terms["adversarial"]) + 10.0 * float(terms["gradient_penalty"]), rtol=1e-5)


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
    with pytest.raises(ValueError) as error:
        gan.fit(tiny.images(8, low=-1.0), batch_size=4, epochs=1, verbose=0)
    assert str(error.value) == (
        "A conditional GAN (`num_classes` set) expects batches `(images, labels)`. Received: images only")


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


# -- Regularizers: R1, spectral normalization, DiffAugment ------------------------------------------------------


def linear_discriminator(image_shape=(4, 4, 1), seed=0):
    """D(x) = w . x + b, whose input gradient is w at every x: ||grad||^2 = ||w||^2."""
    keras.utils.set_random_seed(seed)
    images = keras.Input(image_shape)
    return keras.Model(images, keras.layers.Dense(1, name="logit")(keras.layers.Flatten()(images)))


def squared_norm_discriminator(image_shape=(4, 4, 1)):
    """D(x) = ||x||^2, whose input gradient is 2x: ||grad||^2 = 4 ||x||^2, different at each point."""
    images = keras.Input(image_shape)
    square_norm = keras.layers.Lambda(lambda x: keras.ops.sum(x * x, axis=(1, 2, 3))[:, None])
    return keras.Model(images, square_norm(images))


def test_r1_of_a_linear_discriminator_is_the_squared_norm_of_its_weights(tiny):
    generator, _ = tiny.gan_models(image_shape=(4, 4, 1))
    discriminator = linear_discriminator()
    gan = compiled_gan(generator, discriminator, r1_gamma=3.0)
    real, fake = tiny.images(6, (4, 4, 1), low=-1.0, seed=1), tiny.images(6, (4, 4, 1), low=-1.0, seed=2)
    loss, terms = gan.discriminator_loss(real, fake)
    w_squared = float(np.sum(discriminator.get_layer("logit").kernel.numpy() ** 2))
    np.testing.assert_allclose(float(terms["r1_penalty"]), w_squared, rtol=1e-5)
    np.testing.assert_allclose(float(loss), float(terms["adversarial"]) + 1.5 * w_squared, rtol=1e-5)


def test_r1_of_a_quadratic_discriminator_averages_each_real_points_gradient(tiny):
    generator, _ = tiny.gan_models(image_shape=(4, 4, 1))
    gan = compiled_gan(generator, squared_norm_discriminator(), r1_gamma=1.0)
    real = tiny.images(5, (4, 4, 1), low=-1.0, seed=1)
    _, terms = gan.discriminator_loss(real, tiny.images(5, (4, 4, 1), low=-1.0, seed=2))
    expected = np.mean(np.sum((2 * real) ** 2, axis=(1, 2, 3)))  # fakes do not enter R1
    np.testing.assert_allclose(float(terms["r1_penalty"]), expected, rtol=1e-5)


def test_lazy_r1_applies_every_interval_steps_scaled_by_the_interval(tiny):
    generator, _ = tiny.gan_models(image_shape=(4, 4, 1))
    gan = compiled_gan(generator, linear_discriminator(), r1_gamma=2.0, r1_interval=4)
    real, fake = tiny.images(4, (4, 4, 1), low=-1.0, seed=1), tiny.images(4, (4, 4, 1), low=-1.0, seed=2)
    weights = []
    for step in range(5):
        gan.d_optimizer.iterations.assign(step)
        loss, terms = gan.discriminator_loss(real, fake)
        weights.append(float(terms["r1_weight"]))
        if step == 1:
            assert float(terms["r1_penalty"]) == 0.0 and float(loss) == pytest.approx(float(terms["adversarial"]))
    assert weights == [4.0, 0.0, 0.0, 0.0, 4.0]  # gamma / 2 * interval on steps 0 and 4


def test_lazy_r1_metric_averages_only_the_steps_that_computed_it_when_compiled(tiny):
    generator, _ = tiny.gan_models(image_shape=(4, 4, 1))
    discriminator = linear_discriminator()
    gan = GAN(generator, discriminator, seed=0, r1_gamma=1.0, r1_interval=3)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    w0 = float(np.sum(discriminator.get_layer("logit").kernel.numpy() ** 2))
    history = gan.fit(tiny.images(12, (4, 4, 1), low=-1.0), batch_size=4, epochs=1, verbose=0)  # steps 0, 1, 2
    assert int(gan.d_optimizer.iterations) == 3
    np.testing.assert_allclose(history.history["r1_penalty"][0], w0, rtol=1e-5)  # step 0's weights only
    assert float(np.sum(discriminator.get_layer("logit").kernel.numpy() ** 2)) != pytest.approx(w0)


def test_spectral_norm_option_wraps_the_discriminator_and_trains_the_shared_weights(gan_models, tiny):
    generator, discriminator = gan_models
    gan = compiled_gan(generator, discriminator, spectral_norm=True)
    wrapped = [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert [layer.layer for layer in wrapped] == [l for l in discriminator.layers if isinstance(l, keras.layers.Dense)]
    before = tiny.weights_of(discriminator)
    gan.fit(tiny.images(8, low=-1.0), batch_size=4, epochs=1, verbose=0)
    assert tiny.moved(before, discriminator)  # the spec's model holds the trained weights
    x = tiny.images(3, low=-1.0)
    np.testing.assert_allclose(discriminator(x), gan.discriminator(x), rtol=1e-5)


SPECTRAL_NORM_SPEC = """\
kspec: 1
models:
  generator:
    inputs: {z: [4]}
    layers:
      - dense: {units: 64, activation: tanh}
      - reshape: {target_shape: [8, 8, 1]}
  discriminator:
    inputs: {image: [8, 8, 1]}
    layers:
      - spectral_normalization: {layer: {conv2d: {filters: 4, kernel_size: 3, strides: 2, padding: same}}}
      - leaky_relu: {negative_slope: 0.2}
      - flatten:
      - {name: logit, spectral_normalization: {layer: {dense: {units: 1}}}}
training:
  trainer: {gan: {loss: hinge}}
"""


def test_spectral_normalization_as_a_spec_wrapper_trains_and_is_not_wrapped_twice(tmp_path, tiny):
    from kspec import builder
    from kspec.trainers import build_trainer

    path = tmp_path / "gan.yaml"
    path.write_text(SPECTRAL_NORM_SPEC)
    assert builder.validate(str(path)) == []
    models = builder.build(builder.load_spec(str(path)))
    gan = build_trainer("gan", models, {"spectral_norm": True, "seed": 0})
    assert gan.discriminator.get_layer("logit").layer is models["discriminator"].get_layer("logit").layer
    gan.compile(d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.01))
    gan.fit(tiny.images(16, low=-1.0), batch_size=8, epochs=3, verbose=0)
    for name in ("spectral_normalization", "logit"):
        kernel = models["discriminator"].get_layer(name).layer.kernel.numpy()
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert abs(sigma - 1.0) < 0.05  # normalized at each call, then one small SGD step


class RecordingAugment:
    """Stands in for the trainer's DiffAugment: records each batch it is given and applies the real policy."""

    def __init__(self, augment):
        self.augment, self.calls = augment, []

    def __call__(self, images):
        self.calls.append(np.asarray(images))
        return self.augment(images)


def test_diff_augment_transforms_real_and_generated_batches_in_both_phases(gan_models, tiny):
    gan = compiled_gan(*gan_models, diff_augment=["translation", "cutout", "color"])
    assert gan.augment.policy == ("translation", "cutout", "color")
    recorder = gan.augment = RecordingAugment(gan.augment)
    real = tiny.images(4, low=-1.0)
    gan.train_discriminator(real)
    assert len(recorder.calls) == 2  # one policy object: the same transformations for both batches
    np.testing.assert_array_equal(recorder.calls[0], real)
    assert recorder.calls[1].shape == real.shape and not np.array_equal(recorder.calls[1], real)
    gan.train_generator(4)
    assert len(recorder.calls) == 3  # the generated batch of the generator phase too
    gan.test_step(real)
    assert len(recorder.calls) == 3  # validation scores unaugmented images


def test_gradients_reach_the_generator_through_diff_augment(gan_models, tiny):
    generator, discriminator = gan_models
    gan = compiled_gan(generator, discriminator, diff_augment=["translation", "cutout", "color"])
    z = gan.prior.sample(8, seed=0)
    with tf.GradientTape() as tape:
        loss, _ = gan.generator_loss(z)
    grads = tape.gradient(loss, generator.trainable_weights)
    assert all(g is not None for g in grads)
    assert all(float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)


def test_every_regularizer_together_trains_a_conditional_wgan_gp_when_compiled(tiny):
    generator, discriminator = tiny.gan_models(num_classes=3)
    gan = compiled_gan(generator, discriminator, num_classes=3, loss="wasserstein_gp", r1_gamma=1.0, r1_interval=2,
                       spectral_norm=True, diff_augment=["translation", "cutout", "color"])
    history = gan.fit(tiny.images(8, low=-1.0), np.arange(8) % 3, batch_size=4, epochs=1, verbose=0)
    assert sorted(history.history) == ["d_loss", "g_loss", "gradient_penalty", "r1_penalty"]
    assert all(np.isfinite(v).all() for v in history.history.values())


@pytest.mark.parametrize(
    "options,message",
    [
        ({"r1_gamma": -1.0}, "Invalid value for argument `r1_gamma`: expected a number >= 0 (0 turns R1 off). "
         "Received: r1_gamma=-1.0"),
        ({"r1_interval": 0}, "Invalid value for argument `r1_interval`: expected an integer >= 1. Received: r1_interval=0"),
        ({"spectral_norm": "yes"}, "Invalid value for argument `spectral_norm`: expected true or false. "
         "Received: spectral_norm='yes'"),
        ({"diff_augment": ["flip"]}, "Invalid value for argument `diff_augment`: unknown augmentation 'flip'; expected "
         "any of color, translation, cutout. Received: diff_augment=['flip']"),
        ({"n_critic": 0}, "Invalid value for argument `n_critic`: expected an integer >= 1. Received: n_critic=0"),
        ({"ema_decay": 0.0}, "Invalid value for argument `ema_decay`: expected a number in (0, 1) or None. "
         "Received: ema_decay=0.0"),
        ({"ema_decay": 1.0}, "Invalid value for argument `ema_decay`: expected a number in (0, 1) or None. "
         "Received: ema_decay=1.0"),
        ({"num_classes": 3}, "Invalid value for argument `generator`: a conditional GAN needs 2 inputs [x, label]. "
         "Received: a model with 1 input(s)"),
    ],
)
def test_bad_options_are_refused_in_one_line(gan_models, options, message):
    with pytest.raises(ValueError) as error:
        GAN(*gan_models, **options)
    assert str(error.value) == message


def test_spectral_norm_needs_a_kernel_and_diff_augment_needs_images(tiny):
    generator, _ = tiny.gan_models(image_shape=(4, 4, 1))
    images = keras.Input((4, 4, 1))
    no_kernels = keras.Model(images, keras.layers.Lambda(lambda x: keras.ops.mean(x, axis=(1, 2)))(images))
    with pytest.raises(ValueError) as error:
        GAN(generator, no_kernels, spectral_norm=True)
    assert str(error.value) == (
        "Invalid value for argument `spectral_norm`: the discriminator has no Dense or convolutional layer whose kernel "
        "could be normalized (layers with weights: none). Received: spectral_norm=True")
    points = tiny.aae_models(data_dim=2)[2]  # a critic of 2-D points
    flat_generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError) as error:
        GAN(flat_generator, points, diff_augment=["translation"])
    assert str(error.value) == (
        "Invalid value for argument `diff_augment`: DiffAugment transforms images, so the discriminator's first input "
        "must be (height, width, channels) with a known size. Received: input shape (2,)")


# The penalty of WGAN-GP is computed in evaluation too; R1 only in training steps.
@pytest.mark.parametrize("options, d_calls, d_evaluation_calls", [
    ({}, 3, 3), ({"loss": "wasserstein_gp"}, 4, 4), ({"r1_gamma": 1.0}, 4, 3)])
def test_a_training_step_runs_both_networks_in_training_mode_and_evaluation_and_sampling_do_not(
        options, d_calls, d_evaluation_calls, tiny):
    models, (g_flags, d_flags) = tiny.flagged_gan_models()
    gan = compiled_gan(*models, **options)
    real = np.random.default_rng(0).uniform(size=(4, 4)).astype("float32")
    gan.train_step(real)
    # G: the discriminator step's fakes, the generator step; D: real, fake (and the penalty's), the generator step.
    assert (g_flags, d_flags) == ([True] * 2, [True] * d_calls)
    g_flags.clear(), d_flags.clear()
    gan.test_step(real)
    assert (g_flags, d_flags) == ([False], [False] * d_evaluation_calls)
    g_flags.clear()
    gan.sample(2), gan(np.zeros((2, 2), "float32"))
    assert g_flags == [False, False]


def test_regularization_losses_join_each_networks_objective(tiny):
    (plain, _), (regularized, _) = tiny.flagged_gan_models(), tiny.flagged_gan_models(regularization=0.5)
    without, with_penalty = GAN(*plain), GAN(*regularized)
    real, fake = np.ones((2, 4), "float32"), np.zeros((2, 4), "float32")
    # Kernels of ones: 2x4 generator weights, 4 discriminator weights.
    np.testing.assert_allclose(float(with_penalty.discriminator_loss(real, fake)[0])
                               - float(without.discriminator_loss(real, fake)[0]), 0.5 * 4, rtol=1e-5)
    z = np.ones((2, 2), "float32")
    np.testing.assert_allclose(float(with_penalty.generator_loss(z)[0]) - float(without.generator_loss(z)[0]),
                               0.5 * 8, rtol=1e-5)


def test_compile_leaves_keras_own_optimizer_unset_and_passes_its_options_on(gan_models):
    gan = GAN(*gan_models)
    gan.compile(d_optimizer="adam", g_optimizer="sgd", run_eagerly=True)
    assert gan.optimizer is None and gan.run_eagerly
    assert (type(gan.d_optimizer), type(gan.g_optimizer)) == (keras.optimizers.Adam, keras.optimizers.SGD)


def test_a_fresh_trainer_is_built_so_a_checkpoint_can_be_saved_and_loaded_before_any_step(tiny, tmp_path):
    gan = compiled_gan(*tiny.gan_models())
    gan.save_weights(tmp_path / "fresh.weights.h5")
    other = compiled_gan(*tiny.gan_models(seed=1))
    other.load_weights(tmp_path / "fresh.weights.h5")
    np.testing.assert_allclose(other.sample(2, seed=3), gan.sample(2, seed=3), rtol=1e-6)


def test_every_latent_draw_of_a_step_is_one_per_image_from_the_trainers_seed_generator(tiny, monkeypatch):
    gan = compiled_gan(*tiny.flagged_gan_models()[0])
    drawn = tiny.prior_draws(monkeypatch, gan)
    real = np.random.default_rng(0).uniform(size=(6, 4)).astype("float32")  # 6 points of 4 values
    gan.train_step(real), gan.test_step(real)
    assert drawn == [(6, True)] * 3  # the discriminator's fakes, the generator step, evaluation
    drawn.clear()
    gan.sample(2)
    assert drawn == [(2, False)]  # sampling draws from the trainer's integer seed instead


def label_input(shape):
    """Stands in for a conditional model: `_as_model_labels` reads only the shape of its second input."""
    import types

    return types.SimpleNamespace(inputs=[keras.Input((2,)), keras.Input(shape)])


@pytest.mark.parametrize("shape, num_classes, labels, expected", [
    ((3,), 3, [0, 2, 1], np.eye(3)[[0, 2, 1]]),  # integers to one-hot (as many labels as classes)
    ((3,), 3, np.eye(3)[[2, 0]], np.eye(3)[[2, 0]]),  # already one-hot: kept
    ((1,), 3, [2, 0], [[2], [0]]),  # integers to a column
    ((1,), 3, [[2], [0]], [[2], [0]]),  # already a column: kept
    ((1,), 1, [0, 0], [[0], [0]]),  # one class: a column of integers, not one-hot
    ((), 3, [2, 0], [2, 0]),  # a model taking a vector of integers
])
def test_labels_take_the_form_of_the_models_label_input(shape, num_classes, labels, expected):
    converted = keras.ops.convert_to_numpy(_as_model_labels(np.asarray(labels), label_input(shape), num_classes))
    np.testing.assert_array_equal(converted, np.asarray(expected))


def test_a_conditional_gan_gives_one_hot_labels_to_both_networks_and_keeps_each_phases_mode(tiny):
    (generator, discriminator), (g_flags, d_flags) = tiny.flagged_gan_models(num_classes=3)
    gan = compiled_gan(generator, discriminator, num_classes=3)
    real = np.random.default_rng(0).uniform(size=(6, 4)).astype("float32")
    labels = np.array([0, 1, 2, 2, 1, 0])
    gan.train_step((real, labels))
    assert (g_flags, d_flags) == ([True] * 2, [True] * 3)
    g_flags.clear(), d_flags.clear()
    logs = gan.test_step((real, labels))
    assert (g_flags, d_flags) == ([False], [False] * 3)
    assert np.isfinite([float(logs["d_loss"]), float(logs["g_loss"])]).all()
    # Sampling: the generator sees the draw and the labels one-hot (its kernel is ones: z sum + 1 per value).
    z = keras.ops.convert_to_numpy(gan.prior.sample(3, seed=4))
    expected = generator([z, np.eye(3, dtype="float32")[[2, 0, 1]]])
    np.testing.assert_allclose(gan.sample(3, seed=4, labels=[2, 0, 1]), expected, rtol=1e-6)


def test_unknown_image_height_is_refused_for_diff_augment(tiny):
    images = keras.Input((None, 8, 1))
    critic = keras.Model(images, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(images)))
    flat_generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8)])
    with pytest.raises(ValueError) as error:
        GAN(flat_generator, critic, diff_augment=["cutout"])
    assert str(error.value).endswith("with a known size. Received: input shape (None, 8, 1)")


def test_spectral_norm_refusal_lists_the_kinds_of_layers_with_weights(tiny):
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    normalized_only = keras.Sequential(
        [keras.Input((4,)), keras.layers.LayerNormalization(), keras.layers.BatchNormalization()])
    with pytest.raises(ValueError, match=r"\(layers with weights: BatchNormalization, LayerNormalization\)\. "):
        GAN(generator, normalized_only, spectral_norm=True)


def test_defaults_follow_the_papers(gan_models):
    gan = GAN(*gan_models)
    assert (gan.n_critic, gan.gradient_penalty_weight, gan.r1_gamma, gan.ema_generator) == (1, 10.0, 0.0, None)
    assert type(gan.adversarial_loss).__name__ == type(GAN(*gan_models, loss="non_saturating").adversarial_loss).__name__


def trained_weights(tiny, seed, global_seed):
    """Discriminator and generator weights after one epoch where every draw is random: latents, DiffAugment's
    translation, cutout and colour, and the interpolation weights of the gradient penalty. The models start
    alike; Keras' global seed differs, so a draw that ignored the trainer's seed would differ too."""
    gan = GAN(*tiny.gan_models(), loss="wasserstein_gp", diff_augment=["translation", "cutout", "color"], seed=seed)
    keras.utils.set_random_seed(global_seed)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2))
    gan.fit(tiny.images(8, low=-1.0), batch_size=4, epochs=1, verbose=0, shuffle=False)
    return tiny.weights_of(gan.discriminator) + tiny.weights_of(gan.generator)


def test_the_seed_makes_every_draw_of_training_and_sampling_repeatable(tiny):
    first, again, other = trained_weights(tiny, 5, 100), trained_weights(tiny, 5, 200), trained_weights(tiny, 6, 100)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(first, other))
    gan = GAN(*tiny.gan_models(), seed=7)
    np.testing.assert_array_equal(gan.sample(3), gan.sample(3, seed=7))


def test_interpolate_decodes_the_line_with_the_sampling_generator(gan_models):
    gan = GAN(*gan_models, ema_decay=0.5, seed=0)
    for average in gan.ema_generator.weights:  # an average away from the trained generator
        average.assign(average * 0.5)
    z0, z1 = np.zeros(4, "float32"), np.linspace(-1.0, 1.0, 4, dtype="float32")
    images = keras.ops.convert_to_numpy(gan.interpolate(z0, z1))
    assert images.shape == (8, 8, 8, 1)
    np.testing.assert_allclose(images[[0, -1]], gan.ema_generator(np.stack([z0, z1])), rtol=1e-5, atol=1e-6)
    assert keras.ops.convert_to_numpy(gan.interpolate(z0, z1, steps=3)).shape[0] == 3


def test_evaluation_logs_no_r1_penalty_it_did_not_compute(tiny):
    gan = compiled_gan(*tiny.gan_models(), r1_gamma=1.0)
    images = tiny.images(8, low=-1.0)
    assert "r1_penalty" in gan.fit(images, batch_size=4, epochs=1, verbose=0).history
    assert sorted(gan.evaluate(images, batch_size=4, verbose=0, return_dict=True)) == ["d_loss", "g_loss"]
