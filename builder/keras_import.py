"""`kspec import`: a spec from an existing Keras model (a `.keras` file or a `keras.applications` model).

The spec keeps every layer's name, states `from:` where a node does not follow the one before it, and writes
only the arguments that differ from the layer's defaults. What a spec cannot express is refused with one
line naming the layer: Python code (`Lambda`), layers outside the catalog, a layer called twice (shared
weights), one output picked from a layer with several. Functional `keras.ops` calls between layers become
the equivalent layers (`x + y` -> `add`, `x + 3.0` -> `rescaling` with an offset; both compute the same
floats). Nested models become models of the spec used with `{model: ...}`.

Example (`load_source("keras.applications.MobileNetV2")` gives such a model too; `write_spec` writes the text):
>>> import keras
>>> net = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="relu", name="hidden"),
...                         keras.layers.Dense(1, name="out")], name="net")
>>> print(spec_text(spec_from_model(net), "a Sequential model"))
# Imported from a Sequential model by `kspec import` (Keras ...). Arguments equal to Keras'
# defaults are left out; metadata.parameters is the source model's count.
kspec: 1
metadata:
  parameters:
    net: 41
models:
  net:
    inputs: {...: [8]}
    layers:
    - {name: hidden, dense: {units: 4, activation: relu}}
    - {name: out, dense: {units: 1}}
<BLANKLINE>
"""

import importlib
import inspect
import json
import os
import zipfile

import yaml

from kspec.atomic import publish
from kspec.builder.keras_catalog import lookup_layer
from kspec.errors import SpecError, first_line

APPLICATIONS = "keras.applications"
# `keras.ops` calls that appear between layers of functional models, and the layer computing the same thing.
_OP_LAYERS = {"Add": "add", "Multiply": "multiply", "Subtract": "subtract", "Maximum": "maximum",
              "Minimum": "minimum"}


def application_names():
    """The allow-list: model constructors in `keras.applications` (imports Keras)."""
    import keras

    return sorted(name for name in dir(keras.applications)
                  if name[:1].isupper() and callable(getattr(keras.applications, name)))


def load_source(source, allow_imports=(), input_shape=None):
    """Loads the Keras model that `kspec import` converts.

    Args:
        source: a `.keras` file (loaded in safe mode), `keras.applications.NAME` (built with weights=None),
            or `module.function` returning a model, where `module` is in `allow_imports`.
        allow_imports: modules whose functions may be called (what `--allow-import` passes).
        input_shape: optional input shape (without batch) for applications and functions that take one.

    Returns:
        A `keras.Model`.

    Raises:
        SpecError: the source is refused or cannot be loaded, with one line saying why.
    """
    if source.endswith(".keras"):
        return _load_keras_file(source)
    import keras

    import kspec.layers  # noqa: F401  (kspec's layers deserialize by name)

    if "." not in source:
        raise SpecError(f"expected a .keras file, keras.applications.NAME or module.function. Received: {source!r}",
                        path="SOURCE")
    module_name, function_name = source.rsplit(".", 1)
    kwargs = {} if input_shape is None else {"input_shape": tuple(input_shape)}
    if module_name == APPLICATIONS:
        names = application_names()
        if function_name not in names:
            import difflib

            close = difflib.get_close_matches(function_name, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SpecError(f"`{function_name}` is not a model in keras.applications{hint}", path="SOURCE")
        kwargs["weights"] = None
        function = getattr(keras.applications, function_name)
    else:
        if module_name not in allow_imports:
            raise SpecError(f"importing `{source}` runs code from `{module_name}`; allow it with "
                            f"--allow-import {module_name}", path="SOURCE")
        function = getattr(importlib.import_module(module_name), function_name, None)
        if not callable(function):
            raise SpecError(f"module `{module_name}` has no function `{function_name}`", path="SOURCE")
    try:
        model = function(**kwargs)
    except (ValueError, TypeError) as error:
        raise SpecError(f"`{source}` cannot be built: {first_line(error)}", path="SOURCE") from None
    if not isinstance(model, keras.Model):
        raise SpecError(f"`{source}` returned {type(model).__name__}, not a Keras model", path="SOURCE")
    return model


def _load_keras_file(path):
    if not os.path.isfile(path):
        raise SpecError(f"no such file: {path}", path="SOURCE")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise SpecError(f"{path}: not a Keras model file ({first_line(error)})", path="SOURCE") from None
    lambda_name = _find_lambda(config)
    if lambda_name:
        raise SpecError(f"{path}: layer `{lambda_name}` is a Lambda layer (Python code); a spec cannot express it "
                        "and kspec never loads code from a model file", path="SOURCE")
    import keras

    import kspec.layers  # noqa: F401

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, TypeError) as error:
        raise SpecError(f"{path}: cannot be loaded in safe mode: {first_line(error)}", path="SOURCE") from None


