"""Steps per second of kspec's VAE and GAN trainers against the same models trained by hand-written train_steps.

The hand-written trainers follow keras-io's `examples/generative/vae.py` and the DCGAN example: a
`keras.Model` whose `train_step` opens a `tf.GradientTape`. kspec's side is built from specs/vae.yaml and
specs/dcgan.yaml exactly as `kspec train` builds it (models, trainer, optimizers from `training:`); the hand
side is the same architecture written in Keras (parameter counts asserted equal). Both get the same random
data as one `tf.data` pipeline, the same optimizer settings and the same `jit_compile`;
each repetition times one `fit` epoch of `--steps` steps (DCGAN: `--gan-steps`, default the same) after a
warm-up epoch that traces the step, ours and theirs back to back, which one first alternating between
repetitions, so machine load affects both. Reported, by wall clock and by this process's CPU time (steadier
on a shared machine): median rate of each, the ratio of the medians, and the median of the per-repetition
ratios ours/hand (> 1 means kspec is faster).

Run: python benchmarks/bench_trainers.py [--steps 40] [--gan-steps 40] [--repeats 5] [--batch-size 128] [--jit auto|on|off]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from kspec.layers import Sampling  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --- Models: the classic Keras MNIST VAE and a DCGAN for 28x28x1 -------------------------------------------


def mnist_vae_models(latent_dim=2):
    images = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(images)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(x))
    z_mean, z_log_var = keras.layers.Dense(latent_dim)(x), keras.layers.Dense(latent_dim)(x)
    encoder = keras.Model(images, [z_mean, z_log_var, Sampling(seed=0)([z_mean, z_log_var])], name="encoder")
    z = keras.Input((latent_dim,))
    x = keras.layers.Reshape((7, 7, 64))(keras.layers.Dense(7 * 7 * 64, activation="relu")(z))
    x = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    decoder = keras.Model(z, keras.layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")(x), name="decoder")
    return encoder, decoder


def dcgan_models(latent_dim=64, filters=64):
    z = keras.Input((latent_dim,))
    x = keras.layers.Dense(7 * 7 * filters * 2, use_bias=False)(z)
    x = keras.layers.LeakyReLU(0.2)(keras.layers.BatchNormalization()(x))
    x = keras.layers.Reshape((7, 7, filters * 2))(x)
    for width in (filters * 2, filters):  # 7 -> 14 -> 28
        x = keras.layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.LeakyReLU(0.2)(keras.layers.BatchNormalization()(x))
    generator = keras.Model(z, keras.layers.Conv2D(1, 5, padding="same", activation="tanh")(x), name="generator")
    images = keras.Input((28, 28, 1))
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(filters, 4, strides=2, padding="same")(images))
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(filters * 2, 4, strides=2, padding="same")(x))
    logit = keras.layers.Dense(1)(keras.layers.Dropout(0.3)(keras.layers.Flatten()(x)))
    return generator, keras.Model(images, logit, name="discriminator")


# --- The same trainers written by hand ---------------------------------------------------------------------


class HandVAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data, training=True)
            reconstruction = self.decoder(z, training=True)
            reconstruction_loss = ops.mean(ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
            kl_loss = ops.mean(ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


class HandGAN(keras.Model):
    def __init__(self, generator, discriminator, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.seed_generator = keras.random.SeedGenerator(0)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        fake_images = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_loss = self.bce(ops.ones_like(real_logits), real_logits) + self.bce(ops.zeros_like(fake_logits), fake_logits)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.bce(ops.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


# --- Timing ------------------------------------------------------------------------------------------------


def steps_per_second(model, dataset, steps):
    """Steps per wall-clock second and per CPU-second of this process (all its threads).

    On a shared machine other processes slow the wall clock; CPU time counts only the work this process did.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def compare(name, ours, hand, dataset, steps, repeats):
    for model in (ours, hand):  # warm-up: trace the step
        model.fit(dataset, epochs=1, steps_per_epoch=2, shuffle=False, verbose=0)
    rates = {"kspec": [], "hand": []}
    models = {"kspec": ours, "hand": hand}
    for repetition in range(repeats):
        # Which one runs first alternates, so a trend in the machine's load does not favour either.
        for name in ("kspec", "hand") if repetition % 2 == 0 else ("hand", "kspec"):
            rates[name].append(steps_per_second(models[name], dataset, steps))
    ratios = {}
    for index, clock in enumerate(("wall", "cpu")):
        kspec = statistics.median(r[index] for r in rates["kspec"])
        by_hand = statistics.median(r[index] for r in rates["hand"])
        # Each repetition times both back to back; the median of those paired ratios is less exposed to load
        # that changes between repetitions than the ratio of the two medians.
        paired = statistics.median(a[index] / b[index] for a, b in zip(rates["kspec"], rates["hand"]))
        unit = "steps/s" if clock == "wall" else "steps/CPU-s"
        print(
            f"{name:5s} {clock:4s}  kspec {kspec:7.2f} {unit}   hand-written {by_hand:7.2f} {unit}   "
            f"ratio of medians {kspec / by_hand:.3f}   median paired ratio {paired:.3f}"
        )
        ratios[clock] = paired
    return ratios


def from_spec(name, jit):
    """The trainer `kspec train specs/NAME` builds: models from the spec, trainer and optimizers from training:."""
    from kspec import builder
    from kspec.training.config import TrainingConfig
    from kspec.training.trainer_from_spec import build_compiled_trainer

    spec = builder.load_spec(os.path.join(REPO, "specs", name), overrides=[f"training.jit_compile={str(jit).lower()}"]
                             if jit != "auto" else [])
    trainer, _ = build_compiled_trainer(spec, TrainingConfig.from_spec(spec))
    return trainer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--gan-steps", type=int, default=None,
                        help="steps per timed DCGAN epoch (default: --steps); few steps would time fit's setup more than the steps")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--jit", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--only", choices=["vae", "gan"], default=None)
    args = parser.parse_args()
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).uniform(size=(args.batch_size * 8, 28, 28, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(args.batch_size, drop_remainder=True).repeat().prefetch(2)
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}, batch {args.batch_size}, jit_compile={args.jit}")

    if args.only in (None, "vae"):
        ours = from_spec("vae.yaml", jit)  # what `kspec train specs/vae.yaml` trains
        encoder, decoder = mnist_vae_models()
        assert [m.count_params() for m in (encoder, decoder)] == [ours.encoder.count_params(), ours.decoder.count_params()]
        hand = HandVAE(encoder, decoder)
        hand.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit)
        print(f"      jit_compile resolved to: kspec {ours.jit_compile}, hand {hand.jit_compile}")
        compare("VAE", ours, hand, dataset, args.steps, args.repeats)

    if args.only in (None, "gan"):
        gan_images = dataset.map(lambda x: x * 2.0 - 1.0)
        ours = from_spec("dcgan.yaml", jit)
        generator, discriminator = dcgan_models()
        assert [m.count_params() for m in (generator, discriminator)] == [
            ours.generator.count_params(), ours.discriminator.count_params()]
        hand = HandGAN(generator, discriminator, latent_dim=64)
        hand.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), jit_compile=jit)
        compare("DCGAN", ours, hand, gan_images, args.gan_steps or args.steps, args.repeats)


if __name__ == "__main__":
    main()
