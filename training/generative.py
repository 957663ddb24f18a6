"""`kspec train` for generative specs: the trainer named in `training.trainer` (vae, gan, aae) around the
spec's models (see `kspec.training.trainer_from_spec`), sample grids, generative metrics, and weights-only
checkpoints.
"""

from kspec.training.checkpoints import RunCheckpoint, raise_if_failed, restore
from kspec.training.config import TrainingConfig, keras_callbacks
from kspec.training.run_directory import RunDirectory
from kspec.training.trainer_from_spec import SAMPLER_ROLE, build_compiled_trainer, trainer_models


def _first_images(dataset, count):
    import numpy as np

    images = []
    for batch in dataset:
        batch = batch[0] if isinstance(batch, (tuple, list)) else batch
        images.append(np.asarray(batch))
        if sum(len(b) for b in images) >= count:
            break
    return np.concatenate(images)[:count]


def train(spec, *, out=None, resume=None, verbose="auto"):
    """Trains a generative spec; returns its `RunDirectory` (see `kspec.training.supervised.train`)."""
    import keras

    from kspec.data import load_data
    from kspec.trainers import SampleGrid

    config = TrainingConfig.from_spec(spec)
    keras.utils.set_random_seed(config.seed)
    trainer, models = build_compiled_trainer(spec, config)
    size = sum(m.count_params() for m in models.values())
    run = resume or RunDirectory.create(spec, out, required_bytes=int(size * 4 * 3 * 2 * 1.2) + 2**20)
    data = load_data(spec.data, batch_size=config.batch_size, seed=config.seed)
    initial_epoch = restore(trainer, run) if resume else 0

    validation = data.validation if type(trainer).test_step is not keras.Model.test_step else None
    callbacks = [keras.callbacks.TensorBoard(log_dir=run.log_dir)]
    sampler = trainer_models(spec, config, models)[SAMPLER_ROLE[config.trainer]]
    if len(sampler.outputs[0].shape) in (3, 4):  # images: (batch, height, width[, channels])
        samples = config.samples
        callbacks.append(SampleGrid(
            run.samples_dir,
            num_samples=samples.get("count", 64),
            seed=samples.get("seed", config.seed),
            images=_first_images(data.validation or data.train, samples.get("reconstructions", 16)),
            log_dir=run.log_dir,
            value_range=data.info.normalization.output_range,
            every=samples.get("every", 1),
        ))
    if config.evaluation:
        from kspec.data import load_arrays
        from kspec.training.evaluation import metric_callbacks

        arrays = load_arrays(spec.data, seed=config.seed)
        callbacks += metric_callbacks(spec, config.evaluation, trainer, arrays.train.inputs,
                                      data.info.normalization.output_range, run=run)
    monitor = config.checkpoint.get("monitor", "val_loss" if validation is not None else "loss")
    checkpoint = RunCheckpoint(run, monitor=monitor, mode=config.checkpoint.get("mode", "auto"), weights_only=True)
    callbacks += [*keras_callbacks(config.callbacks), checkpoint]
    if initial_epoch < config.epochs:
        trainer.fit(data.train, validation_data=validation, epochs=config.epochs, initial_epoch=initial_epoch,
                    steps_per_epoch=config.steps_per_epoch, callbacks=callbacks, verbose=verbose, shuffle=False)
    raise_if_failed(checkpoint)
    return run
