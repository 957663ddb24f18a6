"""CycleGAN trainer: which weights each phase moves, its losses on hand-computed values, options and errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from support import assert_model_roundtrip

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.cyclegan import CycleGAN


def compiled(models, learning_rate=1e-2, **options):
    cyclegan = CycleGAN(*models, seed=0, **options)
    cyclegan.compile(g_optimizer=keras.optimizers.Adam(learning_rate), d_optimizer=keras.optimizers.Adam(learning_rate))
    return cyclegan


def test_cyclegan_is_registered():
    assert TRAINERS.get("cyclegan") is CycleGAN


def test_generator_step_moves_both_generators_and_no_discriminator(translation):
    models = translation.models()
    cyclegan = compiled(models)
    before = [translation.weights_of(m) for m in models]
    cyclegan.train_generators(translation.images(4, seed=1), translation.images(4, seed=2))
    assert [translation.moved(b, m) for b, m in zip(before, models)] == [True, True, False, False]


@pytest.mark.parametrize("phase, moves", [("train_discriminator_a", [False, False, True, False]),
                                          ("train_discriminator_b", [False, False, False, True])])
def test_each_discriminator_step_moves_only_its_discriminator(translation, phase, moves):
    models = translation.models()
    cyclegan = compiled(models)
    before = [translation.weights_of(m) for m in models]
    getattr(cyclegan, phase)(translation.images(4, seed=1), translation.images(4, seed=2))
    assert [translation.moved(b, m) for b, m in zip(before, models)] == moves


def test_discriminator_losses_have_no_gradient_path_to_the_generators(monkeypatch, translation):
    models = translation.models()
    cyclegan = compiled(models)
    generator_variables = cyclegan.generator_variables
    seen = []
    minimize = gradients.minimize

    def spy(optimizer, compute_loss, variables):
        with tf.GradientTape() as tape:
            loss, _ = compute_loss()
        seen.append((variables, tape.gradient(loss, generator_variables)))
        return minimize(optimizer, compute_loss, variables)

    monkeypatch.setattr(gradients, "minimize", spy)
    cyclegan.train_step((translation.images(4, seed=1), translation.images(4, seed=2)))
    (g_variables, g_grads), (da_variables, da_grads), (db_variables, db_grads) = seen
    assert all(g is not None for g in g_grads)
    assert all(g is None for g in da_grads + db_grads)  # generated images reach the discriminators as constants
    assert [v.path for v in da_variables] == [v.path for v in models[2].trainable_variables]
    assert [v.path for v in db_variables] == [v.path for v in models[3].trainable_variables]


def pointwise_models(g, f, d_a, d_b):
    """1x1 convolutions without bias: G(x) = g x, F(x) = f x, D_A(x) = d_a x, D_B(x) = d_b x."""

    def scale(value, name):
        images = keras.Input((2, 2, 1))
        layer = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer=keras.initializers.Constant(value))
        return keras.Model(images, layer(images), name=name)

    return scale(g, "g"), scale(f, "f"), scale(d_a, "d_a"), scale(d_b, "d_b")


A = np.array([0.5, -1.0, 0.25, 1.0], "float32").reshape(1, 2, 2, 1)
B = np.array([-0.5, 0.75, 1.0, 0.0], "float32").reshape(1, 2, 2, 1)


@pytest.mark.parametrize("loss", ["lsgan", "non_saturating"])
def test_generator_loss_is_adversarial_plus_cycle_plus_identity_by_hand(loss):
    g, f, d_a, d_b = 2.0, 0.25, 0.5, 3.0
    cyclegan = CycleGAN(*pointwise_models(g, f, d_a, d_b), loss=loss, lambda_cycle=10.0, pool_size=0)
    total, (cycle, identity, fake_a, fake_b) = cyclegan.generator_loss(A, B)
    if loss == "lsgan":  # Zhu et al.: E[(D(G(a)) - 1)^2], no 1/2
        adversarial = np.mean((d_b * g * A - 1) ** 2) + np.mean((d_a * f * B - 1) ** 2)
    else:  # binary cross-entropy against "real": softplus(-logit)
        adversarial = np.mean(np.log1p(np.exp(-d_b * g * A))) + np.mean(np.log1p(np.exp(-d_a * f * B)))
    expected_cycle = np.mean(np.abs(f * g * A - A)) + np.mean(np.abs(g * f * B - B))
    expected_identity = np.mean(np.abs(g * B - B)) + np.mean(np.abs(f * A - A))
    np.testing.assert_allclose(float(cycle), expected_cycle, rtol=1e-6)
    np.testing.assert_allclose(float(identity), expected_identity, rtol=1e-6)
    # lambda_identity defaults to half of lambda_cycle.
    np.testing.assert_allclose(float(total), adversarial + 10 * expected_cycle + 5 * expected_identity, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(fake_b), g * A, rtol=1e-6)


def test_discriminator_loss_is_half_the_least_squares_objective_by_hand():
    g, f, d_a, d_b = 2.0, 0.25, 0.5, 3.0
    cyclegan = CycleGAN(*pointwise_models(g, f, d_a, d_b), pool_size=0)
    fake_a = f * B
    loss = cyclegan.discriminator_loss(cyclegan.discriminator_a, A, fake_a)
    expected = 0.5 * (np.mean((d_a * A - 1) ** 2) + np.mean((d_a * fake_a) ** 2))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)


def test_zero_identity_weight_leaves_the_identity_term_out():
    cyclegan = CycleGAN(*pointwise_models(2.0, 0.25, 0.5, 3.0), lambda_identity=0, pool_size=0)
    total, (cycle, identity, _, _) = cyclegan.generator_loss(A, B)
    assert float(identity) == 0.0
    adversarial = np.mean((3.0 * 2.0 * A - 1) ** 2) + np.mean((0.5 * 0.25 * B - 1) ** 2)
    np.testing.assert_allclose(float(total), adversarial + 10 * float(cycle), rtol=1e-5)


def test_identity_loss_between_domains_of_different_shapes_is_refused(translation):
    models = translation.models(shape_b=(8, 8, 3))
    with pytest.raises(ValueError) as error:
        CycleGAN(*models)
    assert str(error.value) == (
        "Invalid value for argument `lambda_identity`: the identity loss feeds images of B to G and of A to F, "
        "which needs domains of one image shape; set lambda_identity: 0. Received: lambda_identity=5.0 with "
        "A (8, 8, 1) and B (8, 8, 3)")
    cyclegan = compiled(models, lambda_identity=0)
    g_loss, (cycle, identity, fake_a, fake_b) = cyclegan.train_generators(translation.images(2),
                                                                         translation.images(2, (8, 8, 3)))
    assert float(identity) == 0.0 and np.isfinite(float(g_loss))
    assert (fake_a.shape, fake_b.shape) == ((2, 8, 8, 1), (2, 8, 8, 3))


@pytest.fixture(scope="module")
def fitted(translation):
    """One compiled CycleGAN fitted for 2 epochs of 2 steps with validation, the learning rates decaying over the
    last epoch: `(trainer, models, weights before, history)`. Shared, because tracing the step takes seconds."""
    models = translation.models()
    cyclegan = compiled(models, learning_rate=2e-4, decay_epochs=1, pool_size=6)
    before = [translation.weights_of(m) for m in models]
    images = [translation.images(8, seed=seed) for seed in range(4)]
    history = cyclegan.fit(images[0], images[1], batch_size=4, epochs=2, validation_data=(images[2][:4], images[3][:4]),
                           verbose=0)
    return cyclegan, models, before, history


def test_fit_trains_every_model_and_logs_every_loss(fitted, translation):
    cyclegan, models, before, history = fitted
    names = ["cycle_loss", "d_a_loss", "d_b_loss", "g_loss", "identity_loss"]
    assert sorted(history.history) == sorted(names + [f"val_{n}" for n in names] + ["learning_rate"])
    assert all(np.isfinite(values).all() for values in history.history.values())
    assert all(translation.moved(b, m) for b, m in zip(before, models))
    assert int(cyclegan.g_optimizer.iterations) == int(cyclegan.d_b_optimizer.iterations) == 4
    assert cyclegan.d_a_optimizer is not cyclegan.d_b_optimizer  # each discriminator has its own moments


def test_decay_epochs_lower_the_learning_rates_linearly_over_the_last_epochs(fitted):
    cyclegan, _, _, history = fitted
    np.testing.assert_allclose(history.history["learning_rate"], [2e-4, 1e-4], rtol=1e-6)
    for optimizer in (cyclegan.g_optimizer, cyclegan.d_a_optimizer, cyclegan.d_b_optimizer):
        np.testing.assert_allclose(float(optimizer.learning_rate), 1e-4, rtol=1e-6)


def test_pools_fill_inside_the_compiled_step(fitted):
    cyclegan = fitted[0]
    # 4 steps of 4 generated images each: the first 6 fill each pool, the rest swap in at random.
    assert int(cyclegan.pool_a.count) == int(cyclegan.pool_b.count) == 6
    assert np.abs(cyclegan.pool_a.images.numpy()).sum(axis=(1, 2, 3)).min() > 0  # every slot holds an image


def test_decay_with_a_learning_rate_schedule_is_refused(translation):
    cyclegan = CycleGAN(*translation.models(), decay_epochs=3)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)
    with pytest.raises(ValueError) as error:
        cyclegan.compile(g_optimizer=keras.optimizers.Adam(schedule), d_optimizer="adam")
    assert str(error.value) == (
        "Invalid value for argument `decay_epochs`: the linear decay sets the learning rate itself and needs "
        "optimizers with a constant one; drop `learning_rate_schedule` or set `decay_epochs: 0`. Received: an "
        "optimizer with a learning-rate schedule")


def test_a_batch_of_one_domain_is_refused(translation):
    cyclegan = compiled(translation.models())
    with pytest.raises(ValueError) as error:
        cyclegan.train_step(translation.images(4))
    assert str(error.value) == ("The translation trainers expect batches `(images of A, images of B)`. Received: one "
                                "array; give both domains, e.g. `fit(a, b)` or a data source with two domains")


def test_translation_rows_go_there_and_back(translation):
    cyclegan = CycleGAN(*translation.models(shape_b=(8, 8, 3)), lambda_identity=0)
    a, b = translation.images(3), translation.images(3, (8, 8, 3))
    rows = cyclegan.translation_rows(a, b)
    assert [c.shape for c in rows["ab"]] == [(3, 8, 8, 1), (3, 8, 8, 3), (3, 8, 8, 1)]
    assert [c.shape for c in rows["ba"]] == [(3, 8, 8, 3), (3, 8, 8, 1), (3, 8, 8, 3)]
    np.testing.assert_allclose(rows["ab"][2], cyclegan.translate(cyclegan.translate(a), "ba"), rtol=1e-6)
    with pytest.raises(ValueError, match="expected 'ab' or 'ba'. Received: direction='a2b'"):
        cyclegan.translate(a, "a2b")


def test_trained_generators_save_and_reload(fitted, tmp_path):
    for model in fitted[1][:2]:
        assert_model_roundtrip(model, str(tmp_path))


def test_a_training_step_runs_every_network_in_training_mode_and_evaluation_and_translation_do_not(translation):
    models, flags = translation.flagged_models()
    cyclegan = compiled(models, pool_size=0)
    a, b = translation.images(2, (4, 4, 1), seed=1), translation.images(2, (4, 4, 1), seed=2)
    cyclegan.train_step((a, b))
    # Each generator: translation, the way back, identity; each discriminator: the generator's fake, then real
    # and pooled fake in its own step.
    assert list(flags) == [[True] * 3] * 4
    for seen in flags:
        seen.clear()
    cyclegan.test_step((a, b))
    assert list(flags) == [[False] * 3] * 4
    flags[0].clear()
    np.testing.assert_allclose(cyclegan(a), models[0](a), rtol=1e-6)
    assert flags[0] == [False, None]  # the trainer's call runs G in inference mode (the second call is ours)


def test_regularization_losses_join_each_networks_objective(translation):
    (plain, _), (regularized, _) = translation.flagged_models(), translation.flagged_models(regularization=0.25)
    a, b = translation.images(2, (4, 4, 1), seed=1), translation.images(2, (4, 4, 1), seed=2)
    without, with_penalty = CycleGAN(*plain, pool_size=0), CycleGAN(*regularized, pool_size=0)
    # Kernels of ones, one weight each: 0.25 per network.
    np.testing.assert_allclose(float(with_penalty.generator_loss(a, b)[0]) - float(without.generator_loss(a, b)[0]),
                               0.25 * 2, rtol=1e-5)
    for name in ("discriminator_a", "discriminator_b"):
        penalized = with_penalty.discriminator_loss(getattr(with_penalty, name), a, b)
        np.testing.assert_allclose(float(penalized) - float(without.discriminator_loss(getattr(without, name), a, b)),
                                   0.25, rtol=1e-5)


def test_the_defaults_are_the_papers(translation):
    cyclegan = CycleGAN(*translation.models())
    assert type(cyclegan.adversarial_loss).__name__ == "LeastSquaresLoss"
    assert (cyclegan.lambda_cycle, cyclegan.lambda_identity, cyclegan.decay_epochs) == (10.0, 5.0, 0)
    assert cyclegan.pool_a.size == cyclegan.pool_b.size == 50


@pytest.mark.parametrize("seed, seeds", [(3, (3, 4)), (None, (None, None))])
def test_each_pool_draws_from_its_own_seed(translation, seed, seeds):
    cyclegan = CycleGAN(*translation.models(), seed=seed)
    assert (cyclegan.pool_a.seed, cyclegan.pool_b.seed) == seeds


def test_a_fresh_trainer_is_built_so_a_checkpoint_can_be_saved_and_loaded_before_any_step(translation, tmp_path):
    cyclegan = compiled(translation.models())
    cyclegan.save_weights(tmp_path / "fresh.weights.h5")
    other = compiled(translation.models(seed=1))
    other.load_weights(tmp_path / "fresh.weights.h5")
    a = translation.images(2)
    np.testing.assert_allclose(other.translate(a, "ba"), cyclegan.translate(a, "ba"), rtol=1e-6)


def test_compile_leaves_keras_own_optimizer_unset_and_passes_its_options_on(translation):
    cyclegan = CycleGAN(*translation.models())
    cyclegan.compile(g_optimizer="adam", d_optimizer=keras.optimizers.SGD(0.5, momentum=0.25), run_eagerly=True)
    assert cyclegan.optimizer is None and cyclegan.run_eagerly
    assert type(cyclegan.d_b_optimizer) is keras.optimizers.SGD and cyclegan.d_b_optimizer.momentum == 0.25
    assert float(cyclegan.d_b_optimizer.learning_rate) == 0.5


def test_decay_keeps_the_users_callbacks_and_a_schedule_is_allowed_without_decay(translation):
    cyclegan = compiled(translation.models(), decay_epochs=1, pool_size=0)
    epochs = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    cyclegan.fit(translation.images(2), translation.images(2, seed=1), batch_size=2, epochs=2, verbose=0,
                 callbacks=[callback])
    assert epochs == [0, 1]
    undecayed = CycleGAN(*translation.models())
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=10, decay_rate=0.5)
    undecayed.compile(g_optimizer=keras.optimizers.Adam(schedule), d_optimizer="adam")
    assert undecayed.base_learning_rates == []


@pytest.mark.parametrize("direction, generator", [("ab", "generator_ab"), ("ba", "generator_ba")])
def test_translate_runs_the_generator_of_the_direction_on_batches_of_32_by_default(translation, monkeypatch,
                                                                                   direction, generator):
    from kspec.trainers import cyclegan as module

    calls = []
    monkeypatch.setattr(module, "translate_in_batches", lambda *args, **kwargs: calls.append((args, kwargs)))
    cyclegan = CycleGAN(*translation.models())
    images = translation.images(2)
    cyclegan.translate(images, direction)
    (args, kwargs), = calls
    assert args[0] is getattr(cyclegan, generator) and args[1] is images and args[2:] == (32,) and kwargs == {}


@pytest.mark.parametrize("role", range(4))
def test_a_model_of_two_inputs_is_refused_in_any_role(translation, role):
    models = list(translation.models())
    models[role] = translation.models(conditional=True)[1]
    names = ["generator_ab", "generator_ba", "discriminator_a", "discriminator_b"]
    with pytest.raises(ValueError) as error:
        CycleGAN(*models)
    assert str(error.value) == (f"Invalid value for argument `{names[role]}`: CycleGAN's models take one image "
                                "input. Received: a model with 2 inputs")


@pytest.mark.parametrize("options, message", [
    ({"lambda_cycle": -1}, "Invalid value for argument `lambda_cycle`: expected a number >= 0. Received: "
                           "lambda_cycle=-1"),
    ({"lambda_identity": -0.5}, "Invalid value for argument `lambda_identity`: expected a number >= 0. Received: "
                                "lambda_identity=-0.5"),
    ({"loss": "wasserstein_gp"}, "Invalid value for argument `loss`: the CycleGAN trainer has no gradient penalty; "
                                 "use `lsgan`, `non_saturating` or `hinge`. Received: loss='wasserstein_gp'"),
])
def test_options_cyclegan_cannot_use_are_refused(translation, options, message):
    with pytest.raises(ValueError) as error:
        CycleGAN(*translation.models(), **options)
    assert str(error.value) == message


def test_a_pool_of_images_of_open_size_is_refused_with_what_to_do():
    def open_sized(name):
        images = keras.Input((None, None, 1))
        return keras.Model(images, keras.layers.Conv2D(1, 1)(images), name=name)

    with pytest.raises(ValueError) as error:
        CycleGAN(*[open_sized(name) for name in ("g", "f", "d_a", "d_b")])
    assert str(error.value) == (
        "Invalid value for argument `pool_size`: An image pool needs images of a fixed shape. Received: "
        "input_shape=(None, None, None, 1); give the generators inputs of a fixed size or set pool_size: 0. "
        "Received: pool_size=50")
    assert CycleGAN(*[open_sized(name) for name in ("g", "f", "d_a", "d_b")], pool_size=0).pool_a.size == 0


def test_the_pools_are_named_for_their_domain_in_checkpoints(translation):
    cyclegan = CycleGAN(*translation.models())
    assert [v.path for v in cyclegan.pool_a.weights + cyclegan.pool_b.weights] == [
        "pool_a/images", "pool_a/count", "pool_b/images", "pool_b/count"]