def _find_lambda(config):
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            return (config.get("config") or {}).get("name", "?")
        values = config.values()
    elif isinstance(config, list):
        values = config
    else:
        return None
    return next((found for found in map(_find_lambda, values) if found), None)


# -- model -> spec ---------------------------------------------------------------------------------------

def spec_from_model(model):
    """A spec document (plain data) that builds the same network as `model` (a functional or Sequential model).

    Layers named `call.inner` (as kspec names the layers of a block call) are folded back into blocks, so
    that every name survives; identical block bodies become one block.

    Returns:
        `{"kspec": 1, "metadata": ..., "blocks": ..., "models": {...}}`; nested models come first.
    """
    models, blocks = {}, {}
    _convert_model(model, models, blocks)
    document = {"kspec": 1, "metadata": {"parameters": {name: count for name, (_, count) in models.items()}}}
    if blocks:
        document["blocks"] = {name: body for body, name in blocks.values()}
    document["models"] = {name: body for name, (body, _) in models.items()}
    return document


def _convert_model(model, models, blocks):
    import keras

    name = _identifier(model.name)
    if name in models:
        return name
    if isinstance(model, keras.Sequential):
        model = _sequential_as_functional(model)
    if not hasattr(model, "_nodes_by_depth"):
        raise SpecError(f"model `{model.name}` is a subclassed keras.Model; only functional and Sequential models "
                        "can become specs", path="SOURCE")
    own_nodes = {id(node) for nodes in model._nodes_by_depth.values() for node in nodes}
    inputs = {}
    for tensor in model.inputs:
        layer = tensor._keras_history.operation
        shape = list(tensor.shape[1:])
        dtype = tensor.dtype
        inputs[_identifier(layer.name)] = shape if dtype == "float32" else {"shape": shape, "dtype": dtype}
    nodes = []  # (name, {layer: arguments} or {model: name}, names of its inputs)
    for operation in model.operations:
        if isinstance(operation, keras.layers.InputLayer):
            continue
        calls = [node for node in operation._inbound_nodes if id(node) in own_nodes]
        if len(calls) != 1:
            raise SpecError(f"layer `{operation.name}` is called {len(calls)} times in `{model.name}` (shared "
                            "weights); a spec can share weights only through `{model: ...}`", path="SOURCE")
        sources = [_source_name(tensor, operation) for tensor in calls[0].arguments.keras_tensors]
        if isinstance(operation, keras.Model):
            entry = {"model": _convert_model(operation, models, blocks)}
        else:
            entry = _layer_entry(operation, calls[0])
        nodes.append((operation.name, entry, sources))
    first = next(iter(inputs)) if len(inputs) == 1 else None
    layers, last = _emit(nodes, "", {}, first, blocks)
    outputs = [_source_name(tensor, None) for tensor in model.outputs]
    body = {"inputs": inputs, "layers": layers}
    if outputs != [last]:
        body["outputs"] = outputs
    models[name] = (body, model.count_params())
    return name


def _emit(nodes, prefix, block_inputs, previous, blocks):
    """Spec items for `nodes` (all named `prefix...`), folding `prefix + call + "."` groups into block calls.

    Args:
        nodes: `(full name, entry, full names of inputs)` in build order.
        prefix: the enclosing block call's prefix (`"up0."`), or "" in a model.
        block_inputs: full names of nodes outside the block -> the block input names that stand for them.
        previous: full name of the node a `from:`-less item would take.
        blocks: the blocks made so far, `{body as JSON: (body, block name)}` (updated).

    Returns:
        `(items, full name of the last item's output)`.
    """
    calls = {}  # full name of a block call's output -> the call's name, which stands for it

    def local(full):
        return block_inputs.get(full) or calls.get(full) or full[len(prefix):]

    items, done = [], set()
    for full, entry, sources in nodes:
        rest = full[len(prefix):]
        if "." not in rest:
            item, output = {"name": rest, **entry}, full
        else:
            call = rest.split(".", 1)[0]
            if call in done:
                continue
            done.add(call)
            inner = prefix + call + "."
            members = [node for node in nodes if node[0].startswith(inner)]
            sources = list(dict.fromkeys(s for _, _, group in members for s in group if not s.startswith(inner)))
            names = ["input"] if len(sources) == 1 else [f"input{i}" for i in range(len(sources))]
            body_items, output = _emit(members, inner, dict(zip(sources, names)), sources[0] if sources else None,
                                       blocks)
            body = {"inputs": names, "layers": body_items} if len(names) > 1 else {"layers": body_items}
            item = {"name": call, _block_name(call, body, blocks): {}}
            calls[output] = call
        if sources and sources != [previous]:
            written = [local(s) for s in sources]
            item["from"] = written[0] if len(written) == 1 else written
        items.append(item)
        previous = output
    return items, previous


