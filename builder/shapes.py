"""Validate stage, part 3: the output shape and parameter count of every node, without TensorFlow or NumPy.

Each rule mirrors the `compute_output_shape` (and `build`) of one Keras layer family and is registered under
the catalog's layer keys in `SHAPE_RULES`. A rule returns the node's output shape (a tuple with the batch
axis first, or a list of tuples for a layer with several outputs) and its parameter count (None when it
cannot be counted), raises `ShapeConflict` where Keras would refuse the input, and raises `Unchecked` for a
form it does not model. A node without a rule, or downstream of one, is *unchecked*: validate lists it in
a note and never guesses.

Example:
>>> from kspec.builder.graph import LayerCall
>>> layer_output(LayerCall("conv2d", {"filters": 8, "kernel_size": 3, "strides": 2}), [(None, 28, 28, 1)])
((None, 13, 13, 8), 80)
"""

import json
import math
import os
from dataclasses import dataclass, field

from kspec.builder.graph import LayerCall
from kspec.errors import Problem
from kspec.registry import normalize_name

MODEL_OP = "model"  # the resolver's `{model: encoder}` op (kept in sync with builder.resolver.MODEL_OP)
# Normalized layer name -> rule. A plain dict, not a `kspec.registry.Registry`: the registry records where each
# entry was defined through `inspect`, which costs `kspec validate` more than half a second for 80 rules.
SHAPE_RULES = {}


class ShapeConflict(Exception):
    """The layer cannot take these inputs: Keras would raise while building it.

    Args:
        message: what is wrong, without the node (the caller adds it and the input shapes).
        hint: whether strides, padding or pooling upstream are the likely cause.
    """

    def __init__(self, message, hint=False):
        super().__init__(message)
        self.hint = hint


class MergeConflict(ShapeConflict):
    """The inputs of a merge layer disagree (the message is followed by every input's shape)."""

    def __init__(self, message):
        super().__init__(message, hint=True)


class ArgumentConflict(ShapeConflict):
    """Keras' constructor would refuse the arguments themselves."""


class Unchecked(Exception):
    """The rule cannot tell this case statically (the message says why)."""


def shape_rule(*names):
    """Registers a rule under catalog layer names: `rule(args, inputs, key) -> (output shape, parameters)`.

    `key` is the normalized layer name the rule was called for (`conv2d`), so one rule serves 1-3 D.
    """

    def decorate(function):
        for name in names:
            key = normalize_name(name)
            if key in SHAPE_RULES:
                raise ValueError(f"shape rule `{name}` is already registered by {SHAPE_RULES[key].__name__}")
            SHAPE_RULES[key] = function
        return function

    return decorate


def layer_output(call, inputs):
    """Output shape and parameter count of one layer given its input shapes.

    Args:
        call: the node's `LayerCall`.
        inputs: the shapes the layer receives, one per tensor (batch axis first).

    Returns:
        `(shape, parameters)`; `shape` is a tuple, or a list of tuples for several outputs.

    Raises:
        ShapeConflict: Keras would refuse these inputs. Unchecked: no rule covers this case.
    """
    key = normalize_name(call.op)
    if key not in SHAPE_RULES:
        raise Unchecked(f"no static shape rule for `{_display(call.op)}`")
    return SHAPE_RULES[key](call.args, inputs, key)


# -- models --------------------------------------------------------------------------------------------

@dataclass
class ModelShapes:
    """Static shapes of one model.

    Attributes:
        name: the model.
        shapes: node or input name -> output shape (a tuple, or a list of tuples); absent when unknown.
        parameters: node name -> parameter count, None where it cannot be counted.
        unchecked: node name -> why its shape is unknown (the first such node of a chain has the reason,
            the nodes after it say `after `x``).
        problems: shape conflicts, as `Problem`s at their nodes.
        uses: models used as layers, directly or through other models.
        own_parameters: parameters of this model's layers (not of the models it uses), or None.
        total_parameters: what `keras.Model.count_params()` will say (weights of used models counted once),
            or None.
    """

    name: str
    shapes: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    unchecked: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    uses: set = field(default_factory=set)
    own_parameters: int | None = 0
    total_parameters: int | None = None

    def shape(self, name):
        """The static shape of node or input `name`, or None when it is not known."""
        return self.shapes.get(name)

    def roots(self):
        """Unchecked nodes that are the cause, not a consequence: `{node: reason}`."""
        return {name: why for name, why in self.unchecked.items() if not why.startswith("after ")}


