"""Build stage: a resolved, checked spec -> Keras models (imports Keras).

Keras errors raised while constructing or calling a layer are turned into `SpecError`s at the spec node
that caused them, with the shapes of its inputs, so a shape mistake never surfaces as a Keras traceback.
"""

import importlib
import os
import re

from kspec.builder.checks import model_order, split_call, topological_order
from kspec.builder.resolver import MODEL_OP
from kspec.builder.graph import LayerCall
from kspec.builder.keras_catalog import OBJECT_SECTIONS, lookup_entry, lookup_layer
from kspec.builder.parameter_counts import parameter_problems
from kspec.errors import SpecError

# Merge layers whose inputs must agree in shape (all axes, or all but the concatenation axis).
_SAME_SHAPE_MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}


def build_models(resolved):
    """Builds every model of `resolved` (a `ResolvedSpec`) and returns `{name: keras.Model}` in spec order."""
    import keras

    import kspec.layers  # noqa: F401  (registers kspec's layers with Keras)

    built = {}
    for name in model_order(resolved):
        graph = resolved.models[name]
        counts = resolved.shapes[name].parameters if resolved.shapes else None
        try:
            built[name] = build_model(graph, keras, built, counts)
        except RecursionError:
            # Keras walks functional graphs recursively; a chain of a few thousand layers exceeds Python's limit.
            raise SpecError(f"Keras cannot build model `{name}`: its {len(graph.nodes)} layers chain too deep; "
                            "reduce the `repeat` counts", graph.path, graph.mark) from None
    problems = parameter_problems(resolved, {name: model.count_params() for name, model in built.items()})
    if problems:
        raise SpecError(problems)
    return {name: built[name] for name in resolved.models}


# Building a layer allocates its weights at once, so a spec asking for `units: 1000000` after a large Flatten
# would exhaust memory before Keras could complain. Layers whose size follows from their arguments are
# estimated first and refused above this many parameters per spec (1 GiB of float32 weights).
MAX_PARAMETERS = int(os.environ.get("KSPEC_MAX_PARAMETERS", 250_000_000))
_RNN_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def estimate_parameters(call, input_shapes):
    """Weights a layer will create, from its arguments and input shapes, for the layers that can be large."""
    cls = lookup_layer(call.op)["class"] if lookup_layer(call.op) else ""
    args = call.args
    last = input_shapes[0][-1] if input_shapes and input_shapes[0] else None
    if last is None:
        return 0
    if cls == "Dense":
        return last * args.get("units", 0) + args.get("units", 0)
    if "Conv" in cls and "filters" in args:
        rank = len(input_shapes[0]) - 2
        kernel = args.get("kernel_size", 1)
        kernel = kernel if isinstance(kernel, list) else [kernel] * max(rank, 1)
        size = 1
        for k in kernel:
            size *= k if isinstance(k, int) else 1
        return size * last * args["filters"] + args["filters"]
    if cls == "Embedding":
        return args.get("input_dim", 0) * args.get("output_dim", 0)
    if cls in _RNN_GATES:
        units = args.get("units", 0)
        return _RNN_GATES[cls] * (last + units + 2) * units
    if cls == "Bidirectional" and isinstance(args.get("layer"), LayerCall):
        return 2 * estimate_parameters(args["layer"], input_shapes)
    if cls == "MultiHeadAttention":
        # Query, key, value and output projections, each about `num_heads * key_dim` wide.
        heads, width = args.get("num_heads", 1), args.get("key_dim", 1)
        value_width = args.get("value_dim") if isinstance(args.get("value_dim"), int) else width
        return heads * (2 * width + 2 * value_width) * (last + 1)
    return 0


def build_model(model, keras, built, counts=None):
    """Builds one `ModelGraph` as a functional `keras.Model`; `built` holds models it may use as layers.

    `counts` are the static parameter counts of its nodes (builder/shapes.py), exact where known; other layers
    are estimated before their weights are allocated.
    """
    tensors = {}
    total = 0
    for model_input in model.inputs:
        tensors[model_input.name] = keras.Input(shape=model_input.shape, name=model_input.name, dtype=model_input.dtype)
    for node in topological_order(model):
        inputs = [tensors[name] for name in node.inputs]
        if node.layer.op == MODEL_OP:
            layer = built[node.layer.args["model"]]
        else:
            shapes = [tuple(t.shape) for t in inputs if hasattr(t, "shape")]
            known = counts.get(node.name) if counts else None
            total += known if known is not None else estimate_parameters(node.layer, shapes)
            if total > MAX_PARAMETERS:
                raise SpecError(
                    f"the model would have more than {MAX_PARAMETERS:,} parameters by this layer (about "
                    f"{total:,}); is a size argument too large? (limit: KSPEC_MAX_PARAMETERS)",
                    node.where(), node.mark)
            layer = _construct(node.layer, node, keras, name=node.name)
        tensors[node.name] = _call(layer, node, inputs)
    outputs = [tensors[name] for name in model.outputs]
    try:
        return keras.Model(
            inputs=[tensors[i.name] for i in model.inputs] if len(model.inputs) > 1 else tensors[model.inputs[0].name],
            outputs=outputs if len(outputs) > 1 else outputs[0],
            name=model.name,
        )
    except ValueError as error:
        # A layer that hands back its input unchanged (`equalization` at its defaults) makes a graph Keras refuses.
        raise SpecError(f"Keras cannot make model `{model.name}` from its layers: {_first_line(error)}", model.path,
                        model.mark) from None


