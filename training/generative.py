"""`kspec train` for generative specs: the trainer named in `training.trainer` (vae, gan, aae, cyclegan,
pix2pix) around the spec's models, its optimizers, sample grids, and weights-only checkpoints.

Trainers are rebuilt from the spec and their weights (and optimizer state) loaded, rather than deserialized:
the same function builds them for training, resuming, sampling and export.
"""

import inspect
import os

from kspec import builder
from kspec.errors import SpecError
from kspec.training.checkpoints import RunCheckpoint, raise_if_failed, read_state, restore
from kspec.training.config import TrainingConfig, keras_callbacks, keras_optimizer
from kspec.training.run_directory import RunDirectory

# Which `training.optimizers` entry each compile argument of a trainer takes (else `training.optimizer`).
_OPTIMIZER_ROLES = {"optimizer": None, "d_optimizer": "discriminator", "g_optimizer": "generator",
                    "ae_optimizer": "autoencoder"}
# The model `kspec export` and `kspec sample` use by default.
SAMPLER_ROLE = {"vae": "decoder", "gan": "generator", "aae": "decoder", "cyclegan": "generator_ab", "pix2pix": "generator"}


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


def _first_pairs(dataset, count):
    """The first `count` (a, b) pairs of a two-domain dataset, as two numpy arrays."""
    import numpy as np

    parts = []
    for a, b in dataset:
        parts.append((np.asarray(a), np.asarray(b)))
        if sum(len(p[0]) for p in parts) >= count:
            break
    return tuple(np.concatenate([p[i] for p in parts])[:count] for i in (0, 1))


def check_translation_data(spec, config, info, models):
    """Raises a `SpecError` when two-domain data and the translation models do not fit (see
    `kspec.data.domains.translation_data_problems`), before a run directory is made."""
    from kspec.data.domains import PAIRED, TRANSLATION_ROLES, UNPAIRED, translation_data_problems

    if config.trainer not in TRANSLATION_ROLES:
        if info.task in (PAIRED, UNPAIRED):
            raise SpecError(f"data source `{info.source}` gives images of two domains, which the `{config.trainer}` "
                            "trainer does not take; use the `cyclegan` or `pix2pix` trainer", "training.trainer")
        return
    roles = trainer_models(spec, config, models)
    names = {role: (config.models or {}).get(role, role) for role in roles}
    problems = translation_data_problems(info, config.trainer, roles, {r: spec.models[n] for r, n in names.items()})
    if problems:
        raise SpecError(problems)


def _first_images(dataset, count):
    import numpy as np

    images = []
    for batch in dataset:
        batch = batch[0] if isinstance(batch, (tuple, list)) else batch
        images.append(np.asarray(batch))
        if sum(len(b) for b in images) >= count:
            break
    return np.concatenate(images)[:count]


def train(spec, *, out=None, resume=None, verbose="auto", callbacks=()):
    """Trains a generative spec; returns its `RunDirectory` (see `kspec.training.supervised.train`)."""
    import keras

    from kspec.data import load_data
    from kspec.trainers import SampleGrid

    config = TrainingConfig.from_spec(spec)
    keras.utils.set_random_seed(config.seed)
    trainer, models = build_compiled_trainer(spec, config)
    # Data first: a data problem is reported before a run directory exists.
    data = load_data(spec.data, batch_size=config.batch_size, seed=config.seed)
    check_translation_data(spec, config, data.info, models)
    size = sum(m.count_params() for m in models.values())
    run = resume or RunDirectory.create(spec, out, required_bytes=int(size * 4 * 3 * 2 * 1.2) + 2**20)
    initial_epoch = restore(trainer, run) if resume else 0

    validation = data.validation if type(trainer).test_step is not keras.Model.test_step else None
    extra_callbacks = callbacks
    callbacks = [keras.callbacks.TensorBoard(log_dir=run.log_dir)]
    sampler = trainer_models(spec, config, models)[SAMPLER_ROLE[config.trainer]]
    samples = config.samples
    if hasattr(trainer, "translation_rows"):  # image-to-image: rows A | G(A) | ... of validation images
        from kspec.trainers.translation_grid import TranslationGrid

        a_images, b_images = _first_pairs(data.validation or data.train, samples.get("count", 8))
        callbacks.append(TranslationGrid(run.samples_dir, a_images, b_images, log_dir=run.log_dir,
                                         value_range=_value_range(data.info), every=samples.get("every", 1)))
    elif len(sampler.outputs[0].shape) in (3, 4):  # images: (batch, height, width[, channels])
        callbacks.append(SampleGrid(
            run.samples_dir,
            num_samples=samples.get("count", 64),
            seed=samples.get("seed", config.seed),
            images=_first_images(data.validation or data.train, samples.get("reconstructions", 16)),
            log_dir=run.log_dir,
            value_range=_value_range(data.info),
            every=samples.get("every", 1),
        ))
    if config.evaluation:
        from kspec.data import load_arrays
        from kspec.training.evaluation import metric_callbacks

        arrays = load_arrays(spec.data, seed=config.seed)
        callbacks += metric_callbacks(spec, config.evaluation, trainer, arrays.train.inputs, _value_range(data.info))
    monitor = config.checkpoint.get("monitor", "val_loss" if validation is not None else "loss")
    checkpoint = RunCheckpoint(run, monitor=monitor, mode=config.checkpoint.get("mode", "auto"), weights_only=True)
    callbacks += [*keras_callbacks(config.callbacks), checkpoint, *extra_callbacks]
    if initial_epoch < config.epochs:
        trainer.fit(data.train, validation_data=validation, epochs=config.epochs, initial_epoch=initial_epoch,
                    steps_per_epoch=config.steps_per_epoch, callbacks=callbacks, verbose=verbose, shuffle=False)
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
    name = state["checkpoint"]
    best = os.path.join(run.checkpoint_dir, "best.weights.h5")
    path = best if checkpoint == "best" and os.path.exists(best) else os.path.join(run.checkpoint_dir, name)
    for optimizer in _optimizers(trainer):
        if not optimizer.built:
            optimizer.build(trainer.trainable_variables)
    trainer.load_weights(path)
    return trainer, models, spec, config


def _optimizers(trainer):
    return [value for name, value in vars(trainer).items() if name.endswith("optimizer") and value is not None
            and hasattr(value, "built")]
