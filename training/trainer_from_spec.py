"""The trainer of a generative spec, built from the spec: compiled for training, or rebuilt with a run's weights.

Trainers are rebuilt from the spec and their weights (and optimizer state) loaded, rather than deserialized:
the same function builds them for training, resuming, sampling, evaluation and export.
"""

import inspect
import os

from kspec import builder
from kspec.errors import SpecError
from kspec.training.checkpoints import checkpoint_file, committed_checkpoint, load_checkpoint, read_state
from kspec.training.config import TrainingConfig, keras_optimizer
from kspec.training.run_directory import RunDirectory

# Which `training.optimizers` entry each compile argument of a trainer takes (else `training.optimizer`).
_OPTIMIZER_ROLES = {"optimizer": None, "d_optimizer": "discriminator", "g_optimizer": "generator",
                    "ae_optimizer": "autoencoder"}
# The model `kspec export` and `kspec sample` use by default.
SAMPLER_ROLE = {"vae": "decoder", "gan": "generator", "aae": "decoder", "cyclegan": "generator_ab", "pix2pix": "generator"}


def trainer_models(config, models):
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
    trainer = build_trainer(config.trainer, trainer_models(config, models), options,
                            marks=_trainer_marks(spec, config))
    arguments = {}
    for name in inspect.signature(trainer.compile).parameters:
        if name not in _OPTIMIZER_ROLES:
            continue
        role = _OPTIMIZER_ROLES[name]
        chosen = (config.optimizers or {}).get(role) if role else None
        if chosen is None and name == "g_optimizer" and config.trainer == "aae":
            continue  # the AAE's generator phase defaults to a copy of the autoencoder optimizer
        arguments[name] = keras_optimizer(chosen or config.optimizer, config.learning_rate_schedule, config.precision)
    trainer.compile(**arguments, jit_compile=config.jit_compile)
    return trainer, models


def _trainer_marks(spec, config):
    """The spec's own mapping of `training.trainer.NAME` (it knows the file positions of the options)."""
    section = (spec.training or {}).get("trainer")
    return section.get(config.trainer) if isinstance(section, dict) else None


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
