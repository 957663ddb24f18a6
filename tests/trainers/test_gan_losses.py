import numpy as np
import pytest

from kspec.registry import LOSSES
from kspec.trainers import gan_losses

REAL = np.array([[1.0], [-2.0], [0.5]], dtype="float32")
FAKE = np.array([[0.5], [3.0], [-1.0]], dtype="float32")


def softplus(x):
    return np.log1p(np.exp(x))


# Closed forms written out by hand: loss name, smoothing, expected D loss, expected G loss.
CASES = [
    ("non_saturating", 0.0, softplus(-REAL).mean() + softplus(FAKE).mean(), softplus(-FAKE).mean()),
    (
        "non_saturating",
        0.1,
        (0.9 * softplus(-REAL) + 0.1 * softplus(REAL)).mean() + softplus(FAKE).mean(),
        softplus(-FAKE).mean(),
    ),
    ("minimax", 0.0, softplus(-REAL).mean() + softplus(FAKE).mean(), np.log(1 - 1 / (1 + np.exp(-FAKE))).mean()),
    ("wasserstein", 0.0, FAKE.mean() - REAL.mean(), -FAKE.mean()),
    ("wasserstein_gp", 0.0, FAKE.mean() - REAL.mean(), -FAKE.mean()),
    ("hinge", 0.0, np.maximum(0, 1 - REAL).mean() + np.maximum(0, 1 + FAKE).mean(), -FAKE.mean()),
    ("lsgan", 0.0, 0.5 * ((REAL - 1) ** 2).mean() + 0.5 * (FAKE**2).mean(), 0.5 * ((FAKE - 1) ** 2).mean()),
    ("lsgan", 0.2, 0.5 * ((REAL - 0.8) ** 2).mean() + 0.5 * (FAKE**2).mean(), 0.5 * ((FAKE - 1) ** 2).mean()),
]


@pytest.mark.parametrize("name,smoothing,d_expected,g_expected", CASES)
def test_adversarial_loss_matches_closed_form(name, smoothing, d_expected, g_expected):
    loss = gan_losses.get_adversarial_loss(name, label_smoothing=smoothing)
    np.testing.assert_allclose(float(loss.discriminator_loss(REAL, FAKE)), d_expected, rtol=1e-5)
    np.testing.assert_allclose(float(loss.generator_loss(FAKE)), g_expected, rtol=1e-5)


def test_hinge_discriminator_loss_is_zero_past_the_margin_and_linear_inside_it():
    # Lim & Ye (2017): E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]. REAL above has relu(1 - r) and relu(1 + r)
    # of equal means, so a sign error on the real term needs these logits to show.
    real, fake = np.array([[2.0], [0.25]], "float32"), np.array([[-3.0], [0.5]], "float32")
    loss = gan_losses.HingeLoss()
    np.testing.assert_allclose(float(loss.discriminator_loss(real, fake)), (0 + 0.75) / 2 + (0 + 1.5) / 2, rtol=1e-6)


def test_binary_losses_are_stable_for_large_logits():
    loss = gan_losses.NonSaturatingLoss()
    value = float(loss.discriminator_loss(np.array([[-200.0]], "float32"), np.array([[200.0]], "float32")))
    np.testing.assert_allclose(value, 400.0, rtol=1e-6)


def test_all_adversarial_losses_are_registered():
    assert gan_losses.adversarial_loss_names() == sorted(
        ["hinge", "lsgan", "minimax", "non_saturating", "wasserstein", "wasserstein_gp"]
    )
    assert LOSSES.get("hinge") is gan_losses.HingeLoss


def test_only_wasserstein_gp_asks_for_a_gradient_penalty():
    asking = [n for n in gan_losses.adversarial_loss_names() if gan_losses.get_adversarial_loss(n).uses_gradient_penalty]
    assert asking == ["wasserstein_gp"]


def test_gradient_penalty_is_mean_squared_distance_of_norms_from_one():
    grads = np.zeros((2, 2, 2, 1), "float32")
    grads[0, 0, 0, 0], grads[0, 1, 1, 0] = 3.0, 4.0  # norm 5 -> (5 - 1)^2 = 16
    grads[1, 0, 1, 0] = 0.5  # norm 0.5 -> 0.25
    np.testing.assert_allclose(float(gan_losses.gradient_penalty(grads)), (16 + 0.25) / 2, rtol=1e-5)


def test_unknown_loss_names_close_matches():
    with pytest.raises(ValueError) as error:
        gan_losses.get_adversarial_loss("hinj")
    assert str(error.value) == (
        "Invalid value for argument `loss`: unknown loss `hinj` (did you mean `hinge`?); expected one of "
        "`hinge`, `lsgan`, `minimax`, `non_saturating`, `wasserstein`, `wasserstein_gp`. Received: loss='hinj'"
    )


def test_label_smoothing_is_refused_where_there_is_no_real_target():
    with pytest.raises(ValueError) as error:
        gan_losses.get_adversarial_loss("wasserstein", label_smoothing=0.1)
    assert str(error.value) == (
        "Invalid value for argument `label_smoothing`: WassersteinLoss has no real-label target to smooth; "
        "expected 0. Received: label_smoothing=0.1"
    )


@pytest.mark.parametrize("smoothing", [-0.1, 1.0])
def test_label_smoothing_outside_unit_interval_is_refused(smoothing):
    with pytest.raises(ValueError, match="expected a number in \\[0, 1\\)"):
        gan_losses.NonSaturatingLoss(label_smoothing=smoothing)


def test_r1_penalty_averages_each_images_squared_gradient_norm_over_the_batch():
    # Mescheder et al. (2018), eq. 9: E[||grad D(x)||^2] over real images; here 3 images of 2x2x1 whose
    # gradients have squared norms 4, 0 and 16 (the batch differs from every other axis).
    gradients = np.zeros((3, 2, 2, 1), "float32")
    gradients[0] = 1.0
    gradients[2, 0, 0, 0] = 4.0
    np.testing.assert_allclose(float(gan_losses.r1_penalty(gradients)), (4 + 0 + 16) / 3, rtol=1e-6)
