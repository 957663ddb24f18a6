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
    if name not in spec.models:
        raise SpecError(f"no model `{name}` in the run's spec; it has: {', '.join(spec.models)}", path="--model")
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
