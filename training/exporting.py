"""`kspec export RUN_DIR`: the trained model of a run, with the spec's input and output names, to a serving format."""

import os

from kspec import builder
from kspec.errors import SpecError
from kspec.training.checkpoints import read_state
from kspec.training.config import TrainingConfig
from kspec.training.run_directory import RunDirectory


def _checkpoint_path(run, which):
    state = read_state(run)
    if state is None:
        raise SpecError(f"{run.path} has no finished epoch to export; train it first", path="RUN_DIR")
    if which == "best" and os.path.exists(os.path.join(run.checkpoint_dir, "best.keras")):
        return os.path.join(run.checkpoint_dir, "best.keras")
    return os.path.join(run.checkpoint_dir, state["checkpoint"])


def export_run(run_dir, output, *, model_name=None, export_format="saved_model", checkpoint="best"):
    """Exports a model of a run directory; returns the export path.

    Args:
        run_dir: the run directory written by `kspec train`.
        output: the export directory (written atomically).
        model_name: which model of the spec (default: the one that was trained).
        export_format: `saved_model`, `onnx` or `litert`.
        checkpoint: `best` or `last`.
    """
    import keras

    import kspec.layers  # noqa: F401  (registers kspec's layers for loading)
    from kspec.export import export_model

    run = RunDirectory.open(run_dir)
    spec = builder.load_spec(run.spec_file)
    config = TrainingConfig.from_spec(spec)
    name = model_name or config.model
    if config.trainer == "supervised" and name not in spec.models:
        raise SpecError(f"no model `{name}` in the run's spec; it has: {', '.join(spec.models)}", path="--model")
    if config.trainer != "supervised":
        return _export_generative(run, output, name=model_name, export_format=export_format, checkpoint=checkpoint)
    source = _checkpoint_path(run, checkpoint)
    if name == config.model:
        model = keras.saving.load_model(source)
    else:  # another model of the spec: build it and take its weights from the trained model's checkpoint
        models = builder.build(spec)
        trained = models[config.model]
        trained.load_weights(source)
        model = models[name]
    graph = spec.models[name]
    record = run.record()
    metadata = {
        "kspec_version": record["versions"]["kspec"],
        "spec_hash": record["spec_hash"],
        "spec": record["spec"],
        "model": name,
        "run": run.path,
        "checkpoint": os.path.basename(source),
    }
    return export_model(model, output, format=export_format, input_names=[i.name for i in graph.inputs],
                        output_names=list(graph.outputs), metadata=metadata)


def _export_generative(run, output, *, name, export_format, checkpoint):
    """The sampler (decoder or generator, its moving average when the GAN keeps one) or another role's model."""
    from kspec.export import export_model
    from kspec.training.trainer_from_spec import SAMPLER_ROLE, load_trained, trainer_models

    trainer, models, spec, config = load_trained(run.path, checkpoint)
    roles = trainer_models(spec, config, models)
    role = name or SAMPLER_ROLE[config.trainer]
    if role not in roles:
        raise SpecError(f"no model `{role}` in this run; it has: {', '.join(roles)}", path="--model")
    model = roles[role]
    if role == SAMPLER_ROLE[config.trainer] and getattr(trainer, "ema_generator", None) is not None:
        model = trainer.ema_generator
    graph = spec.models[next(n for n, m in models.items() if m is roles[role])]
    record = run.record()
    metadata = {"kspec_version": record["versions"]["kspec"], "spec_hash": record["spec_hash"], "spec": record["spec"],
                "model": graph.name, "role": role, "run": run.path, "checkpoint": checkpoint}
    return export_model(model, output, format=export_format, input_names=[i.name for i in graph.inputs],
                        output_names=list(graph.outputs), metadata=metadata)
