"""The losses of the image-to-image translation trainers (CycleGAN, pix2pix), written as their papers write them.

The adversarial terms come from `kspec.registry.LOSSES` (see `gan_losses`). Both papers take the objective
of a real and a fake term, let the generator minimize its fake term, and divide the discriminator's objective
by 2 "to slow down the rate at which D learns relative to G" (Isola et al. 2017, sec. 3.3; Zhu et al. 2017,
sec. 7.1). Their weights on the L1 terms (lambda = 10 for CycleGAN's cycle loss, 100 for pix2pix) are
relative to that form. The registry's `lsgan` carries Mao et al.'s 1/2 on each squared term, so it is
doubled here: CycleGAN's least-squares objective is `E[(D(b) - 1)^2] + E[D(G(a))^2]`, without the 1/2.
"""

from keras import ops

from kspec.trainers.gan_losses import LeastSquaresLoss


def mean_absolute_error(images, references):
    """The L1 distance both papers use: the mean absolute difference over every pixel and channel.

    Example:
    >>> import numpy as np
    >>> float(mean_absolute_error(np.zeros((2, 2, 2, 1)), np.full((2, 2, 2, 1), 0.5)))
    0.5
    """
    return ops.mean(ops.abs(ops.convert_to_tensor(images) - ops.convert_to_tensor(references)))


def generator_adversarial_loss(adversarial_loss, fake_logits):
    """What the generator minimizes against the discriminator's logits (or patch map) on its outputs.

    Args:
        adversarial_loss: an `AdversarialLoss` from `gan_losses.get_adversarial_loss`.
        fake_logits: discriminator outputs on generated images, any shape (a PatchGAN gives one per patch).

    Returns:
        A scalar: `E[(D(G(a)) - 1)^2]` for `lsgan`, `E[softplus(-D(G(a)))]` (binary cross-entropy against
        "real") for `non_saturating`, each averaged over images and patches.

    Example:
    >>> import numpy as np
    >>> from kspec.trainers.gan_losses import get_adversarial_loss
    >>> float(generator_adversarial_loss(get_adversarial_loss("lsgan"), np.zeros((2, 4, 4, 1), "float32")))
    1.0
    """
    return _paper_scale(adversarial_loss) * adversarial_loss.generator_loss(fake_logits)


def discriminator_adversarial_loss(adversarial_loss, real_logits, fake_logits):
    """Half the discriminator's objective on real and generated images, as both papers halve it.

    Returns:
        A scalar: `(E[(D(b) - 1)^2] + E[D(G(a))^2]) / 2` for `lsgan`; `(BCE(D(b), 1) + BCE(D(G(a)), 0)) / 2`
        for `non_saturating`.

    Example:
    >>> import numpy as np
    >>> from kspec.trainers.gan_losses import get_adversarial_loss
    >>> real, fake = np.full((2, 4, 4, 1), 0.5, "float32"), np.ones((2, 4, 4, 1), "float32")
    >>> float(discriminator_adversarial_loss(get_adversarial_loss("lsgan"), real, fake))  # (0.25 + 1) / 2
    0.625
    """
    return 0.5 * _paper_scale(adversarial_loss) * adversarial_loss.discriminator_loss(real_logits, fake_logits)


def _paper_scale(adversarial_loss):
    return 2.0 if isinstance(adversarial_loss, LeastSquaresLoss) else 1.0


def check_loss_weight(name, value):
    """Raises a Keras-style `ValueError` unless `value` is a number >= 0 (a `lambda_*` option).

    Example:
    >>> check_loss_weight("lambda_l1", 100)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"Invalid value for argument `{name}`: expected a number >= 0. Received: {name}={value!r}")