def _block_name(call, body, blocks):
    """The block with this body (one per distinct body), named after its first call."""
    key = json.dumps(body, sort_keys=True, default=str)
    if key not in blocks:
        taken = {name for _, name in blocks.values()}
        name, counter = call, 1
        while name in taken or lookup_layer(name) is not None or name == "model":
            name, counter = f"{call}_{counter}", counter + 1
        blocks[key] = (body, name)
    return blocks[key][1]


def _identifier(name):
    """A model or input name as the spec schema wants it: letters, digits and `_`, not starting with a digit."""
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return text if text[:1].isalpha() or text[:1] == "_" else "_" + text


def _sequential_as_functional(model):
    import keras

    if not model.built or not model.inputs:
        raise SpecError(f"Sequential model `{model.name}` has no input shape; build it first", path="SOURCE")
    return keras.Model(model.inputs, model.outputs, name=model.name)


def _source_name(tensor, consumer):
    operation, _, index = tensor._keras_history
    outputs = operation._inbound_nodes[0].outputs if operation._inbound_nodes else [tensor]
    if index != 0 or (len(outputs) > 1 and consumer is not None):
        what = f"layer `{consumer.name}`" if consumer is not None else "the model's outputs"
        raise SpecError(f"{what} use{'s' if consumer is not None else ''} output {index} of `{operation.name}`, "
                        "which has several; a spec node passes all of a layer's outputs on", path="SOURCE")
    return _identifier(operation.name) if type(operation).__name__ == "InputLayer" else operation.name


def _layer_entry(layer, node):
    """`{spec layer name: arguments}` for one layer (or `keras.ops` call)."""
    import keras

    if not isinstance(layer, keras.layers.Layer):
        return _operation_entry(layer, node)
    # Keras records call-context arguments such as `training` at their signature default: not the user's.
    signature = inspect.signature(layer.call).parameters
    used = [key for key, value in node.arguments.kwargs.items()
            if value is not None and not (key in signature and signature[key].default == value)]
    if used:
        raise SpecError(f"layer `{layer.name}` is called with {', '.join(used)}; a spec cannot pass call arguments",
                        path="SOURCE")
    return _layer_arguments(layer)


def _layer_arguments(layer):
    """`{spec layer name: arguments}`: the required arguments and those that change the layer's config."""
    cls = type(layer)
    entry = lookup_layer(cls.__name__)
    if entry is None or entry["class"] != cls.__name__:
        where = "Python code" if cls.__name__ == "Lambda" else f"{cls.__module__}.{cls.__name__}"
        raise SpecError(f"layer `{layer.name}` is a `{cls.__name__}` ({where}), which specs cannot express",
                        path="SOURCE")
    config = layer.get_config()
    # A wrapper's layer is written as a nested layer; Bidirectional's backward layer only where it is not
    # the default (the forward layer going backwards).
    wrapped = {}
    if config.get("layer"):
        wrapped["layer"] = getattr(layer, "forward_layer", None) or layer.layer
    if config.get("backward_layer"):
        wrapped["backward_layer"] = layer.backward_layer
    keys = [key for key in config if key != "name" and key in entry["arguments"]]
    kept = {key for key in keys if entry["arguments"][key].get("required") or key == "layer"}
    # Defaults can depend on other arguments (MaxPooling2D's strides default to pool_size): add the
    # arguments whose value differs from what a layer built with the kept ones has, until none does.
    for _ in range(len(keys) + 1):
        reference = _config_with(cls, {key: config[key] for key in kept}, wrapped)
        differing = {key for key in keys if key not in kept and not same_config(reference.get(key), config[key])}
        if not differing:
            break
        kept |= differing
    arguments = {}
    for key in keys:
        if key in wrapped and key in kept:
            arguments[key] = _layer_arguments(wrapped[key])
        elif key in kept:
            arguments[key] = _shortest(key, _plain(config[key]))
    return {entry["name"]: arguments}


