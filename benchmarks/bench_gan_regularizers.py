"""Cost of each GAN regularizer: training steps per second relative to the plain DCGAN step, in one alternating run.

Every trainer is what `kspec train specs/dcgan.yaml --set training.trainer.gan.OPTION=VALUE` builds (models,
trainer and optimizers from the spec). All see the same random images in [-1, 1] through one `tf.data` pipeline.
Each repetition times one `fit` epoch of `--steps` steps of every trainer, in an order rotated from repetition to
repetition, after a warm-up epoch per trainer that traces its step; the plain trainer runs in every repetition,
so each regularized rate is divided by the plain rate of the same repetition. Reported, by wall clock and by this
process's CPU time (steadier on a shared machine): the median rate of each trainer and the median (and range) of
its paired ratios to plain (< 1: slower than plain; 0.5: twice the time per step).

With `--threads 1` TensorFlow runs each op on one thread: on a machine shared by many jobs the CPU time then
counts the work of the step rather than threads waiting for cores.

Run: nice -n 10 python benchmarks/bench_gan_regularizers.py [--steps 20] [--repeats 7] [--batch-size 64] [--threads 1]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGURATIONS = {
    "plain": [],
    "r1": ["training.trainer.gan.r1_gamma=1.0"],
    "r1 lazy 16": ["training.trainer.gan.r1_gamma=1.0", "training.trainer.gan.r1_interval=16"],
    "spectral_norm": ["training.trainer.gan.spectral_norm=true"],
    "diff_augment": ["training.trainer.gan.diff_augment=[translation, cutout, color]"],
}


def from_spec(overrides):
    """The trainer `kspec train specs/dcgan.yaml --set ...` builds."""
    from kspec import builder
    from kspec.training.config import TrainingConfig
    from kspec.training.trainer_from_spec import build_compiled_trainer

    spec = builder.load_spec(os.path.join(REPO, "specs", "dcgan.yaml"), overrides=overrides)
    keras.utils.set_random_seed(0)
    return build_compiled_trainer(spec, TrainingConfig.from_spec(spec))[0]


def timed_epoch(trainer, dataset, steps):
    """(steps per wall second, steps per CPU second) of one `fit` epoch."""
    wall, cpu = time.perf_counter(), time.process_time()
    trainer.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow intra- and inter-op threads (0: its default).")
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    images = np.random.default_rng(0).uniform(-1, 1, size=(args.batch_size * 8, 28, 28, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(args.batch_size, drop_remainder=True).repeat().prefetch(2)
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}, batch {args.batch_size}, {args.steps} steps x "
          f"{args.repeats} repetitions, threads {args.threads or 'default'}; load averages at start {os.getloadavg()}")

    trainers = {name: from_spec(overrides) for name, overrides in CONFIGURATIONS.items()}
    for trainer in trainers.values():
        trainer.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)  # trace the step
    names = list(trainers)
    rates = {name: {"wall": [], "cpu": []} for name in names}
    for repetition in range(args.repeats):
        order = names[repetition % len(names):] + names[: repetition % len(names)]
        for name in order:
            wall, cpu = timed_epoch(trainers[name], dataset, args.steps)
            rates[name]["wall"].append(wall)
            rates[name]["cpu"].append(cpu)

    print(f"load averages at end {os.getloadavg()}")
    for clock, unit in (("wall", "steps/s"), ("cpu", "steps/CPU-s")):
        plain = rates["plain"][clock]
        for name in names:
            ratios = sorted(r / p for r, p in zip(rates[name][clock], plain))
            print(f"{clock:4s}  {name:14s} median {statistics.median(rates[name][clock]):6.2f} {unit:11s}  "
                  f"median paired ratio to plain {statistics.median(ratios):.3f} (range {ratios[0]:.3f}-{ratios[-1]:.3f})")


if __name__ == "__main__":
    main()
