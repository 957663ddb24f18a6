"""Overhead of the FID callback on the VAE-on-digits run at its default settings, as a share of training time.

    python benchmarks/bench_fid_callback.py [--classifier runs/cnn] [--repeats 9]

Builds specs/vae.yaml twice in one process: once plain, once with the `training.evaluation` of
specs/vae_with_fid.yaml (its defaults: FID + IS on 1000 samples, every 5 epochs). Each repetition trains
both for one cycle of `every` epochs (one scored epoch per cycle, as in a long run), back to back, in an order
that alternates between repetitions; after a warm-up cycle of each that traces the graphs and computes the
real-data statistics once. Reported, by wall time (what a run waits) and by this process's CPU time (steadier
on a shared machine): the median over repetitions of the paired ratio (scored cycle time / plain cycle
time) - 1, what a run's time grows by; the load average is printed with it. Needs a classifier run (the README's first command trains one into runs/cnn).
"""

import argparse
import os
import statistics
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Configuration:
    """A trainer and its data, trained on cycle by cycle with `fit(initial_epoch=...)`, timing each cycle."""

    def __init__(self, spec, evaluation):
        import keras

        from kspec.data import load_arrays, load_data
        from kspec.training.config import TrainingConfig
        from kspec.training.evaluation import metric_callbacks
        from kspec.training.trainer_from_spec import build_compiled_trainer

        config = TrainingConfig.from_spec(spec)
        keras.utils.set_random_seed(0)
        self.trainer, _ = build_compiled_trainer(spec, config)
        self.data = load_data(spec.data, batch_size=config.batch_size, seed=0)
        self.callbacks = []
        if evaluation:
            real = load_arrays(spec.data, seed=0).train.inputs
            self.callbacks = metric_callbacks(spec, evaluation, self.trainer, real, self.data.info.normalization.output_range)
        self.epochs_done = 0

    def train_cycle(self, epochs):
        """Trains `epochs` more epochs; returns (wall, CPU) seconds of the epochs, metric callbacks included."""
        import keras

        wall, cpu = [], []

        class Start(keras.callbacks.Callback):  # first in the list: starts before the metric callbacks
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter(), time.process_time()

        start = Start()

        class Stop(keras.callbacks.Callback):  # last: stops after them
            def on_epoch_end(self, epoch, logs=None):
                wall.append(time.perf_counter() - start.start[0])
                cpu.append(time.process_time() - start.start[1])

        self.trainer.fit(self.data.train, initial_epoch=self.epochs_done, epochs=self.epochs_done + epochs,
                         callbacks=[start, *self.callbacks, Stop()], verbose=0, shuffle=False)
        self.epochs_done += epochs
        return sum(wall), sum(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classifier", default=os.path.join("runs", "cnn"))
    parser.add_argument("--repeats", type=int, default=9)
    arguments = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from kspec import builder

    spec = builder.load_spec(os.path.join(REPO, "specs", "vae_with_fid.yaml"),
                             overrides=[f"training.evaluation.extractor.run={arguments.classifier}"])
    evaluation = dict(spec.training["evaluation"])
    every = evaluation.get("every", 1)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["KSPEC_CACHE_DIR"] = cache
        runs = {"plain": Configuration(spec, None), "scored": Configuration(spec, evaluation)}
        for configuration in runs.values():  # warm-up: traces, and the real-data statistics of the scored run
            configuration.train_cycle(every)
        times = {name: [] for name in runs}
        for repetition in range(arguments.repeats):
            order = ["plain", "scored"] if repetition % 2 == 0 else ["scored", "plain"]
            for name in order:
                times[name].append(runs[name].train_cycle(every))
    print(f"VAE on digits, cycles of {every} epochs ({'+'.join(evaluation['metrics'])} on {evaluation['samples']} "
          f"samples once per cycle), {arguments.repeats} repetitions alternating; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    # Wall time is what a run waits; this process's CPU time is steadier on a shared machine.
    for index, clock in enumerate(("wall", "CPU")):
        plain = [t[index] for t in times["plain"]]
        scored = [t[index] for t in times["scored"]]
        ratios = [s / p for s, p in zip(scored, plain)]
        print(f"  {clock:4s} time: median cycle without metrics {statistics.median(plain):.2f} s, with "
              f"{statistics.median(scored):.2f} s; overhead (median of paired ratios - 1) "
              f"{statistics.median(ratios) - 1:+.1%}; paired ratios {', '.join(f'{r:.3f}' for r in ratios)}")


if __name__ == "__main__":
    main()