def _config_with(cls, arguments, wrapped):
    """The config of a fresh `cls` layer built from `arguments` (wrapped layers rebuilt from their configs)."""
    for key, inner in wrapped.items():
        if key in arguments:
            arguments[key] = type(inner).from_config(inner.get_config())
    try:
        return cls(**arguments).get_config()
    except (ValueError, TypeError):
        return {}


def same_config(default, value):
    """Whether two layer configs (or config values) are equal as spec data (tuples and lists alike)."""
    return json.dumps(_plain(_unnamed(default)), sort_keys=True, default=str) == json.dumps(
        _plain(_unnamed(value)), sort_keys=True, default=str)


def _unnamed(config):
    """A config without the names of the layers it wraps, which Keras makes up (`forward_lstm_3`): the value of
    `layer`/`backward_layer`, or such a value itself (a serialized layer)."""
    if not isinstance(config, dict):
        return config
    inner = config.get("config")
    if isinstance(inner, dict) and "class_name" in config and "name" in inner and "trainable" in inner:
        return {**config, "config": {k: v for k, v in _unnamed(config["config"]).items() if k != "name"}}
    return {key: _unnamed(value) if key in ("layer", "backward_layer") else value for key, value in config.items()}


def _plain(value):
    """A config value as spec data: tuples as lists, default-configured Keras objects as their snake name."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        if value.get("module") == "keras" and value["class_name"] in ("DTypePolicy", "FloatDTypePolicy"):
            return value["config"].get("name")
        inner = value["config"] or {}
        from kspec.builder.keras_catalog import load_table, snake_name

        if value.get("module", "").startswith("keras.") and not any(v is not None for v in inner.values()):
            return snake_name(value["class_name"])
        section = value.get("module", "").rsplit(".", 1)[-1]  # keras.initializers -> initializers
        if section in load_table():
            # The catalog knows these objects: write them as specs do, `{random_normal: {stddev: 0.02}}`.
            return {snake_name(value["class_name"]): _plain({k: v for k, v in inner.items() if v is not None})}
        return {"class_name": value["class_name"], "config": _plain(inner)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # NumPy scalars in configs
        return value.item()
    return value


# Arguments Keras expands from one int to one per axis (`standardize_tuple`, padding pairs): written short.
_PER_AXIS = {"kernel_size", "strides", "dilation_rate", "pool_size", "size", "output_padding", "padding", "cropping"}


def _shortest(key, value):
    """`[3, 3]` -> `3` and `[[1, 1], [1, 1]]` -> `1` for arguments where Keras reads them the same."""
    if key not in _PER_AXIS or not isinstance(value, list) or not value:
        return value
    flat = [v for pair in value for v in (pair if isinstance(pair, list) else [pair])]
    same = all(isinstance(v, int) for v in flat) and len(set(flat)) == 1
    shape_ok = all(isinstance(v, int) for v in value) or all(isinstance(v, list) and len(v) == 2 for v in value)
    return flat[0] if same and shape_ok else value


def _operation_entry(operation, node):
    kind = type(operation).__name__
    tensors = node.arguments.keras_tensors
    constants = [a for a in node.arguments.args if not hasattr(a, "_keras_history")]
    if kind in _OP_LAYERS and len(tensors) == 2 and not constants:
        return {_OP_LAYERS[kind]: {}}
    if kind in ("Add", "Subtract", "Multiply") and len(tensors) == 1 and len(constants) == 1:
        value = constants[0]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (
                kind != "Subtract" or node.arguments.args[0] is tensors[0]):
            # x * c is Rescaling(scale=c); x + c is Rescaling(offset=c), since x * 1.0 is exactly x.
            if kind == "Multiply":
                return {"rescaling": {"scale": float(value)}}
            return {"rescaling": {"scale": 1.0, "offset": float(value if kind == "Add" else -value)}}
    raise SpecError(f"`{operation.name}` is a keras.ops call ({type(operation).__module__}.{kind}) with no layer "
                    "form in specs", path="SOURCE")


# -- writing ---------------------------------------------------------------------------------------------

class _Flow(dict):
    """A mapping written on one line (a node, its arguments)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda dumper, data: dumper.represent_mapping(
    "tag:yaml.org,2002:map", data.items(), flow_style=True))
