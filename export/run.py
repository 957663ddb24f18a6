"""Exporting a run: `kspec export RUN_DIR` picks the run's trained model and hands it to `export_model`.

The model is named as in the spec (inputs and outputs), and `kspec.json` records which run, spec and
checkpoint it came from. Supervised runs export their trained model (or another model of the spec, with the
trained weights); generative runs export their sampler (decoder, generator or its moving average) or another
role's model. `mc_samples` adds an `mc_dropout` signature to a supervised export: the mean and standard
deviation of that many passes with dropout active inside the graph (`kspec.inspection.mc_dropout`).
"""

import os

from kspec.errors import SpecError
from kspec.export.keras_model import export_model

MC_SIGNATURE = "mc_dropout"


def export_run(run_dir, output, *, model_name=None, export_format="saved_model", checkpoint="best", mc_samples=None):
    """Exports a model of a run directory; returns the export path.

    Args:
        run_dir: the run directory written by `kspec train`.
        output: the export directory (written atomically).
        model_name: which model of the spec (default: the one that was trained, or a generative run's sampler).
        export_format: `saved_model`, `onnx` or `litert`.
        checkpoint: `best` or `last`.
        mc_samples: with a supervised run, add the signature `mc_dropout` returning `<output>_mean` and
            `<output>_stddev` over this many dropout-active passes (saved_model only).

    Raises:
        SpecError: for an unknown model, a run without a finished epoch, or `mc_samples` where it cannot apply.
    """
    import kspec.layers  # noqa: F401  (registers kspec's layers for loading)
    from kspec.training.supervised_run import open_run

    run, spec, config = open_run(run_dir)
    if config.trainer == "supervised":
        model, name, extra = _supervised_model(run, spec, config, model_name, checkpoint)
    else:
        if mc_samples:
            raise SpecError(f"{run.path} trained a `{config.trainer}` model; --mc-samples needs a supervised run",
                            path="--mc-samples")
        model, name, extra = _generative_model(run, model_name, checkpoint)
    graph = spec.models[name]
    output_names = list(graph.outputs)
    record = run.record()
    metadata = {"kspec_version": (record.get("versions") or {}).get("kspec"), "spec_hash": record.get("spec_hash"),
                "spec": record.get("spec"), "model": name, "run": run.path, **extra}
    signatures = {}
    if mc_samples:
        signatures[MC_SIGNATURE] = _mc_dropout_model(model, name, mc_samples, output_names, export_format)
        metadata["mc_samples"] = mc_samples
    return export_model(model, output, format=export_format, input_names=[i.name for i in graph.inputs],
                        output_names=output_names, metadata=metadata, extra_signatures=signatures)


def _supervised_model(run, spec, config, model_name, checkpoint):
    """The trained model (or another model of the spec with its weights), its spec name, and metadata."""
    from kspec import builder
    from kspec.training.checkpoints import load_checkpoint, load_keras_model
    from kspec.training.supervised_run import checkpoint_path

    name = model_name or config.model
    if name not in spec.models:
        raise SpecError(f"no model `{name}` in the run's spec; it has: {', '.join(spec.models)}", path="--model")
    source = checkpoint_path(run, checkpoint)
    if name == config.model:
        model = load_keras_model(source)
    else:  # another model of the spec: build it and take its weights from the trained model's checkpoint
        models = builder.build(spec)
        load_checkpoint(models[config.model], source)
        model = models[name]
    return model, name, {"checkpoint": os.path.basename(source)}


def _generative_model(run, role, checkpoint):
    """The sampler (decoder or generator, its moving average when the GAN keeps one) or another role's model."""
    from kspec.training.trainer_from_spec import SAMPLER_ROLE, load_trained, trainer_models

    trainer, models, _, config = load_trained(run.path, checkpoint)
    roles = trainer_models(config, models)
    role = role or SAMPLER_ROLE[config.trainer]
    if role not in roles:
        raise SpecError(f"no model `{role}` in this run; it has: {', '.join(roles)}", path="--model")
    model = roles[role]
    name = next(n for n, m in models.items() if m is model)
    if role == SAMPLER_ROLE[config.trainer] and getattr(trainer, "ema_generator", None) is not None:
        model = trainer.ema_generator
    return model, name, {"role": role, "checkpoint": checkpoint}


def _mc_dropout_model(model, name, samples, output_names, export_format):
    from kspec.inspection.mc_dropout import dropout_layers, moments_model

    if export_format != "saved_model":
        raise SpecError(f"the MC-dropout signature needs a SavedModel. Received: --format {export_format}",
                        path="--mc-samples")
    if not dropout_layers(model):
        raise SpecError(f"model `{name}` has no dropout layer, so every MC-dropout pass would be the same; drop "
                        "--mc-samples", path="--mc-samples")
    return moments_model(model, samples, output_names)
