"""Adversarial losses on discriminator logits, registered in `kspec.registry.LOSSES` by name.

Each loss is a small class with two methods, the pair a GAN (or the latent discriminator of an adversarial
autoencoder) needs:

- `discriminator_loss(real_logits, fake_logits)`: what the discriminator (critic) minimizes;
- `generator_loss(fake_logits)`: what the generator minimizes.

Both take raw, unbounded discriminator outputs (no sigmoid) and return a scalar averaged over the batch.
"""

import keras  # noqa: F401  (used by the doctest examples)
from keras import ops

from kspec.registry import LOSSES


class AdversarialLoss:
    """Base class of the adversarial losses.

    Args:
        label_smoothing: one-sided label smoothing (Salimans et al. 2016, sec. 3.4): the target of real
            samples becomes `1 - label_smoothing`; fake targets stay 0. Only losses with probability
            targets (`non_saturating`, `minimax`, `lsgan`) accept a value other than 0.
    """

    #: True when the trainer must add a gradient penalty to `discriminator_loss` (WGAN-GP).
    uses_gradient_penalty = False
    #: True when the loss has a real-label target that smoothing can soften.
    supports_label_smoothing = False

    def __init__(self, label_smoothing=0.0):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                "Invalid value for argument `label_smoothing`: expected a number in [0, 1). "
                f"Received: label_smoothing={label_smoothing!r}"
            )
        if label_smoothing and not self.supports_label_smoothing:
            raise ValueError(
                f"Invalid value for argument `label_smoothing`: {type(self).__name__} has no real-label target "
                f"to smooth; expected 0. Received: label_smoothing={label_smoothing!r}"
            )
        self.label_smoothing = float(label_smoothing)

    @property
    def real_target(self):
        return 1.0 - self.label_smoothing

    def discriminator_loss(self, real_logits, fake_logits):
        raise NotImplementedError

    def generator_loss(self, fake_logits):
        raise NotImplementedError

    def get_config(self):
        return {"label_smoothing": self.label_smoothing}


def _sigmoid_cross_entropy(target, logits):
    # -[t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))] = t softplus(-l) + (1 - t) softplus(l), stable for any l.
    return target * ops.softplus(-logits) + (1.0 - target) * ops.softplus(logits)


@LOSSES.register("non_saturating")
class NonSaturatingLoss(AdversarialLoss):
    """The GAN loss in practice (Goodfellow et al. 2014, sec. 3): the generator maximizes log D(G(z)).

    Discriminator: `BCE(real, 1) + BCE(fake, 0)`; generator: `BCE(fake, 1) = softplus(-fake)`, whose gradient
    does not vanish when the discriminator confidently rejects the fakes.

    Example:
    >>> loss = NonSaturatingLoss()
    >>> round(float(loss.generator_loss(keras.ops.zeros((4, 1)))), 4)  # log 2
    0.6931
    """

    supports_label_smoothing = True

    def discriminator_loss(self, real_logits, fake_logits):
        real = ops.mean(_sigmoid_cross_entropy(self.real_target, real_logits))
        fake = ops.mean(_sigmoid_cross_entropy(0.0, fake_logits))
        return real + fake

    def generator_loss(self, fake_logits):
        return ops.mean(ops.softplus(-fake_logits))


@LOSSES.register("minimax")
class MinimaxLoss(NonSaturatingLoss):
    """The original minimax objective (Goodfellow et al. 2014, eq. 1): the generator minimizes log(1 - D(G(z))).

    Since log(1 - sigmoid(l)) = -softplus(l), the generator loss is `-mean(softplus(fake))`. It saturates early
    in training; kept for comparison.

    Example:
    >>> round(float(MinimaxLoss().generator_loss(keras.ops.zeros((4, 1)))), 4)  # -log 2
    -0.6931
    """

    def generator_loss(self, fake_logits):
        return -ops.mean(ops.softplus(fake_logits))


@LOSSES.register("wasserstein")
class WassersteinLoss(AdversarialLoss):
    """Wasserstein GAN critic loss (Arjovsky et al. 2017, eq. 3): `mean(fake) - mean(real)`; generator `-mean(fake)`.

    The critic must be kept 1-Lipschitz by other means (weight clipping, spectral norm, or `wasserstein_gp`).

    Example:
    >>> loss = WassersteinLoss()
    >>> float(loss.discriminator_loss(keras.ops.ones((2, 1)), keras.ops.zeros((2, 1))))
    -1.0
    """

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(fake_logits) - ops.mean(real_logits)

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)


@LOSSES.register("wasserstein_gp")
class WassersteinGradientPenaltyLoss(WassersteinLoss):
    """WGAN-GP (Gulrajani et al. 2017): the Wasserstein loss; the trainer adds `gradient_penalty` times its weight.

    Example:
    >>> WassersteinGradientPenaltyLoss().uses_gradient_penalty
    True
    """

    uses_gradient_penalty = True


