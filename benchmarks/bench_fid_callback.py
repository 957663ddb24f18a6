"""Overhead of the FID callback on the VAE-on-digits run at its default settings, as a share of epoch time.

    python benchmarks/bench_fid_callback.py [--classifier runs/cnn] [--epochs 6]

Trains specs/vae.yaml twice in one process, with and without the `training.evaluation` of
specs/vae_with_fid.yaml (its defaults: FID + IS on 1000 samples, every 5 epochs), and compares the mean
epoch time over epochs 2..N (the first traces the graphs and computes the real-data statistics once), so
the scored epochs are amortized as in a real run. Needs a classifier run (the README's first command
trains one into runs/cnn).
"""

import argparse
import os
import statistics
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EpochTimer:
    def __init__(self):
        import keras

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(inner, epoch, logs=None):
                inner.start = time.perf_counter()

            def on_epoch_end(inner, epoch, logs=None):
                self.times.append(time.perf_counter() - inner.start)

        self.times = []
        self.callback = Timer()


def epoch_times(spec, evaluation, epochs, cache_dir):
    import keras

    from kspec.data import load_arrays, load_data
    from kspec.training.config import TrainingConfig
    from kspec.training.evaluation import metric_callbacks
    from kspec.training.trainer_from_spec import build_compiled_trainer

    config = TrainingConfig.from_spec(spec)
    keras.utils.set_random_seed(0)
    trainer, _ = build_compiled_trainer(spec, config)
    data = load_data(spec.data, batch_size=config.batch_size, seed=0)
    timer = EpochTimer()
    callbacks = []
    if evaluation:
        os.environ["KSPEC_CACHE_DIR"] = cache_dir
        real = load_arrays(spec.data, seed=0).train.inputs
        callbacks = metric_callbacks(spec, evaluation, trainer, real, data.info.normalization.output_range)
    # The timer wraps the metric callbacks: it starts before them and stops after them.
    order = [_Start(timer), *callbacks, _Stop(timer)]
    trainer.fit(data.train, epochs=epochs, callbacks=order, verbose=0, shuffle=False)
    return timer.times


def _Start(timer):
    import keras

    class Start(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            timer.callback.on_epoch_begin(epoch)

    return Start()


def _Stop(timer):
    import keras

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            timer.callback.on_epoch_end(epoch)

    return Stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classifier", default=os.path.join("runs", "cnn"))
    parser.add_argument("--epochs", type=int, default=11)
    arguments = parser.parse_args()

    from kspec import builder

    spec = builder.load_spec(os.path.join(REPO, "specs", "vae_with_fid.yaml"),
                             overrides=[f"training.evaluation.extractor.run={arguments.classifier}"])
    evaluation = dict(spec.training["evaluation"])
    with tempfile.TemporaryDirectory() as cache:
        plain = epoch_times(spec, None, arguments.epochs, cache)[1:]
        scored = epoch_times(spec, evaluation, arguments.epochs, cache)[1:]
    base, with_fid = statistics.mean(plain), statistics.mean(scored)
    print(f"VAE on digits, mean epoch over epochs 2..{arguments.epochs}: without metrics {base:.2f} s, with "
          f"{'+'.join(evaluation['metrics'])} on {evaluation['samples']} samples every {evaluation['every']} epochs "
          f"{with_fid:.2f} s; overhead {(with_fid - base) / base:.1%} (median epoch {statistics.median(plain):.2f} s "
          f"vs {statistics.median(scored):.2f} s)")


if __name__ == "__main__":
    main()
