"""CycleGAN trainer (Zhu et al. 2017): two generators and two discriminators learn to translate unpaired images."""

import keras
from keras import ops

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.batches import unpack_image_pairs
from kspec.trainers.gan_losses import get_adversarial_loss
from kspec.trainers.image_pool import ImagePool
from kspec.trainers.linear_decay import check_decay_epochs, constant_learning_rates, with_linear_decay
from kspec.trainers.translation_grid import translate_in_batches
from kspec.trainers.translation_losses import (check_loss_weight, discriminator_adversarial_loss,
                                               generator_adversarial_loss, mean_absolute_error)


@TRAINERS.register("cyclegan")
class CycleGAN(keras.Model):
    """Learns G: A -> B and F: B -> A from unpaired images of A and B (Zhu et al. 2017).

    Each step, on a batch of A images and a batch of B images:

    1. Generators (one optimizer over G and F): adversarial terms against D_B (on G(a)) and D_A (on F(b)),
       plus `lambda_cycle` times the cycle-consistency L1 `|F(G(a)) - a| + |G(F(b)) - b|` (eq. 2), plus
       `lambda_identity` times the identity L1 `|G(b) - b| + |F(a) - a|` (sec. 5.2).
    2. Discriminator A on real A images against F(b) drawn through a history pool of generated images.
    3. Discriminator B likewise on real B images against G(a).

    The discriminators learn from this step's generated images (from the generators before their update),
    and each discriminator's objective is halved (sec. 7.1); the order is the one of the paper's reference
    implementation. Losses are averaged over pixels and patches; see `translation_losses` for how the
    registry's adversarial losses map to the paper's.

    Args:
        generator_ab: G, mapping images of A to images of B.
        generator_ba: F, mapping images of B to images of A.
        discriminator_a: D_A, scoring images of A (one logit, or a PatchGAN map of logits).
        discriminator_b: D_B, scoring images of B.
        loss: adversarial loss, a name in `kspec.registry.LOSSES`; `lsgan` (least squares, the paper's choice)
            by default.
        lambda_cycle: weight of the cycle-consistency loss (10 in the paper).
        lambda_identity: weight of the identity loss; default `0.5 * lambda_cycle` as in the paper; 0
            disables it. Needs domains of the same image shape.
        pool_size: generated images kept for the discriminator updates (50 in the paper; 0: no pool).
        decay_epochs: when > 0, the learning rates stay constant and then fall linearly over the last
            `decay_epochs` epochs of `fit` (100 of 200 in the paper); see `linear_decay`.
        seed: integer seed of the pools' draws.
        **kwargs: base `keras.Model` arguments (`name`).

    Metrics: `g_loss` (the generators' whole objective), `cycle_loss` and `identity_loss` (unweighted L1 sums
    over both directions), `d_a_loss`, `d_b_loss`; with `decay_epochs`, `learning_rate`.

    Example:
    >>> import numpy as np
    >>> def net(name):
    ...     return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 3, padding="same")], name=name)
    >>> cyclegan = CycleGAN(net("g"), net("f"), net("d_a"), net("d_b"), pool_size=4, seed=0)
    >>> cyclegan.compile(g_optimizer=keras.optimizers.Adam(2e-4), d_optimizer=keras.optimizers.Adam(2e-4))
    >>> a, b = np.random.rand(8, 4, 4, 1), np.random.rand(8, 4, 4, 1)
    >>> history = cyclegan.fit(a, b, batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['cycle_loss', 'd_a_loss', 'd_b_loss', 'g_loss', 'identity_loss']
    >>> cyclegan.translate(a[:2]).shape
    (2, 4, 4, 1)
    """

    def __init__(
        self,
        generator_ab,
        generator_ba,
        discriminator_a,
        discriminator_b,
        loss="lsgan",
        lambda_cycle=10.0,
        lambda_identity=None,
        pool_size=50,
        decay_epochs=0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        roles = {"generator_ab": generator_ab, "generator_ba": generator_ba, "discriminator_a": discriminator_a,
                 "discriminator_b": discriminator_b}
        for role, model in roles.items():
            if len(model.inputs) != 1:
                raise ValueError(f"Invalid value for argument `{role}`: CycleGAN's models take one image input. "
                                 f"Received: a model with {len(model.inputs)} inputs")
        check_loss_weight("lambda_cycle", lambda_cycle)
        lambda_identity = 0.5 * lambda_cycle if lambda_identity is None else lambda_identity
        check_loss_weight("lambda_identity", lambda_identity)
        shape_a, shape_b = _image_shape(generator_ab.inputs[0]), _image_shape(generator_ba.inputs[0])
        if lambda_identity and shape_a != shape_b:
            raise ValueError(
                f"Invalid value for argument `lambda_identity`: the identity loss feeds images of B to G and of A "
                f"to F, which needs domains of one image shape; set lambda_identity: 0. Received: "
                f"lambda_identity={lambda_identity!r} with A {shape_a} and B {shape_b}")
        check_decay_epochs(decay_epochs)
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.adversarial_loss = get_adversarial_loss(loss)
        if self.adversarial_loss.uses_gradient_penalty:
            raise ValueError(f"Invalid value for argument `loss`: the CycleGAN trainer has no gradient penalty; "
                             f"use `lsgan`, `non_saturating` or `hinge`. Received: loss={loss!r}")
        self.lambda_cycle = float(lambda_cycle)
        self.lambda_identity = float(lambda_identity)
        self.decay_epochs = decay_epochs
        # One pool per discriminator, with their own draws.
        self.pool_a = ImagePool(pool_size, seed=seed, name="pool_a")
        self.pool_b = ImagePool(pool_size, seed=None if seed is None else seed + 1, name="pool_b")
        try:
            self.pool_a.build((None, *_image_shape(generator_ba.outputs[0])))
            self.pool_b.build((None, *_image_shape(generator_ab.outputs[0])))
        except ValueError as error:
            raise ValueError(f"Invalid value for argument `pool_size`: {error}; give the generators inputs of a "
                             f"fixed size or set pool_size: 0. Received: pool_size={pool_size!r}") from None
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("g_loss", "cycle_loss", "identity_loss", "d_a_loss", "d_b_loss")}
        self.built = True

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Sets the optimizers: `g_optimizer` for both generators, `d_optimizer` for D_A and a copy of its
        configuration (with its own moment estimates) for D_B; `kwargs` go to `keras.Model.compile`."""
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        self.d_a_optimizer = keras.optimizers.get(d_optimizer)
        self.d_b_optimizer = self.d_a_optimizer.__class__.from_config(self.d_a_optimizer.get_config())
        # Built now, not lazily inside the first (possibly distributed) step; see `GAN.compile`.
        self.g_optimizer.build(self.generator_variables)
        self.d_a_optimizer.build(self.discriminator_a.trainable_variables)
        self.d_b_optimizer.build(self.discriminator_b.trainable_variables)
        self.base_learning_rates = constant_learning_rates(self.decayed_optimizers()) if self.decay_epochs else []

    def fit(self, *args, callbacks=None, **kwargs):
        """`keras.Model.fit`, with the linear learning-rate decay of `decay_epochs` added to `callbacks`."""
        return super().fit(*args, callbacks=with_linear_decay(self, callbacks), **kwargs)

    def decayed_optimizers(self):
        return [self.g_optimizer, self.d_a_optimizer, self.d_b_optimizer]

    @property
    def generator_variables(self):
        return self.generator_ab.trainable_variables + self.generator_ba.trainable_variables

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, images, training=False):
        return self.generator_ab(images, training=training)

    def train_step(self, data):
        real_a, real_b = unpack_image_pairs(data)

        # 1. Both generators, on adversarial, cycle and identity losses; the discriminators do not move.
        g_loss, (cycle, identity, fake_a, fake_b) = self.train_generators(real_a, real_b)

        # 2.-3. Each discriminator on real images against this step's generated ones, through its pool.
        d_a_loss = self.train_discriminator_a(real_a, fake_a)
        d_b_loss = self.train_discriminator_b(real_b, fake_b)

        return self._update_metrics(g_loss, cycle, identity, d_a_loss, d_b_loss)

    def test_step(self, data):
        real_a, real_b = unpack_image_pairs(data)
        g_loss, (cycle, identity, fake_a, fake_b) = self.generator_loss(real_a, real_b, training=False)
        d_a_loss = self.discriminator_loss(self.discriminator_a, real_a, fake_a, training=False)
        d_b_loss = self.discriminator_loss(self.discriminator_b, real_b, fake_b, training=False)
        return self._update_metrics(g_loss, cycle, identity, d_a_loss, d_b_loss)

    # -- The three phases -------------------------------------------------------------------------------------

    def train_generators(self, real_a, real_b):
        """One step of G and F together; returns `(g_loss, (cycle, identity, fake_a, fake_b))`, the fakes as
        constants for the discriminator steps."""
        g_loss, (cycle, identity, fake_a, fake_b) = gradients.minimize(
            self.g_optimizer, lambda: self.generator_loss(real_a, real_b), self.generator_variables)
        return g_loss, (cycle, identity, ops.stop_gradient(fake_a), ops.stop_gradient(fake_b))

    def train_discriminator_a(self, real_a, fake_a):
        """One step of D_A on real A images against generated ones drawn through the pool; returns its loss."""
        pooled = self.pool_a(ops.stop_gradient(fake_a))
        loss, _ = gradients.minimize(
            self.d_a_optimizer, lambda: (self.discriminator_loss(self.discriminator_a, real_a, pooled), ()),
            self.discriminator_a.trainable_variables)
        return loss

    def train_discriminator_b(self, real_b, fake_b):
        """One step of D_B on real B images against generated ones drawn through the pool; returns its loss."""
        pooled = self.pool_b(ops.stop_gradient(fake_b))
        loss, _ = gradients.minimize(
            self.d_b_optimizer, lambda: (self.discriminator_loss(self.discriminator_b, real_b, pooled), ()),
            self.discriminator_b.trainable_variables)
        return loss

    # -- Losses -----------------------------------------------------------------------------------------------

    def generator_loss(self, real_a, real_b, training=True):
        """The generators' objective (eq. 3 plus the identity term); returns `(loss, (cycle, identity, fake_a,
        fake_b))` with the unweighted cycle and identity L1 sums."""
        fake_b = self.generator_ab(real_a, training=training)
        fake_a = self.generator_ba(real_b, training=training)
        adversarial = (
            generator_adversarial_loss(self.adversarial_loss, self.discriminator_b(fake_b, training=training))
            + generator_adversarial_loss(self.adversarial_loss, self.discriminator_a(fake_a, training=training)))
        cycle = (mean_absolute_error(self.generator_ba(fake_b, training=training), real_a)
                 + mean_absolute_error(self.generator_ab(fake_a, training=training), real_b))
        identity = ops.convert_to_tensor(0.0)
        if self.lambda_identity:
            identity = (mean_absolute_error(self.generator_ab(real_b, training=training), real_b)
                        + mean_absolute_error(self.generator_ba(real_a, training=training), real_a))
        regularization = sum(self.generator_ab.losses + self.generator_ba.losses, 0.0)
        loss = adversarial + self.lambda_cycle * cycle + self.lambda_identity * identity + regularization
        return loss, (cycle, identity, fake_a, fake_b)

    def discriminator_loss(self, discriminator, real_images, fake_images, training=True):
        """Half of `discriminator`'s objective on real against generated images (plus its regularization)."""
        real_logits = discriminator(real_images, training=training)
        fake_logits = discriminator(fake_images, training=training)
        loss = discriminator_adversarial_loss(self.adversarial_loss, real_logits, fake_logits)
        return loss + sum(discriminator.losses, 0.0)

    # -- Using the trained model ------------------------------------------------------------------------------

    def translate(self, images, direction="ab", batch_size=32):
        """Translates `images` of A to B (`direction="ab"`, with G) or of B to A (`"ba"`, with F); numpy out."""
        if direction not in ("ab", "ba"):
            raise ValueError(f"Invalid value for argument `direction`: expected 'ab' or 'ba'. "
                             f"Received: direction={direction!r}")
        generator = self.generator_ab if direction == "ab" else self.generator_ba
        return translate_in_batches(generator, images, batch_size)

    def translation_rows(self, a_images, b_images):
        """`{"ab": [A, G(A), F(G(A))], "ba": [B, F(B), G(F(B))]}` as numpy arrays, for sample grids."""
        fake_b, fake_a = self.translate(a_images, "ab"), self.translate(b_images, "ba")
        return {"ab": [a_images, fake_b, self.translate(fake_b, "ba")],
                "ba": [b_images, fake_a, self.translate(fake_a, "ab")]}

    def _update_metrics(self, g_loss, cycle, identity, d_a_loss, d_b_loss):
        for name, value in zip(self.trackers, (g_loss, cycle, identity, d_a_loss, d_b_loss)):
            self.trackers[name].update_state(value)
        return {m.name: m.result() for m in self.metrics}


def _image_shape(tensor):
    return tuple(tensor.shape[1:])