def layer_class(op):
    """The Python class for a table key or a user `module.Class` (the module was allowed during checks)."""
    entry = lookup_layer(op)
    if entry is None:
        module_name, class_name = op.rsplit(".", 1)
        return getattr(importlib.import_module(module_name), class_name)
    module = importlib.import_module(entry["module"])
    return getattr(module, entry["class"])


def _construct(call, node, keras, name=None):
    cls = layer_class(call.op)
    args = {k: _construct(v, node, keras) if isinstance(v, LayerCall) else _keras_argument(call.op, k, v)
            for k, v in call.args.items()}
    if name is not None:
        args["name"] = name
    try:
        return cls(**args)
    except Exception as error:
        if not _is_spec_problem(error):
            raise
        raise SpecError(f"`{_display(call.op)}` rejects its arguments: {_first_line(error)}", node.where(), node.mark) from None


def _is_spec_problem(error):
    """Errors a layer raises for its arguments or inputs: Python's argument errors, an index error from a layer
    given an input of a rank it does not handle (Keras' transposed convolutions, `random_crop`), running out of
    memory for its weights, and a TensorFlow op refusing them (`tf.errors.OpError`, found by name so Keras need
    not run on TensorFlow)."""
    if isinstance(error, (ValueError, TypeError, IndexError, MemoryError, OverflowError)):
        return True
    return any(cls.__name__ == "OpError" for cls in type(error).__mro__)


def _keras_argument(op, name, value):
    """A spec argument as Keras takes it: the short `{random_normal: {stddev: 0.02}}` of an initializer,
    regularizer or constraint becomes Keras' `{"class_name": "RandomNormal", "config": {"stddev": 0.02}}`."""
    entry = lookup_layer(op)
    arg_type = entry["arguments"].get(name, {}).get("type") if entry else None
    if arg_type in OBJECT_SECTIONS and isinstance(value, dict):
        short, config = split_call(value)
        return {"class_name": lookup_entry(OBJECT_SECTIONS[arg_type], short)["class"], "config": config}
    return _tuple_lists(value)


def _tuple_lists(value):
    # Keras accepts lists where it documents tuples almost everywhere, but e.g. Reshape's target_shape and
    # kernel sizes read best as tuples in saved configs.
    return tuple(value) if isinstance(value, list) and all(isinstance(v, int) for v in value) else value


def _call(layer, node, inputs):
    _precheck_merge(layer, node, inputs)
    try:
        if len(inputs) == 1:
            return layer(inputs[0])
        entry = lookup_layer(node.layer.op) if node.layer.op != MODEL_OP else None
        if entry and entry["inputs"] == "positional":
            return layer(*inputs)
        return layer(inputs)
    except Exception as error:
        if not _is_spec_problem(error):
            raise
        raise SpecError(
            f"`{_display(node.layer.op)}` cannot take its input{'s' if len(inputs) > 1 else ''} "
            f"{_shapes(node, inputs)}: {_first_line(error)}",
            node.where(),
            node.mark,
        ) from None


def _precheck_merge(layer, node, inputs):
    """Names both sides when the inputs of a merge layer disagree (a U-Net skip whose sizes drifted, say)."""
    kind = type(layer).__name__
    if len(inputs) < 2 or kind not in _SAME_SHAPE_MERGES | {"Concatenate"}:
        return
    shapes = [tuple(t.shape) for t in inputs]
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise SpecError(f"`{_display(node.layer.op)}` inputs differ in rank: {_shapes(node, inputs)}", node.where(), node.mark)
    skip = (layer.axis % rank,) if kind == "Concatenate" else ()
    for axis in range(1, rank):
        if axis in skip:
            continue
        # Elementwise merges broadcast an axis of size 1 (a squeeze-and-excitation scale); concatenation does not.
        sizes = {s[axis] for s in shapes} - ({None} if kind == "Concatenate" else {None, 1})
        if len(sizes) > 1:
            what = "all axes but the concatenation axis" if kind == "Concatenate" else "every axis (or are 1 there)"
            raise SpecError(
                f"`{_display(node.layer.op)}` needs inputs that agree on {what}, but axis {axis} differs: "
                f"{_shapes(node, inputs)}; check the strides, padding or pooling upstream",
                node.where(),
                node.mark,
            )


def _shapes(node, inputs):
    return " vs ".join(f"`{name}` {_shape_text(t.shape)}" for name, t in zip(node.inputs, inputs))


def _shape_text(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _display(op):
    if op == MODEL_OP:
        return "model"
    entry = lookup_layer(op)
    return entry["name"] if entry else op


def _first_line(error):
    # Keras wraps errors raised inside `call()` as "Exception encountered when calling X.call().", then the
    # original message in bold (terminal escape codes).
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        return lines[1]
    return lines[0] if lines else type(error).__name__
