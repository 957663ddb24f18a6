"""`kspec train` for supervised specs: one model, one loss, Keras' own `fit`."""

import os

from kspec import builder
from kspec.training.checkpoints import RunCheckpoint, checkpoint_bytes, fit_from_state, raise_if_failed, restore
from kspec.training.config import TrainingConfig, keras_callbacks, keras_loss, keras_metrics, keras_optimizer


def train(spec, run, *, resume=False, verbose="auto", callbacks=()):
    """Trains the spec's model with `fit` in `run` and returns it.

    Args:
        spec: a `ResolvedSpec` (for a resumed run: the one from the run's own spec.yaml).
        run: the `RunDirectory`: reserved for a new run (created here, after the data checks), or the run to
            continue (locked).
        resume: continue `run` from its last committed epoch; training ends at the same epoch count, with the
            same metrics, as an uninterrupted run.
        verbose: Keras' fit verbosity ("auto" shows a progress bar).
        callbacks: extra Keras callbacks, after the run's own (see `kspec.training.train.train`).
    """
    import keras

    from kspec.data import batch_arrays, load_arrays
    from kspec.training.data_facts import write_data_facts
    from kspec.training.preflight import preflight

    config = TrainingConfig.from_spec(spec)
    keras.utils.set_random_seed(config.seed)
    model = builder.build(spec)[config.model]
    arrays = load_arrays(spec.data, batch_size=config.batch_size, seed=config.seed)
    preflight(spec, config, {config.model: model}, arrays)
    if not resume:
        run.create(spec, required_bytes=checkpoint_bytes(model.count_params()))
    write_data_facts(run, arrays.info)  # RUN/data.json: scaling and classes, for predict on new inputs
    data = batch_arrays(arrays, spec.data, seed=config.seed)

    model.compile(
        optimizer=keras_optimizer(config.optimizer, config.learning_rate_schedule),
        loss=keras_loss(config.loss),
        metrics=keras_metrics(config.metrics),
        jit_compile=config.jit_compile,
    )
    state = restore(model, run) if resume else None
    monitor = config.checkpoint.get("monitor", "val_loss" if data.validation is not None else "loss")
    others = keras_callbacks(config.callbacks)
    checkpoint = RunCheckpoint(run, monitor=monitor, mode=config.checkpoint.get("mode", "auto"), callbacks=others,
                               state=state)
    # The checkpoint goes last so that it records what the other callbacks added to the logs (learning_rate).
    callbacks = [keras.callbacks.TensorBoard(log_dir=run.log_dir), *others, checkpoint, *callbacks]
    fit_from_state(model, data, config, state, callbacks=callbacks, validation_data=data.validation, verbose=verbose)
    raise_if_failed(checkpoint)
    return run


def best_checkpoint(run):
    """The best checkpoint of a run (falls back to the last committed one)."""
    from kspec.training.checkpoints import checkpoint_file, committed_checkpoint, read_state

    if os.path.lexists(os.path.join(run.checkpoint_dir, "best.keras")):
        return checkpoint_file(run, "best.keras")
    state = read_state(run)
    return committed_checkpoint(run, state) if state else None