def infer_shapes(resolved):
    """Static shapes and parameter counts of every model of a `ResolvedSpec`: `{model name: ModelShapes}`.

    Models used as layers (`{model: encoder}`) are inferred first; the caller has checked the graph
    (no cycles, known names).
    """
    from kspec.builder.checks import model_order

    done = {}
    for name in model_order(resolved):
        done[name] = infer_model(resolved.models[name], resolved.models, done)
    for shapes in done.values():
        owners = [shapes] + [done[used] for used in shapes.uses]
        counts = [owner.own_parameters for owner in owners]
        shapes.total_parameters = None if None in counts else sum(counts)
    for shapes in done.values():
        for node in resolved.models[shapes.name].nodes:
            if node.layer.op == MODEL_OP and node.name in shapes.shapes:
                shapes.parameters[node.name] = done[node.layer.args["model"]].total_parameters
    return {name: done[name] for name in resolved.models}


def infer_model(model, graphs, done, input_shapes=None):
    """Static shapes of one `ModelGraph`.

    Args:
        model: the model's graph.
        graphs: every model graph of the spec, by name (for `{model: ...}` nodes).
        done: `ModelShapes` of the models already inferred, by name.
        input_shapes: shapes to use for the model's inputs instead of the declared ones (batch axis first).

    Returns:
        A `ModelShapes` (its `total_parameters` is filled in by `infer_shapes`).
    """
    from kspec.builder.checks import topological_order

    result = ModelShapes(model.name)
    for node in model.nodes:
        if node.layer.op == MODEL_OP:
            result.uses |= {node.layer.args["model"]} | done[node.layer.args["model"]].uses
    for index, model_input in enumerate(model.inputs):
        declared = (None, *model_input.shape)
        result.shapes[model_input.name] = tuple(input_shapes[index]) if input_shapes else declared
    own = 0
    for node in topological_order(model):
        unknown = [name for name in node.inputs if name not in result.shapes]
        if unknown:
            result.unchecked[node.name] = f"after `{unknown[0]}`"
            own = None if node.layer.op != MODEL_OP else own
            continue
        values = [result.shapes[name] for name in node.inputs]
        inputs = values[0] if len(values) == 1 and isinstance(values[0], list) else values
        try:
            if any(isinstance(v, list) for v in inputs):
                raise Unchecked("one of its inputs is a list of tensors")
            if node.layer.op == MODEL_OP:
                output, params = _call_model(node, inputs, graphs, done), None
            else:
                output, params = layer_output(node.layer, inputs)
        except Unchecked as reason:
            result.unchecked[node.name] = str(reason)
            own = None if node.layer.op != MODEL_OP else own
            continue
        except ShapeConflict as conflict:
            result.problems.append(Problem(_conflict_message(node, values, conflict), node.where(), node.mark))
            result.unchecked[node.name] = "after an error"
            continue
        result.shapes[node.name] = output
        if node.layer.op != MODEL_OP:
            result.parameters[node.name] = params
            own = None if own is None or params is None else own + params
    result.own_parameters = own
    return result


def _call_model(node, inputs, graphs, done):
    """Output shape(s) of `{model: name}` applied to `inputs` (Keras re-traces the inner graph with them)."""
    name = node.layer.args["model"]
    inner, graph = done[name], graphs[name]
    declared = [inner.shapes[i.name] for i in graph.inputs]
    if len(inputs) != len(declared):
        raise ShapeConflict(f"model `{name}` takes {len(declared)} input(s). Received: {len(inputs)}")
    for given, expected in zip(inputs, declared):
        if len(given) != len(expected):
            raise Unchecked(f"model `{name}` expects rank {len(expected)}, receives rank {len(given)}")
        for axis in range(1, len(given)):
            if None not in (given[axis], expected[axis]) and given[axis] != expected[axis]:
                raise ShapeConflict(f"model `{name}` expects {_text(expected)}, but axis {axis} differs",
                                    hint=True)
    if list(inputs) != declared:
        inner = infer_model(graph, graphs, done, inputs)
        if inner.problems:
            raise ShapeConflict(f"inside model `{name}`: {inner.problems[0].message}")
    if inner.unchecked:
        raise Unchecked(f"model `{name}` has nodes whose shapes are not known")
    outputs = [inner.shapes[output] for output in graph.outputs]
    return outputs[0] if len(outputs) == 1 else outputs


def _conflict_message(node, values, conflict):
    display = "model" if node.layer.op == MODEL_OP else _display(node.layer.op)
    shapes = " vs ".join(f"`{name}` {_text(value)}" for name, value in zip(node.inputs, values))
    if isinstance(conflict, ArgumentConflict):
        return f"`{display}` rejects its arguments: {conflict}"
    if isinstance(conflict, MergeConflict):
        text = f"`{display}` {conflict}: {shapes}"
    else:
        plural = "s" if len(values) > 1 else ""
        text = f"`{display}` cannot take its input{plural} {shapes}: {conflict}"
    return text + ("; check the strides, padding or pooling upstream" if conflict.hint else "")


