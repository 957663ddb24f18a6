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
