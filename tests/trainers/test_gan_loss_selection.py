"""Choosing an adversarial loss by name, its arguments, and the gradient penalty's behaviour at zero gradient."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kspec.registry import LOSSES
from kspec.trainers import gan_losses

NAMES = "`hinge`, `lsgan`, `minimax`, `non_saturating`, `wasserstein`, `wasserstein_gp`"


@pytest.fixture
def other_losses_registered(monkeypatch):
    """LOSSES also holding a plain function and a class that are not adversarial losses (restored afterwards)."""
    monkeypatch.setattr(LOSSES, "_entries", dict(LOSSES._entries))
    monkeypatch.setattr(LOSSES, "_origins", dict(LOSSES._origins))

    def plain_mse(a, b):
        return 0.0

    class NotAdversarial:
        pass

    LOSSES.register("plain_mse")(plain_mse)
    LOSSES.register("not_adversarial")(NotAdversarial)


def test_only_adversarial_losses_are_listed_or_accepted(other_losses_registered):
    assert gan_losses.adversarial_loss_names() == ["hinge", "lsgan", "minimax", "non_saturating", "wasserstein",
                                                   "wasserstein_gp"]
    for name in ("plain_mse", "not_adversarial"):
        with pytest.raises(ValueError) as caught:
            gan_losses.get_adversarial_loss(name)
        assert str(caught.value) == (f"Invalid value for argument `loss`: `{name}` is not an adversarial loss; "
                                     f"expected one of {NAMES}. Received: loss={name!r}")


def test_a_loss_that_is_neither_a_name_nor_an_adversarial_loss_is_refused():
    with pytest.raises(ValueError) as caught:
        gan_losses.get_adversarial_loss(5)
    assert str(caught.value) == f"Invalid value for argument `loss`: expected one of {NAMES}. Received: loss=5"


def test_an_adversarial_loss_instance_passes_through():
    loss = gan_losses.HingeLoss()
    assert gan_losses.get_adversarial_loss(loss) is loss


@pytest.mark.parametrize("smoothing", [-0.1, 1.0])
def test_label_smoothing_outside_the_unit_interval_is_refused_with_the_value(smoothing):
    with pytest.raises(ValueError) as caught:
        gan_losses.NonSaturatingLoss(label_smoothing=smoothing)
    assert str(caught.value) == ("Invalid value for argument `label_smoothing`: expected a number in [0, 1). "
                                 f"Received: label_smoothing={smoothing!r}")


def test_config_holds_the_label_smoothing():
    assert gan_losses.NonSaturatingLoss(label_smoothing=0.1).get_config() == {"label_smoothing": 0.1}
    assert gan_losses.HingeLoss().get_config() == {"label_smoothing": 0.0}


def test_penalty_at_zero_gradient_is_one_and_has_a_finite_gradient():
    # ||0|| = 0, so (0 - 1)^2 = 1; the norm's square root needs its epsilon for a finite derivative there.
    gradients = tf.Variable(np.zeros((3, 2, 1), "float32"))
    with tf.GradientTape() as tape:
        penalty = gan_losses.gradient_penalty(gradients)
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(tape.gradient(penalty, gradients))))


def test_penalty_norm_is_per_example_over_all_other_axes():
    # 3 examples of shape (2, 1): a norm over the wrong axis or a reshape by the wrong dimension differs.
    grads = np.array([[[3.0], [4.0]], [[0.0], [1.0]], [[0.6], [0.8]]], "float32")  # norms 5, 1, 1
    np.testing.assert_allclose(float(gan_losses.gradient_penalty(grads)), 16 / 3, rtol=1e-5)


def test_hinge_margins_point_the_right_way_for_real_and_fake():
    # Real logits above the margin +1 and fake ones below -1 cost nothing; each side has its own sign.
    real, fake = np.array([[2.0], [-0.5]], "float32"), np.array([[0.5], [-3.0]], "float32")
    d_loss = float(gan_losses.HingeLoss().discriminator_loss(real, fake))
    np.testing.assert_allclose(d_loss, np.mean([0.0, 1.5]) + np.mean([1.5, 0.0]), rtol=1e-6)
