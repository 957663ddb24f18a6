"""Variational autoencoder trainer (Kingma & Welling 2014) over an encoder and a decoder model."""

import keras
from keras import ops

from kspec.registry import TRAINERS
from kspec.trainers import gradients
from kspec.trainers.batches import unpack_images_and_labels
from kspec.trainers.interpolation import interpolate
from kspec.trainers.priors import GaussianPrior
from kspec.trainers.vae_losses import get_reconstruction_loss, kl_divergence


@TRAINERS.register("vae")
class VAE(keras.Model):
    """Trains an encoder and a decoder to minimize `reconstruction + beta * KL` (the negative ELBO for beta=1).

    Args:
        encoder: model mapping images to `[z_mean, z_log_var, z]`, `z` drawn by a `kspec>Sampling` layer.
        decoder: model mapping `z` to images.
        beta: weight of the KL term after warm-up (Higgins et al. 2017's beta-VAE for beta > 1).
        kl_warmup_steps: ramp the KL weight linearly from 0 to `beta` over this many optimizer steps
            (Bowman et al. 2016's KL annealing); 0 disables it.
        kl_warmup_epochs: the same ramp counted in epochs of `fit` (weight `beta * epoch / kl_warmup_epochs`);
            exclusive with `kl_warmup_steps`.
        reconstruction: `"bce"` (decoder outputs probabilities, images in [0, 1]), `"mse"`, or a callable
            `(images, reconstructions) -> scalar`.
        seed: integer seed of `sample`'s default draws.
        **kwargs: base `keras.Model` arguments (`name`).

    Metrics: `loss` (the minimized total), `reconstruction_loss`, `kl_loss` (unweighted), and `kl_weight`.

    Example:
    >>> import numpy as np
    >>> from kspec.layers import Sampling
    >>> x = keras.Input((4,))
    >>> mean, log_var = keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)
    >>> encoder = keras.Model(x, [mean, log_var, Sampling(seed=0)([mean, log_var])])
    >>> decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, activation="sigmoid")])
    >>> vae = VAE(encoder, decoder, kl_warmup_steps=10)
    >>> vae.compile(optimizer="adam")
    >>> history = vae.fit(np.random.rand(8, 4), batch_size=4, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['kl_loss', 'kl_weight', 'loss', 'reconstruction_loss']
    >>> vae.sample(3, seed=0).shape
    (3, 4)
    """

    def __init__(
        self,
        encoder,
        decoder,
        beta=1.0,
        kl_warmup_steps=0,
        kl_warmup_epochs=0,
        reconstruction="bce",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if len(encoder.outputs) != 3:
            raise ValueError(
                "Invalid value for argument `encoder`: expected a model with 3 outputs [z_mean, z_log_var, z]. "
                f"Received: a model with {len(encoder.outputs)} output(s)"
            )
        if not isinstance(beta, (int, float)) or beta < 0:
            raise ValueError(f"Invalid value for argument `beta`: expected a number >= 0. Received: beta={beta!r}")
        for name, value in (("kl_warmup_steps", kl_warmup_steps), ("kl_warmup_epochs", kl_warmup_epochs)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"Invalid value for argument `{name}`: expected an integer >= 0. Received: {name}={value!r}")
        if kl_warmup_steps and kl_warmup_epochs:
            raise ValueError(
                "Invalid values for arguments `kl_warmup_steps` and `kl_warmup_epochs`: expected at most one of them "
                f"to be set. Received: kl_warmup_steps={kl_warmup_steps}, kl_warmup_epochs={kl_warmup_epochs}"
            )
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.kl_warmup_steps = kl_warmup_steps
        self.kl_warmup_epochs = kl_warmup_epochs
        self.reconstruction_loss_fn = get_reconstruction_loss(reconstruction)
        self.latent_dim = int(decoder.inputs[0].shape[-1])
        self.prior = GaussianPrior(self.latent_dim)
        self.seed = seed
        # The epoch `fit` is in, set by `_EpochCounter`, for the warm-up counted in epochs.
        self.epoch = keras.Variable(0.0, trainable=False, name="epoch")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    @property
    def metrics(self):
        # Listed here so Keras resets them at each epoch.
        return [self.loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, images, training=False):
        _, _, z = self.encoder(images, training=training)
        return self.decoder(z, training=training)

    def kl_weight(self):
        """The current weight of the KL term: `beta`, ramped linearly from 0 during the warm-up."""
        if self.kl_warmup_steps:
            progress = ops.cast(self.optimizer.iterations, "float32") / self.kl_warmup_steps
        elif self.kl_warmup_epochs:
            progress = self.epoch / self.kl_warmup_epochs
        else:
            return ops.convert_to_tensor(self.beta)
        return self.beta * ops.minimum(1.0, progress)

    def compute_loss_terms(self, images, training=False):
        """Returns `(total, (reconstruction_loss, kl_loss))` for a batch; `total` includes layer regularizers."""
        z_mean, z_log_var, z = self.encoder(images, training=training)
        reconstructions = self.decoder(z, training=training)
        reconstruction_loss = self.reconstruction_loss_fn(images, reconstructions)
        kl_loss = kl_divergence(z_mean, z_log_var)
        total = reconstruction_loss + self.kl_weight() * kl_loss + sum(self.losses, 0.0)
        return total, (reconstruction_loss, kl_loss)

    def train_step(self, data):
        images, _ = unpack_images_and_labels(data)
        # Encode, sample z, decode, and take one step on reconstruction + weighted KL for both networks.
        loss, (reconstruction_loss, kl_loss) = gradients.minimize(
            self.optimizer, lambda: self.compute_loss_terms(images, training=True), self.trainable_weights
        )
        return self._update_metrics(loss, reconstruction_loss, kl_loss)

    def test_step(self, data):
        images, _ = unpack_images_and_labels(data)
        loss, (reconstruction_loss, kl_loss) = self.compute_loss_terms(images, training=False)
        return self._update_metrics(loss, reconstruction_loss, kl_loss)

    def _update_metrics(self, loss, reconstruction_loss, kl_loss):
        self.loss_tracker.update_state(loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {**{m.name: m.result() for m in self.metrics}, "kl_weight": self.kl_weight()}

    def fit(self, *args, **kwargs):
        if self.kl_warmup_epochs:
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _EpochCounter(self.epoch)]
        return super().fit(*args, **kwargs)

    def encode(self, images):
        """The posterior means `z_mean` of `images`, as a numpy array `(n, latent_dim)`."""
        z_mean, _, _ = self.encoder(images, training=False)
        return ops.convert_to_numpy(z_mean)

    def sample(self, n, seed=None):
        """Decodes `n` draws from the N(0, I) prior; `seed` (default: the trainer's) makes them reproducible.

        Returns:
            A numpy array `(n, *image_shape)`.
        """
        seed = self.seed if seed is None else seed
        # predict_on_batch runs a traced function (built once); an eager call of the decoder costs several times more.
        return self.decoder.predict_on_batch(self.prior.sample(n, seed=seed))

    def reconstruct(self, images):
        """Decodes the posterior means of `images` (no sampling noise); a numpy array shaped like `images`."""
        return ops.convert_to_numpy(self.decoder(self.encode(images), training=False))

    def interpolate(self, z0, z1, steps=8):
        """Decodes `steps` latents on the line from `z0` to `z1`; see `kspec.trainers.interpolation`."""
        return interpolate(self.decoder, z0, z1, steps)


class _EpochCounter(keras.callbacks.Callback):
    """Copies the epoch index into a variable the (compiled) train step can read."""

    def __init__(self, variable):
        super().__init__()
        self.variable = variable

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(float(epoch))
