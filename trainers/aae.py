"""Adversarial autoencoder trainer (Makhzani et al. 2016): an autoencoder whose codes are matched to a prior."""

import keras
from keras import ops

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.batches import unpack_images_and_labels
from kspec.trainers.gan_losses import get_adversarial_loss
from kspec.trainers.interpolation import interpolate
from kspec.trainers.priors import get_prior
from kspec.trainers.vae_losses import get_reconstruction_loss


@TRAINERS.register("aae")
class AAE(keras.Model):
    """Each step runs the paper's three phases (Makhzani et al. 2016, sec. 2) on one batch.

    1. Reconstruction: encoder and decoder minimize the reconstruction error.
    2. Regularization, discriminator: the latent discriminator learns to tell prior samples (real) from
       codes of the batch (fake).
    3. Regularization, generator: the encoder learns to make its codes pass for prior samples.

    Args:
        encoder: model mapping images to codes `z`; with several outputs (`[z_mean, z_log_var, z]`) the last
            one is the code.
        decoder: model mapping codes to images.
        discriminator: the latent discriminator, mapping codes to one logit each.
        prior: the prior the codes should follow, a name or `{"name": ..., **options}` from
            `kspec.registry.PRIORS` (`gaussian`, `uniform`, `gaussian_mixture`) or a `Prior`.
        loss: adversarial loss of phases 2 and 3, a name in `kspec.registry.LOSSES`.
        label_smoothing: one-sided smoothing of the real (prior) targets.
        reconstruction: `"bce"`, `"mse"` or a callable `(images, reconstructions) -> scalar`.
        seed: integer seed of the prior draws during training and of `sample`'s default draws.
        **kwargs: base `keras.Model` arguments (`name`).

    Metrics: `reconstruction_loss`, `d_loss` (latent discriminator), `g_loss` (encoder as generator).

    Example:
    >>> import numpy as np
    >>> encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    >>> discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> aae = AAE(encoder, decoder, discriminator, prior="uniform", reconstruction="mse", seed=0)
    >>> aae.compile(ae_optimizer="adam", d_optimizer="adam")
    >>> history = aae.fit(np.random.rand(8, 4), batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['d_loss', 'g_loss', 'reconstruction_loss']
    """

    def __init__(
        self,
        encoder,
        decoder,
        discriminator,
        prior="gaussian",
        loss="non_saturating",
        label_smoothing=0.0,
        reconstruction="bce",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.latent_dim = int(decoder.inputs[0].shape[-1])
        self.prior = get_prior(prior, self.latent_dim)
        self.adversarial_loss = get_adversarial_loss(loss, label_smoothing)
        if self.adversarial_loss.uses_gradient_penalty:
            raise ValueError(
                f"Invalid value for argument `loss`: the AAE trainer has no gradient penalty; use `wasserstein` with "
                f"another Lipschitz constraint, or a non-Wasserstein loss. Received: loss={loss!r}"
            )
        self.reconstruction_loss_fn = get_reconstruction_loss(reconstruction)
        self.seed = seed
        self.seed_generator = gradients.PerReplicaSeedGenerator(seed)
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True

    def compile(self, ae_optimizer, d_optimizer, g_optimizer=None, **kwargs):
        """Sets the optimizers of the three phases.

        Args:
            ae_optimizer: updates encoder and decoder on the reconstruction loss.
            d_optimizer: updates the latent discriminator.
            g_optimizer: updates the encoder on the adversarial loss; default a fresh copy of `ae_optimizer`'s
                configuration (its own moment estimates: the two losses have different scales).
            **kwargs: passed to `keras.Model.compile` (`jit_compile`, `run_eagerly`, ...).
        """
        super().compile(optimizer=None, **kwargs)
        self.ae_optimizer = keras.optimizers.get(ae_optimizer)
        self.d_optimizer = keras.optimizers.get(d_optimizer)
        if g_optimizer is None:
            g_optimizer = self.ae_optimizer.__class__.from_config(self.ae_optimizer.get_config())
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        # Built now, not lazily inside the first (possibly distributed) step; see `GAN.compile`.
        self.ae_optimizer.build(self.encoder.trainable_variables + self.decoder.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.encoder.trainable_variables)

    @property
    def metrics(self):
        return [self.reconstruction_loss_tracker, self.d_loss_tracker, self.g_loss_tracker]

    def call(self, images, training=False):
        return self.decoder(self._encode(images, training), training=training)

    def train_step(self, data):
        images, _ = unpack_images_and_labels(data)

        # 1. Reconstruction phase: encoder and decoder.
        reconstruction_loss, _ = gradients.minimize(
            self.ae_optimizer,
            lambda: self.reconstruction_phase_loss(images),
            self.encoder.trainable_weights + self.decoder.trainable_weights,
        )

        # 2. Regularization phase, discriminator: prior samples are real, codes (held constant) are fake.
        codes = ops.stop_gradient(self._encode(images, training=True))
        prior_samples = self.prior.sample(ops.shape(images)[0], seed=self.seed_generator)
        d_loss, _ = gradients.minimize(
            self.d_optimizer,
            lambda: self.discriminator_phase_loss(prior_samples, codes),
            self.discriminator.trainable_weights,
        )

        # 3. Regularization phase, generator: the encoder learns to fool the discriminator.
        g_loss, _ = gradients.minimize(
            self.g_optimizer, lambda: self.generator_phase_loss(images), self.encoder.trainable_weights
        )

        return self._update_metrics(reconstruction_loss, d_loss, g_loss)

    def test_step(self, data):
        images, _ = unpack_images_and_labels(data)
        reconstruction_loss, _ = self.reconstruction_phase_loss(images, training=False)
        prior_samples = self.prior.sample(ops.shape(images)[0], seed=self.seed_generator)
        codes = self._encode(images, training=False)
        d_loss, _ = self.discriminator_phase_loss(prior_samples, codes, training=False)
        g_loss, _ = self.generator_phase_loss(images, training=False)
        return self._update_metrics(reconstruction_loss, d_loss, g_loss)

    # -- Phase losses, each `(loss, extras)` as `gradients.minimize` expects ----------------------------------

    def reconstruction_phase_loss(self, images, training=True):
        reconstructions = self.decoder(self._encode(images, training), training=training)
        regularization = sum(self.encoder.losses + self.decoder.losses, 0.0)
        return self.reconstruction_loss_fn(images, reconstructions) + regularization, ()

    def discriminator_phase_loss(self, prior_samples, codes, training=True):
        real_logits = self.discriminator(prior_samples, training=training)
        fake_logits = self.discriminator(codes, training=training)
        loss = self.adversarial_loss.discriminator_loss(real_logits, fake_logits)
        return loss + sum(self.discriminator.losses, 0.0), ()

    def generator_phase_loss(self, images, training=True):
        fake_logits = self.discriminator(self._encode(images, training), training=training)
        return self.adversarial_loss.generator_loss(fake_logits) + sum(self.encoder.losses, 0.0), ()

    # -- Using the trained model ----------------------------------------------------------------------------

    def encode(self, images):
        """The codes of `images`, a numpy array `(n, latent_dim)`."""
        return ops.convert_to_numpy(self._encode(images, training=False))

    def sample(self, n, seed=None):
        """Decodes `n` prior samples; `seed` (default: the trainer's) makes them reproducible. A numpy array."""
        z = self.prior.sample(n, seed=self.seed if seed is None else seed)
        return self.decoder.predict_on_batch(z)  # traced once; eager calls cost several times more

    def reconstruct(self, images):
        """Decodes the codes of `images`; a numpy array shaped like `images`."""
        return ops.convert_to_numpy(self.decoder(self._encode(images, training=False), training=False))

    def interpolate(self, z0, z1, steps=8):
        """Decodes `steps` codes on the line from `z0` to `z1`; see `kspec.trainers.interpolation`."""
        return interpolate(self.decoder, z0, z1, steps)

    def _encode(self, images, training):
        outputs = self.encoder(images, training=training)
        return outputs[-1] if isinstance(outputs, (list, tuple)) else outputs

    def _update_metrics(self, reconstruction_loss, d_loss, g_loss):
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}