def check_shapes(resolved):
    """Infers static shapes (kept as `resolved.shapes`) and returns the shape conflicts and parameter counts
    that contradict `metadata.parameters`, as `Problem`s."""
    from kspec.builder.parameter_counts import parameter_problems

    resolved.shapes = infer_shapes(resolved)
    problems = [problem for shapes in resolved.shapes.values() for problem in shapes.problems]
    if problems:
        return problems
    counts = {name: shapes.total_parameters for name, shapes in resolved.shapes.items()}
    return parameter_problems(resolved, counts)


def shape_notes(resolved):
    """One line per node whose shape could not be checked statically (and how many nodes follow it)."""
    notes = []
    for name, shapes in (getattr(resolved, "shapes", None) or {}).items():
        graph = resolved.models[name]
        for node_name, reason in shapes.roots().items():
            node = graph.node(node_name)
            after = _downstream(graph, node_name, shapes)
            tail = f"; {after} node{'s' if after != 1 else ''} after it unchecked too" if after else ""
            notes.append(str(Problem(f"note: shape not checked statically: {reason}{tail}", node.where(), node.mark)))
    return notes


def _downstream(graph, start, shapes):
    reached, count = {start}, 0
    for node in graph.nodes:
        if node.name != start and any(i in reached for i in node.inputs) and node.name in shapes.unchecked:
            reached.add(node.name)
            count += 1
    return count


# -- argument forms -------------------------------------------------------------------------------------

def _display(op):
    from kspec.builder.keras_catalog import lookup_layer

    entry = lookup_layer(op)
    return entry["name"] if entry else op


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _tuple(value, rank, name, minimum=1):
    """An int or a list of `rank` ints as a tuple, like Keras' `standardize_tuple`."""
    values = [value] * rank if _is_int(value) else value
    fits = isinstance(values, (list, tuple)) and len(values) == rank
    if not fits or not all(_is_int(v) and v >= minimum for v in values):
        raise Unchecked(f"`{name}`={value!r} is not {rank} integer(s) >= {minimum}")
    return tuple(values)


def _pairs(value, rank, name):
    """Padding or cropping amounts as `rank` (before, after) pairs, from the forms Keras accepts: an int; in 1-D
    a pair; in 2-D and 3-D one int or pair per axis."""
    if _is_int(value) and value >= 0:
        return ((value, value),) * rank
    if isinstance(value, (list, tuple)) and len(value) == rank and rank > 1:
        pairs = []
        for item in value:
            if _is_int(item) and item >= 0:
                pairs.append((item, item))
            elif isinstance(item, (list, tuple)) and len(item) == 2 and all(_is_int(v) and v >= 0 for v in item):
                pairs.append(tuple(item))
            else:
                break
        else:
            return tuple(pairs)
    if rank == 1 and isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) and v >= 0 for v in value):
        return (tuple(value),)
    pairs = "a pair of non-negative integers" if rank == 1 else f"{rank} pairs"
    raise ArgumentConflict(f"expected `{name}` as a non-negative integer, {rank} of them or {pairs}. "
                           f"Received: {name}={value!r}")


_DATA_FORMAT = []


def _default_data_format():
    """Keras' `image_data_format()` without importing Keras: `~/.keras/keras.json` (or `$KERAS_HOME`)."""
    if not _DATA_FORMAT:
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        value = "channels_last"
        try:
            with open(os.path.join(home, "keras.json"), encoding="utf-8") as stream:
                value = json.load(stream).get("image_data_format", value)
        except (OSError, ValueError, AttributeError):
            pass
        _DATA_FORMAT.append(value)
    return _DATA_FORMAT[0]


def _channels_first(args):
    data_format = args.get("data_format") or _default_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise Unchecked(f"data_format={data_format!r}")
    return data_format == "channels_first"


def _one(inputs, ndim=None, min_ndim=None):
    """The single input shape of a one-input layer, with Keras' ndim checks."""
    if len(inputs) != 1 or not isinstance(inputs[0], tuple):
        raise Unchecked(f"it receives {len(inputs)} tensors")
    shape = inputs[0]
    if ndim is not None and len(shape) != ndim:
        raise ShapeConflict(f"expected ndim={ndim}, found ndim={len(shape)}")
    if min_ndim is not None and len(shape) < min_ndim:
        raise ShapeConflict(f"expected min_ndim={min_ndim}, found ndim={len(shape)}")
    return shape


def _split(shape, channels_first):
    """(batch, spatial dims, channels) of an image-like shape."""
    if channels_first:
        return shape[0], list(shape[2:]), shape[1]
    return shape[0], list(shape[1:-1]), shape[-1]