@LOSSES.register("hinge")
class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018, eq. 16-17).

    Discriminator: `mean(relu(1 - real)) + mean(relu(1 + fake))`; generator: `-mean(fake)`.

    Example:
    >>> float(HingeLoss().discriminator_loss(keras.ops.zeros((2, 1)), keras.ops.zeros((2, 1))))
    2.0
    """

    def discriminator_loss(self, real_logits, fake_logits):
        return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))

    def generator_loss(self, fake_logits):
        return -ops.mean(fake_logits)


@LOSSES.register("lsgan")
class LeastSquaresLoss(AdversarialLoss):
    """Least-squares GAN (Mao et al. 2017, eq. 2 with a=0, b=c=1) on the raw discriminator output.

    Discriminator: `0.5 mean((real - 1)^2) + 0.5 mean(fake^2)`; generator: `0.5 mean((fake - 1)^2)`.

    Example:
    >>> float(LeastSquaresLoss().generator_loss(keras.ops.zeros((2, 1))))
    0.5
    """

    supports_label_smoothing = True

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * ops.mean(ops.square(real_logits - self.real_target)) + 0.5 * ops.mean(ops.square(fake_logits))

    def generator_loss(self, fake_logits):
        return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


def gradient_penalty(input_gradients):
    """The WGAN-GP penalty `mean((||grad||_2 - 1)^2)` (Gulrajani et al. 2017, eq. 3).

    Args:
        input_gradients: gradients of the critic's output with respect to its (interpolated) input images,
            shape `(batch, ...)`.

    Returns:
        A scalar: the squared distance of each example's gradient norm from 1, averaged over the batch.

    Example:
    >>> float(gradient_penalty(keras.ops.convert_to_tensor([[3.0, 4.0], [0.0, 1.0]])))  # norms 5 and 1
    8.0
    """
    batch = ops.shape(input_gradients)[0]
    flat = ops.reshape(input_gradients, (batch, -1))
    # The epsilon keeps the gradient of the norm finite where the input gradient is exactly zero.
    norms = ops.sqrt(ops.sum(ops.square(flat), axis=1) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(input_gradients):
    """The R1 penalty's expectation `mean(||grad||_2^2)` (Mescheder et al. 2018, eq. 9, without gamma / 2).

    Args:
        input_gradients: gradients of the discriminator's output with respect to its real input images,
            shape `(batch, ...)`.

    Returns:
        A scalar: the squared gradient norm of each example, averaged over the batch.

    Example:
    >>> float(r1_penalty(keras.ops.convert_to_tensor([[3.0, 4.0], [0.0, 1.0]])))  # squared norms 25 and 1
    13.0
    """
    batch = ops.shape(input_gradients)[0]
    return ops.mean(ops.sum(ops.square(ops.reshape(input_gradients, (batch, -1))), axis=1))


def get_adversarial_loss(loss, label_smoothing=0.0):
    """Returns an `AdversarialLoss` from a registered name (`"hinge"`) or passes an instance through.

    Args:
        loss: a name registered in `kspec.registry.LOSSES` or an `AdversarialLoss` instance.
        label_smoothing: one-sided label smoothing of the real targets, for a loss given by name.

    Returns:
        An `AdversarialLoss`.

    Example:
    >>> type(get_adversarial_loss("wasserstein_gp")).__name__
    'WassersteinGradientPenaltyLoss'
    """
    if isinstance(loss, AdversarialLoss):
        return loss
    expected = ", ".join(f"`{name}`" for name in adversarial_loss_names())
    if not isinstance(loss, str):
        raise ValueError(f"Invalid value for argument `loss`: expected one of {expected}. Received: loss={loss!r}")
    try:
        loss_class = LOSSES.get(loss)
    except KeyError as error:
        raise ValueError(
            f"Invalid value for argument `loss`: {error.args[0]}; expected one of {expected}. Received: loss={loss!r}"
        ) from None
    if not (isinstance(loss_class, type) and issubclass(loss_class, AdversarialLoss)):
        raise ValueError(
            f"Invalid value for argument `loss`: `{loss}` is not an adversarial loss; expected one of {expected}. "
            f"Received: loss={loss!r}"
        )
    return loss_class(label_smoothing=label_smoothing)


def adversarial_loss_names():
    """The names in `LOSSES` that are adversarial losses."""
    return [
        name
        for name in LOSSES.names()
        if isinstance(LOSSES.get(name), type) and issubclass(LOSSES.get(name), AdversarialLoss)
    ]


__all__ = [
    "AdversarialLoss",
    "NonSaturatingLoss",
    "MinimaxLoss",
    "WassersteinLoss",
    "WassersteinGradientPenaltyLoss",
    "HingeLoss",
    "LeastSquaresLoss",
    "gradient_penalty",
    "r1_penalty",
    "get_adversarial_loss",
    "adversarial_loss_names",
]

