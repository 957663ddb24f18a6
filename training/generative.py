"""`kspec train` for generative specs: the trainer named in `training.trainer` (vae, gan, aae, cyclegan,
pix2pix) around the spec's models (see `kspec.training.trainer_from_spec`), sample grids, generative metrics, and weights-only
checkpoints.
"""

from kspec.errors import SpecError
from kspec.training.checkpoints import RunCheckpoint, checkpoint_bytes, fit_from_state, raise_if_failed, restore
from kspec.training.config import TrainingConfig, keras_callbacks
from kspec.training.trainer_from_spec import SAMPLER_ROLE, build_compiled_trainer, trainer_models


def check_translation_data(spec, config, info, models):
    """Raises a `SpecError` when two-domain data and the translation models do not fit (see
    `kspec.data.domains.translation_data_problems`), before a run directory is made."""
    from kspec.data.domains import PAIRED, TRANSLATION_ROLES, UNPAIRED, translation_data_problems

    if config.trainer not in TRANSLATION_ROLES:
        if info.task in (PAIRED, UNPAIRED):
            raise SpecError(f"data source `{info.source}` gives images of two domains, which the `{config.trainer}` "
                            "trainer does not take; use the `cyclegan` or `pix2pix` trainer", "training.trainer")
        return
    roles = trainer_models(config, models)
    names = {role: (config.models or {}).get(role, role) for role in roles}
    problems = translation_data_problems(info, config.trainer, roles, {r: spec.models[n] for r, n in names.items()})
    if problems:
        raise SpecError(problems)


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
    check_translation_data(spec, config, arrays.info, models)
    roles = trainer_models(config, models)
    preflight(spec, config, roles, arrays)
    if not resume:
        run.create(spec, required_bytes=checkpoint_bytes(sum(m.count_params() for m in models.values())))
    data = batch_arrays(arrays, spec.data, seed=config.seed)
    state = restore(trainer, run) if resume else None

    validation = data.validation if type(trainer).test_step is not keras.Model.test_step else None
    extra_callbacks = callbacks
    callbacks = [keras.callbacks.TensorBoard(log_dir=run.log_dir)]
    sampler = roles[SAMPLER_ROLE[config.trainer]]
    samples = config.samples
    shown = arrays.validation if arrays.validation is not None else arrays.train  # beside their reconstructions
    if hasattr(trainer, "translation_rows"):  # image-to-image: rows A | G(A) | ... of validation images
        from kspec.trainers.translation_grid import TranslationGrid

        count = samples.get("count", 8)
        callbacks.append(TranslationGrid(run.samples_dir, shown.inputs[:count], shown.targets[:count],
                                         log_dir=run.log_dir, value_range=data.info.normalization.output_range,
                                         every=samples.get("every", 1)))
    elif len(sampler.outputs[0].shape) in (3, 4):  # images: (batch, height, width[, channels])
        callbacks.append(SampleGrid(
            run.samples_dir,
            num_samples=samples.get("count", 64),
            seed=samples.get("seed", config.seed),
            images=shown.inputs[:samples.get("reconstructions", 16)],
            log_dir=run.log_dir,
            value_range=data.info.normalization.output_range,
            every=samples.get("every", 1),
        ))
    if config.evaluation:
        from kspec.training.evaluation import metric_callbacks

        callbacks += metric_callbacks(spec, config.evaluation, trainer, arrays.train.inputs,
                                      data.info.normalization.output_range, run=run)
    monitor = config.checkpoint.get("monitor", "val_loss" if validation is not None else "loss")
    others = keras_callbacks(config.callbacks)
    checkpoint = RunCheckpoint(run, monitor=monitor, mode=config.checkpoint.get("mode", "auto"), weights_only=True,
                               callbacks=others, state=state)
    callbacks += [*others, checkpoint, *extra_callbacks]
    fit_from_state(trainer, data, config, state, validation_data=validation, callbacks=callbacks, verbose=verbose)
    raise_if_failed(checkpoint)
    return run
