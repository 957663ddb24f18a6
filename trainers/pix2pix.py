"""pix2pix trainer (Isola et al. 2017): a generator and a conditional PatchGAN learn a paired translation A -> B."""

import keras
from keras import ops

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.batches import unpack_image_pairs
from kspec.trainers.gan_losses import get_adversarial_loss
from kspec.trainers.linear_decay import check_decay_epochs, constant_learning_rates, with_linear_decay
from kspec.trainers.translation_grid import translate_in_batches
from kspec.trainers.translation_losses import (check_loss_weight, discriminator_adversarial_loss,
                                               generator_adversarial_loss, mean_absolute_error)


@TRAINERS.register("pix2pix")
class Pix2Pix(keras.Model):
    """Learns G: A -> B from pairs `(a, b)`; the discriminator judges `(input, output)` pairs (Isola et al. 2017).

    The objective (eq. 4): the generator minimizes the adversarial term against D on `(a, G(a))` plus
    `lambda_l1` times the L1 distance `|G(a) - b|`; the discriminator minimizes half of its objective on
    `(a, b)` as real and `(a, G(a))` as fake (sec. 3.3). A PatchGAN discriminator scores every patch; the
    losses average over patches.

    Both updates come from one forward pass of G and D, each taking its gradient at the weights from before
    the step (the TensorFlow pix2pix tutorial's two tapes; see `gradients.minimize_jointly`). Isola et al.
    alternate a D step and then a G step, whose adversarial term then sees the updated D; sharing the pass
    saves a discriminator pass on the generated images every step.

    Args:
        generator: G, mapping images of A to images of B (a U-Net in the paper).
        discriminator: D, taking two inputs `[input image, output image]` (a conditional PatchGAN) and giving
            a logit or a map of patch logits.
        loss: adversarial loss, a name in `kspec.registry.LOSSES`; `non_saturating` (the paper's
            cross-entropy) by default.
        lambda_l1: weight of the L1 term (100 in the paper).
        decay_epochs: when > 0, the learning rates stay constant and then fall linearly over the last
            `decay_epochs` epochs of `fit`; see `linear_decay`.
        seed: accepted like every trainer's; pix2pix draws no random numbers itself (its noise is the
            generator's dropout).
        **kwargs: base `keras.Model` arguments (`name`).

    Metrics: `g_loss` (adversarial + weighted L1), `l1_loss` (the unweighted L1 to the targets), `d_loss`;
    with `decay_epochs`, `learning_rate`.

    Example:
    >>> import numpy as np
    >>> generator = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(3, 3, padding="same")])
    >>> source, image = keras.Input((4, 4, 1)), keras.Input((4, 4, 3))
    >>> pair = keras.layers.Concatenate()([source, image])
    >>> discriminator = keras.Model([source, image], keras.layers.Conv2D(1, 3)(pair))
    >>> pix2pix = Pix2Pix(generator, discriminator)
    >>> pix2pix.compile(g_optimizer=keras.optimizers.Adam(2e-4), d_optimizer=keras.optimizers.Adam(2e-4))
    >>> history = pix2pix.fit(np.random.rand(8, 4, 4, 1), np.random.rand(8, 4, 4, 3), batch_size=4, verbose=0)
    >>> sorted(history.history)
    ['d_loss', 'g_loss', 'l1_loss']
    """

    def __init__(self, generator, discriminator, loss="non_saturating", lambda_l1=100.0, decay_epochs=0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if len(generator.inputs) != 1:
            raise ValueError(f"Invalid value for argument `generator`: pix2pix's generator takes one image input. "
                             f"Received: a model with {len(generator.inputs)} inputs")
        if len(discriminator.inputs) != 2:
            raise ValueError(f"Invalid value for argument `discriminator`: pix2pix's discriminator is conditional and "
                             f"takes two inputs [input image, output image]. Received: a model with "
                             f"{len(discriminator.inputs)} input(s)")
        check_loss_weight("lambda_l1", lambda_l1)
        check_decay_epochs(decay_epochs)
        self.generator, self.discriminator = generator, discriminator
        self.adversarial_loss = get_adversarial_loss(loss)
        if self.adversarial_loss.uses_gradient_penalty:
            raise ValueError(f"Invalid value for argument `loss`: the pix2pix trainer has no gradient penalty; use "
                             f"`non_saturating`, `lsgan` or `hinge`. Received: loss={loss!r}")
        self.lambda_l1 = float(lambda_l1)
        self.decay_epochs = decay_epochs
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("g_loss", "l1_loss", "d_loss")}
        self.built = True

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Sets the generator's and the discriminator's optimizers; `kwargs` go to `keras.Model.compile`."""
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        self.d_optimizer = keras.optimizers.get(d_optimizer)
        # Built now, not lazily inside the first (possibly distributed) step; see `GAN.compile`.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.base_learning_rates = constant_learning_rates(self.decayed_optimizers()) if self.decay_epochs else []

    def fit(self, *args, callbacks=None, **kwargs):
        """`keras.Model.fit`, with the linear learning-rate decay of `decay_epochs` added to `callbacks`."""
        return super().fit(*args, callbacks=with_linear_decay(self, callbacks), **kwargs)

    def decayed_optimizers(self):
        return [self.g_optimizer, self.d_optimizer]

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, images, training=False):
        return self.generator(images, training=training)

    def train_step(self, data):
        real_a, real_b = unpack_image_pairs(data)

        # One forward pass; then the generator and the discriminator each step on their own weights.
        (g_loss, d_loss), l1 = gradients.minimize_jointly(
            lambda: self.losses_of(real_a, real_b),
            [(self.g_optimizer, self.generator.trainable_variables),
             (self.d_optimizer, self.discriminator.trainable_variables)])

        return self._update_metrics(g_loss, l1, d_loss)

    def test_step(self, data):
        real_a, real_b = unpack_image_pairs(data)
        (g_loss, d_loss), l1 = self.losses_of(real_a, real_b, training=False)
        return self._update_metrics(g_loss, l1, d_loss)

    def losses_of(self, real_a, real_b, training=True):
        """Both objectives on one batch: returns `((g_loss, d_loss), l1)` with the unweighted L1 to `real_b`."""
        real_a, real_b = ops.convert_to_tensor(real_a), ops.convert_to_tensor(real_b)
        fake_b = self.generator(real_a, training=training)
        real_logits = self.discriminator([real_a, real_b], training=training)
        fake_logits = self.discriminator([real_a, fake_b], training=training)
        l1 = mean_absolute_error(fake_b, real_b)
        g_loss = (generator_adversarial_loss(self.adversarial_loss, fake_logits) + self.lambda_l1 * l1
                  + sum(self.generator.losses, 0.0))
        d_loss = (discriminator_adversarial_loss(self.adversarial_loss, real_logits, fake_logits)
                  + sum(self.discriminator.losses, 0.0))
        return (g_loss, d_loss), l1

    # -- Using the trained model ------------------------------------------------------------------------------

    def translate(self, images, direction="ab", batch_size=32):
        """Translates `images` of A to B with the generator (inference mode: dropout off); numpy out."""
        if direction != "ab":
            raise ValueError(f"Invalid value for argument `direction`: pix2pix learns A -> B only; expected 'ab'. "
                             f"Received: direction={direction!r}")
        return translate_in_batches(self.generator, images, batch_size)

    def translation_rows(self, a_images, b_images):
        """`{"ab": [A, G(A), B]}` as numpy arrays: input, translation and target side by side, for sample grids."""
        return {"ab": [a_images, self.translate(a_images), b_images]}

    def _update_metrics(self, g_loss, l1, d_loss):
        for tracker, value in zip(self.trackers.values(), (g_loss, l1, d_loss)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}
