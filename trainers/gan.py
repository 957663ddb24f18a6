"""Generative adversarial network trainer (Goodfellow et al. 2014) over a generator and a discriminator model."""

import keras
from keras import ops

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.batches import unpack_images_and_labels
from kspec.trainers.diff_augment import DiffAugment, check_policy
from kspec.trainers.gan_losses import get_adversarial_loss, gradient_penalty, r1_penalty
from kspec.trainers.interpolation import interpolate
from kspec.trainers.priors import get_prior
from kspec.trainers.spectral_norm import with_spectral_normalization


@TRAINERS.register("gan")
class GAN(keras.Model):
    """Alternates discriminator and generator updates, each with its own optimizer.

    Args:
        generator: model mapping latents `z` (or `[z, label]` when conditional) to images.
        discriminator: model mapping images (or `[image, label]`) to one logit per image.
        loss: adversarial loss, a name in `kspec.registry.LOSSES` (`non_saturating`, `minimax`, `wasserstein`,
            `wasserstein_gp`, `hinge`, `lsgan`) or an `AdversarialLoss`.
        label_smoothing: one-sided smoothing of the real targets (losses with probability targets only).
        n_critic: discriminator steps per generator step (5 in WGAN and WGAN-GP).
        gradient_penalty_weight: weight of the WGAN-GP penalty (lambda = 10 in Gulrajani et al. 2017); used
            only by losses that ask for it.
        num_classes: number of classes for a conditional GAN (Mirza & Osindero 2014), whose batches are
            `(images, labels)` with integer labels; None for an unconditional GAN.
        ema_decay: when set (e.g. 0.999), keep an exponential moving average of the generator's weights
            (Karras et al. 2018; Yazici et al. 2019) and sample from it.
        prior: latent prior, a name or `{"name": ..., **options}` from `kspec.registry.PRIORS`.
        r1_gamma: weight gamma of the R1 penalty `gamma / 2 * E ||grad_x D(x)||^2` on real images (Mescheder
            et al. 2018, eq. 9); 0 turns it off. Typical values: 0.1 to 10, larger for larger images.
        r1_interval: apply R1 every `r1_interval` discriminator steps only, multiplied by `r1_interval` (lazy
            regularization, Karras et al. 2020 sec. 3.1, who use 16); 1 applies it at every step.
        spectral_norm: wrap the discriminator's Dense and convolutional layers in Keras'
            `SpectralNormalization` (Miyato et al. 2018); the wrapped model shares the original's weights.
        diff_augment: a DiffAugment policy (Zhao et al. 2020), a list of `translation`, `cutout`, `color`,
            applied to real and generated images wherever the discriminator sees them while training.
        seed: integer seed of the latent draws during training and of `sample`'s default draws.
        **kwargs: base `keras.Model` arguments (`name`).

    Metrics: `d_loss` (discriminator loss including any penalty), `g_loss`, `gradient_penalty` for WGAN-GP, and
    `r1_penalty` (`E ||grad_x D(x)||^2`, averaged over the steps that computed it) when `r1_gamma` is set.

    Example:
    >>> import numpy as np
    >>> generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="tanh")])
    >>> discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> gan = GAN(generator, discriminator, loss="hinge", seed=0)
    >>> gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    >>> history = gan.fit(np.random.rand(8, 4), batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['d_loss', 'g_loss']
    >>> gan.sample(3).shape
    (3, 4)
    """

    def __init__(
        self,
        generator,
        discriminator,
        loss="non_saturating",
        label_smoothing=0.0,
        n_critic=1,
        gradient_penalty_weight=10.0,
        num_classes=None,
        ema_decay=None,
        prior="gaussian",
        r1_gamma=0.0,
        r1_interval=1,
        spectral_norm=False,
        diff_augment=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(n_critic, int) or n_critic < 1:
            raise ValueError(f"Invalid value for argument `n_critic`: expected an integer >= 1. Received: n_critic={n_critic!r}")
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"Invalid value for argument `ema_decay`: expected a number in (0, 1) or None. Received: ema_decay={ema_decay!r}")
        _check_regularizers(r1_gamma, r1_interval, spectral_norm)
        expected_inputs = 1 if num_classes is None else 2
        for role, model in (("generator", generator), ("discriminator", discriminator)):
            if len(model.inputs) != expected_inputs:
                kind = "an unconditional GAN needs 1 input" if num_classes is None else "a conditional GAN needs 2 inputs [x, label]"
                raise ValueError(
                    f"Invalid value for argument `{role}`: {kind}. Received: a model with {len(model.inputs)} input(s)"
                )
        self.generator = generator
        self.discriminator = _spectrally_normalized(discriminator) if spectral_norm else discriminator
        self.adversarial_loss = get_adversarial_loss(loss, label_smoothing)
        self.n_critic = n_critic
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.num_classes = num_classes
        self.ema_decay = ema_decay
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.prior = get_prior(prior, self.latent_dim)
        self.seed = seed
        self.seed_generator = gradients.PerReplicaSeedGenerator(seed)
        self.r1_gamma = float(r1_gamma)
        self.r1_interval = r1_interval
        self.augment = None
        if diff_augment is not None:
            _check_image_input(discriminator)
            self.augment = DiffAugment(check_policy(diff_augment), seed=self.seed_generator)
        self.ema_generator = _clone_with_weights(generator) if ema_decay is not None else None
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.gradient_penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.r1_penalty_tracker = keras.metrics.Mean(name="r1_penalty")
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Sets the two optimizers; `kwargs` go to `keras.Model.compile` (`jit_compile`, `run_eagerly`, ...)."""
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = keras.optimizers.get(d_optimizer)
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        # Built now, not lazily inside the first (possibly distributed) step, where creating their
        # variables fails under tf.distribute; compile is called in the strategy's scope.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker]
        if self.adversarial_loss.uses_gradient_penalty:
            trackers.append(self.gradient_penalty_tracker)
        if self.r1_gamma:
            trackers.append(self.r1_penalty_tracker)
        return trackers

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, data):
        real_images, labels = self._unpack(data)
        batch_size = ops.shape(real_images)[0]

        # Train the discriminator, `n_critic` times, on generated images held constant.
        for _ in range(self.n_critic):
            d_loss, d_terms = self.train_discriminator(real_images, labels)

        # Train the generator through the discriminator; only generator weights move.
        g_loss = self.train_generator(batch_size, labels)

        # Move the sampling copy of the generator towards the new weights.
        if self.ema_generator is not None:
            self._update_ema_generator()

        return self._update_metrics(d_loss, g_loss, d_terms)

    def test_step(self, data):
        real_images, labels = self._unpack(data)
        fake_images = self.generate(ops.shape(real_images)[0], labels, training=False)
        d_loss, d_terms = self.discriminator_loss(real_images, fake_images, labels, training=False)
        g_loss = self.adversarial_loss.generator_loss(self._discriminate(fake_images, labels, training=False))
        return self._update_metrics(d_loss, g_loss, d_terms)

    # -- The two phases -------------------------------------------------------------------------------------------

    def train_discriminator(self, real_images, labels=None):
        """One discriminator step; returns `(d_loss, terms)` (see `discriminator_loss`)."""
        # Generated outside the differentiated loss and cut from the graph: `fake.detach()` in PyTorch terms.
        fake_images = ops.stop_gradient(self.generate(ops.shape(real_images)[0], labels, training=True))
        return gradients.minimize(
            self.d_optimizer,
            lambda: self.discriminator_loss(real_images, fake_images, labels, training=True),
            self.discriminator.trainable_weights,
        )

    def train_generator(self, batch_size, labels=None):
        """One generator step through the discriminator, updating generator weights only; returns `g_loss`."""
        z = self.prior.sample(batch_size, seed=self.seed_generator)
        g_loss, _ = gradients.minimize(
            self.g_optimizer, lambda: self.generator_loss(z, labels), self.generator.trainable_weights
        )
        return g_loss

    # -- Losses -------------------------------------------------------------------------------------------------

    def discriminator_loss(self, real_images, fake_images, labels=None, training=True):
        """Returns `(loss, terms)`: `loss` includes the weighted penalties; `terms` holds `adversarial` and, when
        used, `gradient_penalty` (WGAN-GP), `r1_penalty` and `r1_weight` (0 on the steps lazy R1 skips)."""
        real_logits = self._discriminate(real_images, labels, training)
        fake_logits = self._discriminate(fake_images, labels, training)
        terms = {"adversarial": self.adversarial_loss.discriminator_loss(real_logits, fake_logits)}
        loss = terms["adversarial"] + sum(self.discriminator.losses, 0.0)
        if self.adversarial_loss.uses_gradient_penalty:
            terms["gradient_penalty"] = self._interpolates_gradient_penalty(real_images, fake_images, labels, training)
            loss = loss + self.gradient_penalty_weight * terms["gradient_penalty"]
        if self.r1_gamma and training:
            terms["r1_weight"], terms["r1_penalty"] = self._lazy_r1_penalty(real_images, labels)
            loss = loss + terms["r1_weight"] * terms["r1_penalty"]
        return loss, terms

    def generator_loss(self, z, labels=None):
        """Returns `(loss, fake_logits)` for generating from `z` and scoring with the discriminator."""
        fake_logits = self._discriminate(self._generate_from(self.generator, z, labels, True), labels, True)
        loss = self.adversarial_loss.generator_loss(fake_logits) + sum(self.generator.losses, 0.0)
        return loss, fake_logits

    def _interpolates_gradient_penalty(self, real_images, fake_images, labels, training):
        # Gulrajani et al. 2017, algorithm 1: the penalty is taken at random points between real and fake.
        batch_size = ops.shape(real_images)[0]
        alpha_shape = (batch_size,) + (1,) * (len(real_images.shape) - 1)
        alpha = keras.random.uniform(alpha_shape, seed=self.seed_generator, dtype=real_images.dtype)
        interpolates = real_images + alpha * (fake_images - real_images)
        critic = lambda images: self._discriminate(images, labels, training)  # noqa: E731
        return gradient_penalty(gradients.input_gradients(critic, interpolates))

    def _lazy_r1_penalty(self, real_images, labels):
        """`(weight, E ||grad_x D(x)||^2)` on real images: weight gamma / 2 (Mescheder et al. 2018, eq. 9), or on
        every `r1_interval`-th discriminator step gamma / 2 * r1_interval and 0 in between (Karras et al. 2020)."""
        real_images = ops.convert_to_tensor(real_images)
        critic = lambda images: self._discriminate(images, labels, True)  # noqa: E731
        penalty = lambda: r1_penalty(gradients.input_gradients(critic, real_images))  # noqa: E731
        if self.r1_interval == 1:
            return ops.convert_to_tensor(self.r1_gamma / 2), penalty()
        due = ops.equal(self.d_optimizer.iterations % self.r1_interval, 0)
        # `cond` runs the double backward pass only on the steps that use it.
        value = ops.cond(due, penalty, lambda: ops.zeros((), dtype=real_images.dtype))
        return ops.where(due, self.r1_gamma / 2 * self.r1_interval, 0.0), value

    # -- Generating ---------------------------------------------------------------------------------------------

    def generate(self, n, labels=None, training=False):
        """Generates `n` images from fresh prior samples with the trained generator (a tensor)."""
        z = self.prior.sample(n, seed=self.seed_generator)
        return self._generate_from(self.generator, z, labels, training)

    @property
    def sampling_generator(self):
        """The generator `sample` uses: the moving average when `ema_decay` is set."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def sample(self, n, seed=None, labels=None):
        """Generates `n` images from the sampling generator.

        Args:
            n: number of images.
            seed: integer seed of the latent draw (default: the trainer's `seed`).
            labels: integer class labels `(n,)` for a conditional GAN; default `[0, 1, ..., K-1, 0, ...]`.

        Returns:
            A numpy array `(n, *image_shape)`.
        """
        if self.num_classes is not None and labels is None:
            labels = ops.arange(n) % self.num_classes
        z = self.prior.sample(n, seed=self.seed if seed is None else seed)
        return ops.convert_to_numpy(self._generate_from(self.sampling_generator, z, labels, False))

    def interpolate(self, z0, z1, steps=8):
        """Generates images along the line from `z0` to `z1` (unconditional GANs)."""
        return interpolate(self.sampling_generator, z0, z1, steps)

    # -- Small pieces -------------------------------------------------------------------------------------------

    def _unpack(self, data):
        images, labels = unpack_images_and_labels(data)
        if self.num_classes is None:
            return images, None
        if labels is None:
            raise ValueError("A conditional GAN (`num_classes` set) expects batches `(images, labels)`. Received: images only")
        return images, labels

    def _generate_from(self, generator, z, labels, training):
        if labels is None:
            return generator(z, training=training)
        return generator([z, _as_model_labels(labels, generator, self.num_classes)], training=training)

    def _discriminate(self, images, labels, training):
        """The discriminator's logits; while training, of images passed through the DiffAugment policy, so real
        and generated images are transformed alike in both phases (Zhao et al. 2020)."""
        if training and self.augment is not None:
            images = self.augment(images)
        if labels is None:
            return self.discriminator(images, training=training)
        labels = _as_model_labels(labels, self.discriminator, self.num_classes)
        # Keras refuses a list mixing arrays and tensors: real images may come as numpy arrays.
        return self.discriminator([ops.convert_to_tensor(images), labels], training=training)

    def _update_ema_generator(self):
        decay = self.ema_decay
        for average, current in zip(self.ema_generator.weights, self.generator.weights):
            if "float" in str(average.dtype):
                average.assign(decay * average + (1.0 - decay) * current)
            else:
                average.assign(current)

    def _update_metrics(self, d_loss, g_loss, d_terms):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        if "gradient_penalty" in d_terms:
            self.gradient_penalty_tracker.update_state(d_terms["gradient_penalty"])
        if "r1_penalty" in d_terms:
            # Steps that lazy R1 skips have weight 0 and do not count in the average.
            applied = ops.cast(d_terms["r1_weight"] > 0, "float32")
            self.r1_penalty_tracker.update_state(d_terms["r1_penalty"], sample_weight=applied)
        logs = {m.name: m.result() for m in self.metrics}
        if "r1_penalty" not in d_terms:
            logs.pop("r1_penalty", None)  # validation does not compute R1: no `val_r1_penalty` of 0
        return logs


