"""`kspec train` for generative specs: the trainer named in `training.trainer` (vae, gan, aae) around the
spec's models, its optimizers, sample grids, and weights-only checkpoints.

Trainers are rebuilt from the spec and their weights (and optimizer state) loaded, rather than deserialized:
the same function builds them for training, resuming, sampling and export.
"""

import inspect
import os

from kspec import builder
from kspec.errors import SpecError
from kspec.training.checkpoints import (RunCheckpoint, checkpoint_bytes, checkpoint_file, committed_checkpoint,
                                        fit_from_state, load_checkpoint, raise_if_failed, read_state, restore)
from kspec.training.config import TrainingConfig, keras_callbacks, keras_optimizer
from kspec.training.run_directory import RunDirectory

# Which `training.optimizers` entry each compile argument of a trainer takes (else `training.optimizer`).
_OPTIMIZER_ROLES = {"optimizer": None, "d_optimizer": "discriminator", "g_optimizer": "generator",
                    "ae_optimizer": "autoencoder"}
# The model `kspec export` and `kspec sample` use by default.
SAMPLER_ROLE = {"vae": "decoder", "gan": "generator", "aae": "decoder"}


def trainer_models(spec, config, models):
    """Role -> built model: `training.models` when given, else every model of the spec under its own name."""
    if config.models:
        return {role: models[name] for role, name in config.models.items()}
    return dict(models)


def build_compiled_trainer(spec, config, models=None):
    """Builds the spec's models, the trainer around them, and compiles it with the spec's optimizers."""
    from kspec.trainers import build_trainer

    models = models or builder.build(spec)
    options = dict(config.trainer_options)
    options.setdefault("seed", config.seed)
    trainer = build_trainer(config.trainer, trainer_models(spec, config, models), options, path="training.trainer")
    arguments = {}
    for name in inspect.signature(trainer.compile).parameters:
        if name not in _OPTIMIZER_ROLES:
            continue
        role = _OPTIMIZER_ROLES[name]
        chosen = (config.optimizers or {}).get(role) if role else None
        if chosen is None and name == "g_optimizer" and config.trainer == "aae":
            continue  # the AAE's generator phase defaults to a copy of the autoencoder optimizer
        arguments[name] = keras_optimizer(chosen or config.optimizer, config.learning_rate_schedule)
    trainer.compile(**arguments, jit_compile=config.jit_compile)
    return trainer, models


def _value_range(info):
    method = getattr(info.normalization, "method", None)
    return {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}.get(method)


def train(spec, run, *, resume=False, verbose="auto", callbacks=()):
    """Trains a generative spec in `run`; returns it (see `kspec.training.supervised.train`)."""
    import keras

    from kspec.data import batch_arrays, load_arrays
    from kspec.trainers import SampleGrid
    from kspec.training.preflight import preflight

    config = TrainingConfig.from_spec(spec)
    keras.utils.set_random_seed(config.seed)
    trainer, models = build_compiled_trainer(spec, config)
    arrays = load_arrays(spec.data, batch_size=config.batch_size, seed=config.seed)
    roles = trainer_models(spec, config, models)
    preflight(spec, config, roles, arrays)
    if not resume:
        run.create(spec, required_bytes=checkpoint_bytes(sum(m.count_params() for m in models.values())))
    data = batch_arrays(arrays, spec.data, seed=config.seed)
    state = restore(trainer, run) if resume else None

    validation = data.validation if type(trainer).test_step is not keras.Model.test_step else None
    extra_callbacks = callbacks
    callbacks = [keras.callbacks.TensorBoard(log_dir=run.log_dir)]
    sampler = roles[SAMPLER_ROLE[config.trainer]]
    if len(sampler.outputs[0].shape) in (3, 4):  # images: (batch, height, width[, channels])
        samples = config.samples
        shown = arrays.validation if arrays.validation is not None else arrays.train  # beside their reconstructions
        callbacks.append(SampleGrid(
            run.samples_dir,
            num_samples=samples.get("count", 64),
            seed=samples.get("seed", config.seed),
            images=shown.inputs[:samples.get("reconstructions", 16)],
            log_dir=run.log_dir,
            value_range=_value_range(data.info),
            every=samples.get("every", 1),
        ))
    if config.evaluation:
        from kspec.training.evaluation import metric_callbacks

        callbacks += metric_callbacks(spec, config.evaluation, trainer, arrays.train.inputs, _value_range(data.info))
    monitor = config.checkpoint.get("monitor", "val_loss" if validation is not None else "loss")
    others = keras_callbacks(config.callbacks)
    checkpoint = RunCheckpoint(run, monitor=monitor, mode=config.checkpoint.get("mode", "auto"), weights_only=True,
                               callbacks=others, state=state)
    callbacks += [*others, checkpoint, *extra_callbacks]
    fit_from_state(trainer, data, config, state, validation_data=validation, callbacks=callbacks, verbose=verbose)
    raise_if_failed(checkpoint)
    return run


def load_trained(run_dir, checkpoint="last"):
    """Rebuilds a generative run's trainer and loads a checkpoint: returns (trainer, models, spec, config)."""
    run = RunDirectory.open(run_dir)
    spec = builder.load_spec(run.spec_file)
    config = TrainingConfig.from_spec(spec)
    if config.trainer not in SAMPLER_ROLE:
        raise SpecError(f"{run.path} trained a `{config.trainer}` model; sampling needs a vae, gan or aae run",
                        path="RUN_DIR")
    state = read_state(run)
    if state is None:
        raise SpecError(f"{run.path} has no finished epoch; train it first", path="RUN_DIR")
    trainer, models = build_compiled_trainer(spec, config)
    path = committed_checkpoint(run, state)
    if checkpoint == "best" and os.path.lexists(os.path.join(run.checkpoint_dir, "best.weights.h5")):
        path = checkpoint_file(run, "best.weights.h5")
    load_checkpoint(trainer, path)
    return trainer, models, spec, config