# Lists of plain values (shapes, outputs) on one line; the list of nodes one node per line.
_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=not any(isinstance(v, (dict, list)) for v in data)))


def _flow(value):
    if isinstance(value, dict):
        return _Flow({k: _flow(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_flow(v) for v in value]
    return value


def spec_text(document, source):
    """The spec as YAML text: one line per node, a header saying where it came from."""
    import keras

    body = {"kspec": document["kspec"], "metadata": document["metadata"]}
    if document.get("blocks"):
        body["blocks"] = {name: {**block, "layers": [_flow(item) for item in block["layers"]]}
                          for name, block in document["blocks"].items()}
    body["models"] = {}
    for name, model in document["models"].items():
        entry = {"inputs": _Flow({k: _flow(v) for k, v in model["inputs"].items()}),
                 "layers": [_flow(item) for item in model["layers"]]}
        if "outputs" in model:
            entry["outputs"] = model["outputs"]
        body["models"][name] = entry
    header = (f"# Imported from {source} by `kspec import` (Keras {keras.__version__}). Arguments equal to Keras'\n"
              "# defaults are left out; metadata.parameters is the source model's count.\n")
    return header + yaml.dump(body, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def write_spec(document, path, source):
    """Writes the spec to `path` (through a temporary file and a rename: a good file is never half replaced)."""
    import tempfile

    text = spec_text(document, source)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".yaml.tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    publish(temporary, path)
    return path


# -- checking --------------------------------------------------------------------------------------------

def compare_round_trip(source_model, spec_path, seed=0):
    """Builds the spec at `spec_path` and compares it with the model it was imported from.

    The spec's weights are set from the source's by order (`set_weights(get_weights())`), so identical
    outputs also prove that both create their weights in the same order and shapes.

    Returns:
        A dict: `parameters` (source, spec), `layers` (source, spec; `keras.ops` calls count as layers of the
        spec), `configs_differ` (names of layers whose configs differ, ignoring the made-up names of layers
        inside wrappers), `outputs_identical` (bool, or a reason string when the weights could not be copied).
    """
    import numpy as np

    from kspec import builder

    spec = builder.load_spec(spec_path)
    built = builder.build(spec)
    target = built[list(spec.models)[-1]]  # nested models come first; the imported model is the last
    differ = [layer.name for layer in _all_layers(source_model)
              if not same_config(layer.get_config(), _layer_named(target, layer.name).get_config())]
    report = {
        "parameters": (source_model.count_params(), target.count_params()),
        "layers": (len(source_model.operations), len(target.operations)),
        "configs_differ": differ,
    }
    try:
        target.set_weights(source_model.get_weights())
    except ValueError as error:
        report["outputs_identical"] = f"weights do not copy by order: {first_line(error)}"
        return report
    rng = np.random.default_rng(seed)
    inputs = [rng.uniform(size=(2, *t.shape[1:])).astype(t.dtype) for t in source_model.inputs]
    inputs = inputs if len(inputs) > 1 else inputs[0]
    want, got = source_model(inputs, training=False), target(inputs, training=False)
    want, got = (w if isinstance(w, (list, tuple)) else [w] for w in (want, got))
    report["outputs_identical"] = all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(want, got))
    return report


def round_trip_text(report):
    """One line summing up `compare_round_trip`'s report, and whether the spec reproduced the model."""
    (source, spec), differ, outputs = report["parameters"], report["configs_differ"], report["outputs_identical"]
    text = (f"round trip: parameters {'equal' if source == spec else f'differ ({source:,} vs {spec:,})'}, "
            f"layer configs {'equal' if not differ else 'differ: ' + ', '.join(differ)}, "
            f"outputs {'identical' if outputs is True else outputs or 'differ'}")
    return text, source == spec and not differ and outputs is True


def _all_layers(model):
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def _layer_named(model, name):
    import keras

    for layer in model.layers:
        if layer.name == name:
            return layer
        if isinstance(layer, keras.Model):
            found = _layer_named(layer, name)
            if found is not None:
                return found
    return None
