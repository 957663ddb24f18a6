"""Steps per second of kspec's CycleGAN and pix2pix trainers against hand-written train_steps on the same models.

The hand-written trainers are keras-io-style `keras.Model`s whose `train_step` opens `tf.GradientTape`s (written
for this benchmark): the CycleGAN one in the shape of keras-io's CycleGAN example (one persistent tape over
both generators and both discriminators, four gradients, four optimizers, no image pool), the pix2pix one in
the shape of TensorFlow's pix2pix tutorial (a generator tape and a discriminator tape over one forward pass).
Both compute the same losses as kspec's trainers (least squares with the discriminator halved, cycle and
identity L1 for CycleGAN; cross-entropy and 100 x L1 for pix2pix).

kspec's side is built from specs/cyclegan.yaml and specs/pix2pix.yaml exactly as `kspec train` builds it
(models, trainer, optimizers from `training:`); the hand side gets a second build of the same spec's models
with the same starting weights, the same batch of random images in [-1, 1] (one `tf.data` pipeline) and the
same `jit_compile`. Each repetition times one `fit` epoch of `--steps` steps after a warm-up that traces the
step, kspec's and the hand-written one alternating so machine load affects both. Reported, by wall clock and
by this process's CPU time (steadier on a shared machine): the median rate of each, the ratio of the medians,
and the median of the per-repetition ratios kspec / hand (> 1: kspec is faster).

kspec's CycleGAN draws the discriminators' fakes through its history pool of 50 images (the paper's); the
keras-io-style step has none, which `--pool-size 0` matches.

Run: python benchmarks/bench_translation.py [--steps 10] [--repeats 5] [--batch-size 8] [--image-size 32]
         [--only cyclegan|pix2pix] [--pool-size 50] [--jit auto|on|off]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from bench_trainers import compare  # noqa: E402  (the same timing: alternating fits, paired ratios)
from keras import ops  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mean_squared(target, values):
    return ops.mean(ops.square(values - target))


def mean_absolute(images, references):
    return ops.mean(ops.abs(images - references))


class HandCycleGAN(keras.Model):
    """CycleGAN as keras-io writes it: every forward pass under one persistent tape, then four gradients."""

    def __init__(self, generator_g, generator_f, discriminator_x, discriminator_y, lambda_cycle=10.0,
                 lambda_identity=0.5, **kwargs):
        super().__init__(**kwargs)
        self.gen_g, self.gen_f = generator_g, generator_f
        self.disc_x, self.disc_y = discriminator_x, discriminator_y
        self.lambda_cycle, self.lambda_identity = lambda_cycle, lambda_identity
        self.trackers = [keras.metrics.Mean(name=n) for n in ("g_loss", "f_loss", "d_x_loss", "d_y_loss")]

    def compile(self, g_optimizer, f_optimizer, d_x_optimizer, d_y_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer, self.f_optimizer = g_optimizer, f_optimizer
        self.d_x_optimizer, self.d_y_optimizer = d_x_optimizer, d_y_optimizer

    @property
    def metrics(self):
        return self.trackers

    def train_step(self, batch):
        real_x, real_y = batch
        with tf.GradientTape(persistent=True) as tape:
            fake_y = self.gen_g(real_x, training=True)
            fake_x = self.gen_f(real_y, training=True)
            cycled_x = self.gen_f(fake_y, training=True)
            cycled_y = self.gen_g(fake_x, training=True)
            same_x = self.gen_f(real_x, training=True)
            same_y = self.gen_g(real_y, training=True)
            disc_real_x = self.disc_x(real_x, training=True)
            disc_fake_x = self.disc_x(fake_x, training=True)
            disc_real_y = self.disc_y(real_y, training=True)
            disc_fake_y = self.disc_y(fake_y, training=True)

            cycle = self.lambda_cycle * (mean_absolute(cycled_x, real_x) + mean_absolute(cycled_y, real_y))
            identity_weight = self.lambda_cycle * self.lambda_identity
            g_loss = mean_squared(1.0, disc_fake_y) + cycle + identity_weight * mean_absolute(same_y, real_y)
            f_loss = mean_squared(1.0, disc_fake_x) + cycle + identity_weight * mean_absolute(same_x, real_x)
            d_x_loss = 0.5 * (mean_squared(1.0, disc_real_x) + mean_squared(0.0, disc_fake_x))
            d_y_loss = 0.5 * (mean_squared(1.0, disc_real_y) + mean_squared(0.0, disc_fake_y))

        for loss, model, optimizer in ((g_loss, self.gen_g, self.g_optimizer), (f_loss, self.gen_f, self.f_optimizer),
                                       (d_x_loss, self.disc_x, self.d_x_optimizer),
                                       (d_y_loss, self.disc_y, self.d_y_optimizer)):
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        for tracker, loss in zip(self.trackers, (g_loss, f_loss, d_x_loss, d_y_loss)):
            tracker.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


class HandPix2Pix(keras.Model):
    """pix2pix as TensorFlow's tutorial writes it: a generator tape and a discriminator tape, one forward pass."""

    def __init__(self, generator, discriminator, lambda_l1=100.0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.lambda_l1 = generator, discriminator, lambda_l1
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.trackers = [keras.metrics.Mean(name=n) for n in ("g_loss", "l1_loss", "d_loss")]

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

    @property
    def metrics(self):
        return self.trackers

    def train_step(self, batch):
        source, target = batch
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            generated = self.generator(source, training=True)
            real_logits = self.discriminator([source, target], training=True)
            fake_logits = self.discriminator([source, generated], training=True)
            l1 = mean_absolute(generated, target)
            g_loss = self.bce(ops.ones_like(fake_logits), fake_logits) + self.lambda_l1 * l1
            d_loss = 0.5 * (self.bce(ops.ones_like(real_logits), real_logits)
                            + self.bce(ops.zeros_like(fake_logits), fake_logits))
        g_grads = g_tape.gradient(g_loss, self.generator.trainable_variables)
        d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
        for tracker, value in zip(self.trackers, (g_loss, l1, d_loss)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}


def from_spec(name, overrides):
    """The trainer `kspec train specs/NAME` builds, and a second build of the spec's models with its weights."""
    from kspec import builder
    from kspec.training.config import TrainingConfig
    from kspec.training.trainer_from_spec import build_compiled_trainer

    spec = builder.load_spec(os.path.join(REPO, "specs", name), overrides=overrides)
    config = TrainingConfig.from_spec(spec)
    trainer, models = build_compiled_trainer(spec, config)
    copies = builder.build(spec)
    for model_name, model in models.items():
        copies[model_name].set_weights(model.get_weights())
        assert copies[model_name].count_params() == model.count_params()
    return trainer, copies, config


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--pool-size", type=int, default=50, help="kspec CycleGAN's history pool (0: none)")
    parser.add_argument("--jit", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--only", choices=["cyclegan", "pix2pix"], default=None)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    overrides = [f"params.image_size={args.image_size}", f"training.batch_size={args.batch_size}"]
    if args.jit != "auto":
        overrides.append(f"training.jit_compile={'true' if args.jit == 'on' else 'false'}")
    jit = {"auto": "auto", "on": True, "off": False}[args.jit]
    rng = np.random.default_rng(0)
    shape = (args.batch_size * 4, args.image_size, args.image_size, 1)
    images = [rng.uniform(-1, 1, shape).astype("float32") for _ in range(2)]
    dataset = (tf.data.Dataset.from_tensor_slices(tuple(images)).batch(args.batch_size, drop_remainder=True)
               .repeat().prefetch(2))
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}, {args.image_size}x{args.image_size}x1, "
          f"batch {args.batch_size}, jit_compile={args.jit}, {args.steps} CycleGAN or {10 * args.steps} pix2pix steps "
          f"x {args.repeats} repetitions, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)

    if args.only in (None, "cyclegan"):
        ours, copies, _ = from_spec("cyclegan.yaml", overrides + [f"training.trainer.cyclegan.pool_size={args.pool_size}"])
        hand = HandCycleGAN(copies["generator_ab"], copies["generator_ba"], copies["discriminator_a"],
                            copies["discriminator_b"])
        hand.compile(adam(), adam(), adam(), adam(), jit_compile=jit)
        print(f"CycleGAN: kspec pool_size {args.pool_size}; jit_compile resolved to kspec {ours.jit_compile}, "
              f"hand {hand.jit_compile}", flush=True)
        compare("CycleGAN", ours, hand, dataset, args.steps, args.repeats)

    if args.only in (None, "pix2pix"):
        ours, copies, _ = from_spec("pix2pix.yaml", overrides)
        hand = HandPix2Pix(copies["generator"], copies["discriminator"])
        hand.compile(adam(), adam(), jit_compile=jit)
        # A pix2pix step at the default size costs about a tenth of a CycleGAN step: time ten times as many.
        compare("pix2pix", ours, hand, dataset, 10 * args.steps, args.repeats)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