def _join(batch, spatial, channels, channels_first):
    return (batch, channels, *spatial) if channels_first else (batch, *spatial, channels)


def _rank_of(op):
    return int(next(c for c in op if c.isdigit()))


def _defined(size, what="the channel axis"):
    """Keras creates weights sized by this axis: it must be known (`add_weight` refuses None)."""
    if size is None:
        raise ShapeConflict(f"{what} of the input must be defined to create the weights. Found None")
    return size


# -- convolutions ---------------------------------------------------------------------------------------

def _conv_lengths(spatial, kernel, strides, dilation, padding):
    out = []
    for axis, (size, k, s, d) in enumerate(zip(spatial, kernel, strides, dilation), start=1):
        if size is None:
            out.append(None)
        elif padding == "valid":
            length = (size - d * (k - 1) - 1) // s + 1
            if length <= 0:
                raise ShapeConflict(f"the kernel ({k}, dilation {d}) is larger than axis {axis} ({size}) with "
                                    "padding 'valid'", hint=True)
            out.append(length)
        else:
            out.append((size - 1) // s + 1)
    return out


def _conv_common(args, rank):
    kernel = _tuple(args.get("kernel_size"), rank, "kernel_size")
    strides = _tuple(args.get("strides", 1), rank, "strides")
    dilation = _tuple(args.get("dilation_rate", 1), rank, "dilation_rate")
    padding = str(args.get("padding", "valid")).lower()
    if padding not in ("valid", "same", "causal") or (padding == "causal" and rank != 1):
        raise Unchecked(f"padding={padding!r}")
    if max(strides) > 1 and max(dilation) > 1:
        raise ArgumentConflict(f"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                            f"strides={strides} and dilation_rate={dilation}")
    return kernel, strides, dilation, padding


def _conv_input(args, inputs, rank):
    shape = _one(inputs, min_ndim=rank + 2)
    if len(shape) != rank + 2:
        raise ShapeConflict(f"expected ndim={rank + 2}, found ndim={len(shape)}")
    first = _channels_first(args)
    batch, spatial, channels = _split(shape, first)
    return batch, spatial, _defined(channels), first


def _lora(args):
    return args.get("lora_rank") is None


@shape_rule("conv1d", "conv2d", "conv3d")
def _conv(args, inputs, op):
    rank = _rank_of(op)
    kernel, strides, dilation, padding = _conv_common(args, rank)
    batch, spatial, channels, first = _conv_input(args, inputs, rank)
    filters, groups = args["filters"], args.get("groups", 1)
    if not _is_int(groups) or groups < 1 or filters % groups:
        raise Unchecked(f"groups={groups!r}")
    if channels % groups:
        raise ShapeConflict(f"the number of input channels must be evenly divisible by the number of groups. "
                            f"Received groups={groups}, but the input has {channels} channels")
    shape = _join(batch, _conv_lengths(spatial, kernel, strides, dilation, padding), filters, first)
    params = None
    if _lora(args):
        params = math.prod(kernel) * (channels // groups) * filters + (filters if args.get("use_bias", True) else 0)
    return shape, params


def _transpose_length(size, k, s, d, padding, output_padding):
    """Keras' output length of a transposed convolution (backend_utils._get_output_shape_given_tf_padding)."""
    if size is None:
        return None
    k = (k - 1) * d + 1
    if padding == "valid":
        extra = max(k, s) - k if output_padding is None else output_padding
        return (size - 1) * s + k + extra
    if output_padding is None:
        return size * s
    return (size - 1) * s + k % 2 + output_padding


@shape_rule("conv1d_transpose", "conv2d_transpose", "conv3d_transpose")
def _conv_transpose(args, inputs, op):
    rank = _rank_of(op)
    kernel = _tuple(args.get("kernel_size"), rank, "kernel_size")
    strides = _tuple(args.get("strides", 1), rank, "strides")
    dilation = _tuple(args.get("dilation_rate", 1), rank, "dilation_rate")
    padding = str(args.get("padding", "valid")).lower()
    if padding not in ("valid", "same"):
        raise Unchecked(f"padding={padding!r}")
    output_padding = args.get("output_padding")
    if output_padding is not None:
        output_padding = _tuple(output_padding, rank, "output_padding", minimum=0)
        if any(p >= s for p, s in zip(output_padding, strides)):
            raise Unchecked("output_padding >= strides")
    if max(strides) > 1 and max(dilation) > 1:
        raise ArgumentConflict(f"`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                            f"strides={strides} and dilation_rate={dilation}")
    batch, spatial, channels, first = _conv_input(args, inputs, rank)
    lengths = [
        _transpose_length(size, k, s, d, padding, None if output_padding is None else output_padding[i])
        for i, (size, k, s, d) in enumerate(zip(spatial, kernel, strides, dilation))
    ]
    filters = args["filters"]
    params = math.prod(kernel) * channels * filters + (filters if args.get("use_bias", True) else 0)
    return _join(batch, lengths, filters, first), params


@shape_rule("depthwise_conv1d", "depthwise_conv2d")
def _depthwise_conv(args, inputs, op):
    rank = _rank_of(op)
    kernel, strides, dilation, padding = _conv_common(args, rank)
    batch, spatial, channels, first = _conv_input(args, inputs, rank)
    multiplier = args.get("depth_multiplier", 1)
    out_channels = channels * multiplier
    params = math.prod(kernel) * channels * multiplier + (out_channels if args.get("use_bias", True) else 0)
    return _join(batch, _conv_lengths(spatial, kernel, strides, dilation, padding), out_channels, first), params


@shape_rule("separable_conv1d", "separable_conv2d")
def _separable_conv(args, inputs, op):
    rank = _rank_of(op)
    kernel, strides, dilation, padding = _conv_common(args, rank)
    batch, spatial, channels, first = _conv_input(args, inputs, rank)
    multiplier, filters = args.get("depth_multiplier", 1), args["filters"]
    params = (math.prod(kernel) * channels * multiplier + channels * multiplier * filters
              + (filters if args.get("use_bias", True) else 0))
    return _join(batch, _conv_lengths(spatial, kernel, strides, dilation, padding), filters, first), params



# -- pooling ---------------------------------------------------------------------------------------------

@shape_rule("max_pooling1d", "max_pooling2d", "max_pooling3d", "average_pooling1d", "average_pooling2d",
            "average_pooling3d")
def _pooling(args, inputs, op):
    rank = _rank_of(op)
    pool = _tuple(args.get("pool_size", 2), rank, "pool_size")
    strides = pool if args.get("strides") is None else _tuple(args["strides"], rank, "strides")
    padding = str(args.get("padding", "valid")).lower()
    if padding not in ("valid", "same"):
        raise Unchecked(f"padding={padding!r}")
    shape = _one(inputs, ndim=rank + 2)
    first = _channels_first(args)
    batch, spatial, channels = _split(shape, first)
    lengths = []
    for axis, (size, p, s) in enumerate(zip(spatial, pool, strides), start=1):
        if size is None:
            lengths.append(None)
        elif padding == "valid":
            if (size - p) // s + 1 <= 0:
                raise ShapeConflict(f"the pool ({p}) is larger than axis {axis} ({size}) with padding 'valid'",
                                    hint=True)
            lengths.append((size - p) // s + 1)
        else:
            lengths.append((size - 1) // s + 1)
    return _join(batch, lengths, channels, first), 0


@shape_rule("global_max_pooling1d", "global_max_pooling2d", "global_max_pooling3d", "global_average_pooling1d",
            "global_average_pooling2d", "global_average_pooling3d")
def _global_pooling(args, inputs, op):
    rank = _rank_of(op)
    shape = _one(inputs, ndim=rank + 2)
    first = _channels_first(args)
    batch, _, channels = _split(shape, first)
    if args.get("keepdims", False):
        return _join(batch, [1] * rank, channels, first), 0
    return (batch, channels), 0


@shape_rule("adaptive_average_pooling1d", "adaptive_average_pooling2d", "adaptive_average_pooling3d",
            "adaptive_max_pooling1d", "adaptive_max_pooling2d", "adaptive_max_pooling3d")
def _adaptive_pooling(args, inputs, op):
    rank = _rank_of(op)
    size = _tuple(args.get("output_size"), rank, "output_size")
    shape = _one(inputs, ndim=rank + 2)
    first = _channels_first(args)
    batch, _, channels = _split(shape, first)
    return _join(batch, list(size), channels, first), 0


# -- dense, embedding ------------------------------------------------------------------------------------

@shape_rule("dense")
def _dense(args, inputs, op):
    shape = _one(inputs, min_ndim=2)
    units = args["units"]
    if shape[-1] is None:
        raise ShapeConflict("the last dimension of the inputs to a Dense layer should be defined. Found None")
    params = shape[-1] * units + (units if args.get("use_bias", True) else 0) if _lora(args) else None
    return (*shape[:-1], units), params


@shape_rule("embedding")
def _embedding(args, inputs, op):
    shape = _one(inputs)
    params = args["input_dim"] * args["output_dim"] if _lora(args) else None
    return (*shape, args["output_dim"]), params


# -- reshaping -------------------------------------------------------------------------------------------

@shape_rule("flatten")
def _flatten(args, inputs, op):
    shape = _one(inputs)
    if args.get("data_format") not in (None, "channels_last") and len(shape) > 2:
        raise Unchecked("data_format='channels_first'")
    rest = shape[1:]
    return (shape[0], None if None in rest else math.prod(rest)), 0


@shape_rule("reshape")
def _reshape(args, inputs, op):
    shape = _one(inputs)
    target = list(args["target_shape"])
    if target.count(-1) > 1 or any(not _is_int(d) or d < -1 for d in target):
        raise Unchecked(f"target_shape={target}")
    rest = shape[1:]
    if None in rest:
        return (shape[0], *[None if d == -1 else d for d in target]), 0
    size, known = math.prod(rest), math.prod(d for d in target if d != -1)
    if -1 in target:
        if known == 0 or size % known:
            raise ShapeConflict(f"cannot reshape {_text(shape)} ({size:,} values) into {_text(tuple(target))}: "
                                f"{size:,} is not a multiple of {known:,}", hint=True)
        target[target.index(-1)] = size // known
    elif known != size:
        raise ShapeConflict(f"cannot reshape {_text(shape)} ({size:,} values) into {_text(tuple(target))} "
                            f"({known:,} values)", hint=True)
    return (shape[0], *target), 0


@shape_rule("permute")
def _permute(args, inputs, op):
    shape = _one(inputs)
    dims = list(args["dims"])
    if sorted(dims) != list(range(1, len(shape))):
        raise Unchecked(f"dims={dims} for an input of rank {len(shape)}")
    return (shape[0], *[shape[d] for d in dims]), 0


@shape_rule("repeat_vector")
def _repeat_vector(args, inputs, op):
    shape = _one(inputs, ndim=2)
    return (shape[0], args["n"], shape[1]), 0


@shape_rule("up_sampling1d", "up_sampling2d", "up_sampling3d")
def _up_sampling(args, inputs, op):
    rank = _rank_of(op)
    if rank == 1 and not _is_int(args.get("size", 2)):
        raise ArgumentConflict(f"expected an integer value for `size`. Received: size={args['size']!r}")
    size = _tuple(args.get("size", 2), rank, "size")
    shape = _one(inputs, ndim=rank + 2)
    first = _channels_first(args) if rank > 1 else False
    batch, spatial, channels = _split(shape, first)
    return _join(batch, [None if d is None else d * s for d, s in zip(spatial, size)], channels, first), 0


@shape_rule("zero_padding1d", "zero_padding2d", "zero_padding3d", "reflection_padding2d")
def _zero_padding(args, inputs, op):
    rank = _rank_of(op)
    pairs = _pairs(args.get("padding", 1), rank, "padding")
    shape = _one(inputs, ndim=rank + 2)
    first = _channels_first(args) if rank > 1 else False
    batch, spatial, channels = _split(shape, first)
    return _join(batch, [None if d is None else d + a + b for d, (a, b) in zip(spatial, pairs)], channels, first), 0


@shape_rule("cropping1d", "cropping2d", "cropping3d")
def _cropping(args, inputs, op):
    rank = _rank_of(op)
    pairs = _pairs(args.get("cropping", 1 if rank == 1 else 0), rank, "cropping")
    shape = _one(inputs, ndim=rank + 2)
    first = _channels_first(args) if rank > 1 else False
    batch, spatial, channels = _split(shape, first)
    lengths = []
    for axis, (size, (a, b)) in enumerate(zip(spatial, pairs), start=1):
        if size is not None and a + b >= size:
            raise ShapeConflict(f"cropping {a} + {b} leaves nothing of axis {axis} ({size})", hint=True)
        lengths.append(None if size is None else size - a - b)
    return _join(batch, lengths, channels, first), 0


# -- merging ---------------------------------------------------------------------------------------------

def _merge_inputs(inputs, exactly=None):
    if len(inputs) < 2 or not all(isinstance(s, tuple) for s in inputs):
        raise ShapeConflict(f"a merge layer should be called on a list of at least 2 inputs. Received: "
                            f"{len(inputs)} input")
    if exactly and len(inputs) != exactly:
        raise ShapeConflict(f"expected exactly {exactly} inputs. Received: {len(inputs)}")
    rank = len(inputs[0])
    if any(len(s) != rank for s in inputs):
        raise MergeConflict("inputs differ in rank")
    return rank


def _same_shape_merge(inputs, exactly=None):
    rank = _merge_inputs(inputs, exactly)
    for axis in range(1, rank):
        if len({s[axis] for s in inputs} - {None, 1}) > 1:
            raise MergeConflict(f"needs inputs that agree on every axis (or are 1 there), but axis {axis} differs")
    # Keras folds the inputs pairwise: an axis unknown in either is unknown, a 1 broadcasts to the other size.
    merged = list(inputs[0][1:])
    for shape in inputs[1:]:
        merged = [None if a is None or b is None else (b if a == 1 else a) for a, b in zip(merged, shape[1:])]
    batches = {s[0] for s in inputs} - {None}
    return (batches.pop() if len(batches) == 1 else None, *merged), 0


@shape_rule("add", "multiply", "average", "maximum", "minimum")
def _elementwise(args, inputs, op):
    return _same_shape_merge(inputs)


@shape_rule("subtract")
def _subtract(args, inputs, op):
    return _same_shape_merge(inputs, exactly=2)


@shape_rule("concatenate")
def _concatenate(args, inputs, op):
    rank = _merge_inputs(inputs)
    axis = args.get("axis", -1)
    if not _is_int(axis) or not -rank <= axis < rank:
        raise Unchecked(f"axis={axis!r}")
    axis %= rank
    for other in range(1, rank):
        if other != axis and len({s[other] for s in inputs if s[other] is not None}) > 1:
            raise MergeConflict(f"needs inputs that agree on all axes but the concatenation axis, but axis {other} "
                                "differs")
    shape = list(inputs[0])
    sizes = [s[axis] for s in inputs]
    shape[axis] = None if None in sizes else sum(sizes)
    return tuple(shape), 0


@shape_rule("dot")
def _dot(args, inputs, op):
    if len(inputs) != 2 or not all(isinstance(s, tuple) for s in inputs):
        raise ShapeConflict(f"a `Dot` layer should be called on a list of 2 inputs. Received: {len(inputs)}")
    first, second = list(inputs[0]), list(inputs[1])
    axes = args.get("axes", -1)
    if _is_int(axes):
        axes = [axes % len(first), axes % len(second)] if axes < 0 else [axes, axes]
    if not (isinstance(axes, (list, tuple)) and len(axes) == 2 and all(_is_int(a) for a in axes)):
        raise Unchecked(f"axes={axes!r}")
    if not (-len(first) <= axes[0] < len(first) and -len(second) <= axes[1] < len(second)):
        raise Unchecked(f"axes={axes!r}")
    if first[axes[0]] != second[axes[1]]:
        raise MergeConflict(f"needs inputs that agree on the dot axes, but {first[axes[0]]} (axis {axes[0]}) != "
                            f"{second[axes[1]]} (axis {axes[1]})")
    first.pop(axes[0])
    second.pop(axes[1])
    shape = first + second[1:]
    return tuple(shape + [1] if len(shape) == 1 else shape), 0


# -- recurrent layers and wrappers -----------------------------------------------------------------------

_GATES = {"lstm": 4, "gru": 3, "simplernn": 1}


@shape_rule("lstm", "gru", "simple_rnn")
def _recurrent(args, inputs, op):
    shape = _one(inputs, ndim=3)
    units = args["units"]
    output = (shape[0], shape[1], units) if args.get("return_sequences", False) else (shape[0], units)
    if args.get("return_state", False):
        states = 2 if op == "lstm" else 1
        output = [output] + [(shape[0], units)] * states
    return output, _recurrent_parameters(args, shape[-1], op)


def _recurrent_parameters(args, features, op):
    _defined(features, "the feature axis")
    units, gates = args["units"], _GATES[op]
    bias = 0
    if args.get("use_bias", True):
        bias = gates * units * (2 if op == "gru" and args.get("reset_after", True) else 1)
    return gates * (features * units + units * units) + bias


@shape_rule("bidirectional")
def _bidirectional(args, inputs, op):
    layer = args["layer"]
    if not isinstance(layer, LayerCall) or normalize_name(layer.op) not in _GATES:
        raise Unchecked("its `layer` is not an LSTM, GRU or SimpleRNN")
    forward, params = _recurrent(layer.args, inputs, normalize_name(layer.op))
    backward = args.get("backward_layer")
    if backward is not None:
        if not isinstance(backward, LayerCall) or normalize_name(backward.op) not in _GATES:
            raise Unchecked("its `backward_layer` is not an LSTM, GRU or SimpleRNN")
        _, backward_params = _recurrent(backward.args, inputs, normalize_name(backward.op))
    else:
        backward_params = params
    states = forward[1:] if isinstance(forward, list) else []
    output = forward[0] if isinstance(forward, list) else forward
    mode = args.get("merge_mode", "concat")
    if mode == "concat":
        output = (*output[:-1], None if output[-1] is None else output[-1] * 2)
    outputs = [output, output] if mode is None else [output]
    total = None if params is None or backward_params is None else params + backward_params
    if states:
        return outputs + states + states, total
    return (outputs if mode is None else output), total


@shape_rule("time_distributed")
def _time_distributed(args, inputs, op):
    layer = args["layer"]
    shape = _one(inputs, min_ndim=3)
    if not isinstance(layer, LayerCall):
        raise Unchecked("its `layer` is not one layer")
    inner, params = layer_output(layer, [(shape[0], *shape[2:])])
    if not isinstance(inner, tuple):
        raise Unchecked("its layer has several outputs")
    return (inner[0], shape[1], *inner[1:]), params


# -- layers that keep their input's shape ----------------------------------------------------------------

@shape_rule("activation", "relu", "leaky_relu", "elu", "softmax", "dropout", "gaussian_dropout",
            "gaussian_noise", "alpha_dropout", "activity_regularization", "identity", "masking", "rescaling",
            "unit_normalization")
def _same_shape(args, inputs, op):
    return _one(inputs), 0


@shape_rule("spatial_dropout1d", "spatial_dropout2d", "spatial_dropout3d")
def _spatial_dropout(args, inputs, op):
    return _one(inputs, ndim=_rank_of(op) + 2), 0


def _axes(args, shape, default=-1):
    axis = args.get("axis", default)
    axes = [axis] if _is_int(axis) else axis
    if not isinstance(axes, (list, tuple)) or not axes or not all(
            _is_int(a) and -len(shape) <= a < len(shape) for a in axes):
        raise Unchecked(f"axis={axis!r} for an input of rank {len(shape)}")
    sizes = [shape[a] for a in axes]
    return None if None in sizes else math.prod(sizes)


@shape_rule("batch_normalization")
def _batch_normalization(args, inputs, op):
    shape = _one(inputs)
    size = _defined(_axes(args, shape), "the normalized axis")
    if args.get("renorm", False):
        return shape, None
    return shape, size * (2 + args.get("center", True) + args.get("scale", True))


@shape_rule("layer_normalization")
def _layer_normalization(args, inputs, op):
    shape = _one(inputs)
    size = _axes(args, shape)
    rms = args.get("rms_scaling", False)
    weights = (1 if args.get("scale", True) or rms else 0) + (1 if args.get("center", True) and not rms else 0)
    if weights:
        _defined(size, "the normalized axis")
    return shape, 0 if not weights else size * weights


@shape_rule("rms_normalization")
def _rms_normalization(args, inputs, op):
    shape = _one(inputs)
    return shape, _defined(_axes(args, shape), "the normalized axis")


@shape_rule("group_normalization")
def _group_normalization(args, inputs, op):
    shape = _one(inputs)
    size = _axes(args, shape)
    groups = args.get("groups", 32)
    _defined(size, "the normalized axis")
    if groups == -1:
        groups = size
    if not _is_int(groups) or groups < 1 or groups > size or size % groups:
        raise ShapeConflict(f"the number of channels ({size}) must be a multiple of the number of groups "
                            f"({groups})")
    return shape, size * (args.get("center", True) + args.get("scale", True))


@shape_rule("instance_normalization")
def _instance_normalization(args, inputs, op):
    # kspec's InstanceNormalization is GroupNormalization with one group per channel.
    return _group_normalization({**args, "groups": -1}, inputs, op)


@shape_rule("normalization")
def _normalization(args, inputs, op):
    shape = _one(inputs)
    axis = args.get("axis", -1)
    axes = [] if axis is None else ([axis] if _is_int(axis) else list(axis))
    if not all(_is_int(a) and -len(shape) <= a < len(shape) for a in axes):
        raise Unchecked(f"axis={axis!r} for an input of rank {len(shape)}")
    kept = [shape[a] for a in axes]
    if None in kept:
        raise ShapeConflict(f"all `axis` values to be kept must have a known shape. Received axis={axis}")
    if args.get("mean") is not None:
        return shape, 0
    return shape, 2 * math.prod(kept) + 1  # mean, variance and a scalar count


@shape_rule("prelu")
def _prelu(args, inputs, op):
    shape = _one(inputs)
    shared = args.get("shared_axes") or []
    shared = [shared] if _is_int(shared) else list(shared)
    if not all(_is_int(a) and 1 <= a < len(shape) for a in shared):
        raise Unchecked(f"shared_axes={shared}")
    sizes = [1 if axis in shared else shape[axis] for axis in range(1, len(shape))]
    if None in sizes:
        _defined(None, f"axis {sizes.index(None) + 1}")
    return shape, math.prod(sizes)


# -- kspec's layers --------------------------------------------------------------------------------------

@shape_rule("sampling")
def _sampling(args, inputs, op):
    if len(inputs) != 2 or not all(isinstance(s, tuple) for s in inputs):
        raise Unchecked("it takes [z_mean, z_log_var]")
    return inputs[0], 0


def _text(shape):
    if isinstance(shape, list):
        return "[" + ", ".join(_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
