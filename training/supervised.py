"""`kspec train` for supervised specs: one model, one loss, Keras' own `fit`."""

import os

import keras

from kspec import builder
from kspec.training.checkpoints import (RunCheckpoint, checkpoint_bytes, fit_from_state, raise_if_failed, read_state,
                                        restore)
from kspec.training.config import (TrainingConfig, keras_callbacks, keras_loss, keras_metrics, keras_optimizer,
                                   stage_bounds, stage_optimizer)


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

    With `training.stages`, each stage sets its trainable layers and compiles a fresh optimizer, then fits its
    epochs; a resumed run continues inside the stage of its last committed epoch with that stage's optimizer
    state. Early stopping ends the stage it happens in.
    """
    from kspec.data import batch_arrays, load_arrays
    from kspec.training.data_facts import write_data_facts
    from kspec.training.preflight import preflight

    config = TrainingConfig.from_spec(spec)
    keras.utils.set_random_seed(config.seed)
    model = builder.build(spec)[config.model]
    for report in spec.init_reports:  # what `init_from` loaded, in the run's output
        print("\n".join(report.lines()))
    arrays = load_arrays(spec.data, batch_size=config.batch_size, seed=config.seed)
    preflight(spec, config, {config.model: model}, arrays)
    if not resume:
        run.create(spec, required_bytes=checkpoint_bytes(model.count_params()))
    write_data_facts(run, arrays.info)  # RUN/data.json: scaling and classes, for predict on new inputs
    data = batch_arrays(arrays, spec.data, seed=config.seed)

    bounds = stage_bounds(config)
    done = (read_state(run) or {}).get("epoch", 0) if resume else 0
    # The stage whose trainable set and optimizer wrote the checkpoint being resumed: its optimizer state only
    # fits that stage's trainable weights. A stage that starts afresh gets a new optimizer, as uninterrupted.
    written_in = _stage_of(bounds, max(done - 1, 0))
    _prepare_stage(model, spec, config, written_in)
    state = restore(model, run) if resume else None
    monitor = config.checkpoint.get("monitor", "val_loss" if data.validation is not None else "loss")
    others = keras_callbacks(config.callbacks)
    checkpoint = RunCheckpoint(run, monitor=monitor, mode=config.checkpoint.get("mode", "auto"), callbacks=others,
                               state=state)
    for index in range(_stage_of(bounds, done) if done < config.epochs else len(bounds), len(bounds)):
        if index != written_in:
            _prepare_stage(model, spec, config, index)
            state, checkpoint.resumed = {"epoch": bounds[index][0]}, {}  # a new stage: fresh callback counters
        stage = [StageLog(index + 1)] if config.stages else []
        # The checkpoint goes last so that it records what the other callbacks added to the logs (learning_rate,
        # stage); the stage goes first so that TensorBoard shows the boundaries.
        fit_callbacks = [*stage, keras.callbacks.TensorBoard(log_dir=run.log_dir), *others, checkpoint, *callbacks]
        fit_from_state(model, data, config, state, callbacks=fit_callbacks, validation_data=data.validation,
                       verbose=verbose, epochs=bounds[index][1])
        if checkpoint.failure is not None:
            break
    raise_if_failed(checkpoint)
    return run


def _stage_of(bounds, epoch):
    return next(index for index, (start, end) in enumerate(bounds) if epoch < end or index == len(bounds) - 1)


def _prepare_stage(model, spec, config, index):
    """Sets the trainable layers of stage `index` (or of the whole run) and compiles a fresh optimizer."""
    from kspec.builder.freezing import apply_training_patterns

    apply_training_patterns(model, spec, index if config.stages else None)
    optimizer, schedule = stage_optimizer(config, index)
    model.compile(optimizer=keras_optimizer(optimizer, schedule, config.precision), loss=keras_loss(config.loss),
                  metrics=keras_metrics(config.metrics), jit_compile=config.jit_compile)


class StageLog(keras.callbacks.Callback):
    """Adds the 1-based stage number to each epoch's logs: a `stage` column in metrics.csv, a curve in
    TensorBoard whose steps mark the stage boundaries."""

    def __init__(self, stage):
        super().__init__()
        self.stage = stage

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["stage"] = float(self.stage)


def best_checkpoint(run):
    """The best checkpoint of a run (falls back to the last committed one)."""
    from kspec.training.checkpoints import checkpoint_file, committed_checkpoint, read_state

    if os.path.lexists(os.path.join(run.checkpoint_dir, "best.keras")):
        return checkpoint_file(run, "best.keras")
    state = read_state(run)
    return committed_checkpoint(run, state) if state else None