def _as_model_labels(labels, model, num_classes):
    """Integer class labels in the form `model`'s label input takes: one-hot `(n, K)`, `(n, 1)` or `(n,)`."""
    label_shape = model.inputs[1].shape
    labels = ops.convert_to_tensor(labels)
    if len(label_shape) == 2 and label_shape[-1] == num_classes and num_classes > 1:
        if len(labels.shape) == 2 and labels.shape[-1] == num_classes:
            return labels  # already one-hot
        return ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), num_classes)
    if len(label_shape) == 2 and len(labels.shape) == 1:
        return ops.expand_dims(labels, -1)
    return labels


def _check_regularizers(r1_gamma, r1_interval, spectral_norm):
    if isinstance(r1_gamma, bool) or not isinstance(r1_gamma, (int, float)) or not r1_gamma >= 0:
        raise ValueError(f"Invalid value for argument `r1_gamma`: expected a number >= 0 (0 turns R1 off). "
                         f"Received: r1_gamma={r1_gamma!r}")
    if isinstance(r1_interval, bool) or not isinstance(r1_interval, int) or r1_interval < 1:
        raise ValueError(f"Invalid value for argument `r1_interval`: expected an integer >= 1. "
                         f"Received: r1_interval={r1_interval!r}")
    if not isinstance(spectral_norm, bool):
        raise ValueError(f"Invalid value for argument `spectral_norm`: expected true or false. "
                         f"Received: spectral_norm={spectral_norm!r}")


def _spectrally_normalized(discriminator):
    normalized, count = with_spectral_normalization(discriminator)
    if count == 0:
        kinds = sorted({type(layer).__name__ for layer in discriminator.layers if layer.weights}) or ["none"]
        raise ValueError(
            "Invalid value for argument `spectral_norm`: the discriminator has no Dense or convolutional layer whose "
            f"kernel could be normalized (layers with weights: {', '.join(kinds)}). Received: spectral_norm=True"
        )
    return normalized


def _check_image_input(discriminator):
    shape = discriminator.inputs[0].shape
    if len(shape) != 4 or None in shape[1:3]:
        raise ValueError(
            "Invalid value for argument `diff_augment`: DiffAugment transforms images, so the discriminator's first "
            f"input must be (height, width, channels) with a known size. Received: input shape {tuple(shape[1:])}"
        )


def _clone_with_weights(model):
    """A copy of `model` with its own variables, starting from the same values."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    clone.trainable = False
    return clone
