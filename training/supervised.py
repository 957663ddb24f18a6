"""`kspec train` for supervised specs: one model, one loss, Keras' own `fit`."""

import os

from kspec import builder
from kspec.training.checkpoints import RunCheckpoint, raise_if_failed, restore
from kspec.training.config import TrainingConfig, keras_callbacks, keras_loss, keras_metrics, keras_optimizer
from kspec.training.run_directory import RunDirectory


def checkpoint_bytes(model):
    """Rough size of the checkpoints kept at once (epoch + best, weights and two Adam slots each)."""
    return int(model.count_params() * 4 * 3 * 2 * 1.2) + 2**20


def train(spec, *, out=None, resume=None, verbose="auto", callbacks=()):
    """Trains the spec's model with `fit` and returns its `RunDirectory`.

    Args:
        spec: a `ResolvedSpec` (for a resumed run: the one from the run's own spec.yaml).
        out: run directory for a new run (default `runs/<spec>-<time>`).
        resume: a `RunDirectory` to continue; training ends at the same epoch count as an uninterrupted run.
        verbose: Keras' fit verbosity ("auto" shows a progress bar).
        callbacks: extra Keras callbacks, after the run's own (see `kspec.training.train.train`).
    """
    import keras

    from kspec.data import check_keras_model, load_data
    from kspec.training.data_facts import write_data_facts

    config = TrainingConfig.from_spec(spec)
    keras.utils.set_random_seed(config.seed)
    model = builder.build(spec)[config.model]
    run = resume or RunDirectory.create(spec, out, required_bytes=checkpoint_bytes(model))

    data = load_data(spec.data, batch_size=config.batch_size, seed=config.seed)
    check_keras_model(data.info, model, model=f"models.{config.model}")
    write_data_facts(run, data.info)  # RUN/data.json: scaling and classes, for predict on new inputs

    model.compile(
        optimizer=keras_optimizer(config.optimizer, config.learning_rate_schedule),
        loss=keras_loss(config.loss),
        metrics=keras_metrics(config.metrics),
        jit_compile=config.jit_compile,
    )
    initial_epoch = restore(model, run) if resume else 0
    monitor = config.checkpoint.get("monitor", "val_loss" if data.validation is not None else "loss")
    checkpoint = RunCheckpoint(run, monitor=monitor, mode=config.checkpoint.get("mode", "auto"))
    # The checkpoint goes last so that it records what the other callbacks added to the logs (learning_rate).
    callbacks = [keras.callbacks.TensorBoard(log_dir=run.log_dir), *keras_callbacks(config.callbacks), checkpoint,
                 *callbacks]
    if initial_epoch < config.epochs:
        model.fit(
            data.train,
            validation_data=data.validation,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=config.steps_per_epoch,
            shuffle=False,  # the tf.data pipeline shuffles, seeded, itself
            callbacks=callbacks,
            verbose=verbose,
        )
    raise_if_failed(checkpoint)
    return run


def best_checkpoint(run):
    """The best checkpoint of a run (falls back to the last committed one)."""
    from kspec.training.checkpoints import read_state

    best = os.path.join(run.checkpoint_dir, "best.keras")
    if os.path.exists(best):
        return best
    state = read_state(run)
    return os.path.join(run.checkpoint_dir, state["checkpoint"]) if state else None
