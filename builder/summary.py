"""Human-readable summaries of built models: one row per layer with inputs, output shape and parameters."""

import os


def _shape_text(shape):
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _count(weights):
    import numpy as np

    return int(sum(np.prod(w.shape) for w in weights))


def format_summary(resolved, models, verbose=False):
    """A text table per model: node, layer class, inputs, output shape, parameters and how many of them train
    (after `trainable:` and the first stage's `training.freeze`/`unfreeze`); then totals and what `init_from`
    loaded. `verbose` adds each node's resolved arguments, marking those that came from `defaults:`."""
    blocks = []
    for name, model in models.items():
        graph = resolved.models[name]
        inputs_of = {node.name: ", ".join(node.inputs) for node in graph.nodes}
        kinds = {node.name: f"{node.layer.args['name']}" for node in graph.nodes if node.layer.op == "application"}
        rows = [("node", "layer", "inputs", "output shape", "params", "trainable")]
        for layer in model.layers:
            output = layer.output
            shape = [tuple(t.shape) for t in output] if isinstance(output, (list, tuple)) else tuple(output.shape)
            kind = "Input" if type(layer).__name__ == "InputLayer" else kinds.get(layer.name, type(layer).__name__)
            rows.append((layer.name, kind, inputs_of.get(layer.name, ""), _shape_text(shape), f"{layer.count_params():,}",
                         f"{_count(layer.trainable_weights):,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        lines = [f"Model `{name}` ({resolved.file})"]
        for index, row in enumerate(rows):
            cells = [row[i].ljust(widths[i]) if i < 4 else row[i].rjust(widths[i]) for i in range(6)]
            lines.append("  " + "  ".join(cells).rstrip())
            if index == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        trainable, frozen = _count(model.trainable_weights), _count(model.non_trainable_weights)
        lines.append(f"  total params: {trainable + frozen:,} (trainable {trainable:,}, non-trainable {frozen:,})")
        lines += ["  " + line for report in resolved.init_reports if report.model == name for line in report.lines()]
        if verbose:
            lines += ["  arguments:"] + [f"  {node.name}: " + _arguments(node.layer) for node in graph.nodes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _arguments(call):
    own = [f"{key}={value!r}" for key, value in call.args.items() if key not in call.defaulted]
    inherited = [f"{key}={value!r} (defaults)" for key, value in call.args.items() if key in call.defaulted]
    return ", ".join(own + inherited) or "(none)"


def plot_models(models, path):
    """Draws each model with keras.utils.plot_model; returns the files written. Needs pydot and graphviz."""
    import keras

    from kspec.errors import SpecError

    stem, extension = os.path.splitext(path)
    written = []
    for name, model in models.items():
        target = path if len(models) == 1 else f"{stem}_{name}{extension or '.png'}"
        try:
            keras.utils.plot_model(model, to_file=target, show_shapes=True, show_layer_names=True)
        except (ImportError, OSError) as error:
            raise SpecError(f"cannot draw the graph: {error} (install pydot and graphviz: pip install pydot; apt install graphviz)",
                            mark=None) from None
        if not os.path.exists(target):
            raise SpecError("cannot draw the graph: install pydot (`pip install pydot`) and graphviz (`apt install graphviz`)")
        written.append(target)
    return written
