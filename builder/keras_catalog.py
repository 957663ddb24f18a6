"""The catalog of Keras names a spec may use, with their constructor arguments, as plain JSON.

`kspec validate` must not import TensorFlow or Keras (seconds of start-up), so the names and arguments of
every usable `keras.layers` class and every kspec layer, and of the optimizers, learning-rate schedules,
losses, metrics and callbacks a `training:` section may name, are generated from the installed Keras by this
module and committed as `keras_catalog.json`. A test regenerates it and fails when it drifts from Keras:

    python -m kspec.builder.keras_catalog --write     # after upgrading Keras or adding a kspec layer
                                                      # (also regenerates the editor schema)
    python -m kspec.builder.keras_catalog --check
"""

import functools
import inspect
import json
import math
import os
import re
import sys

TABLE_PATH = os.path.join(os.path.dirname(__file__), "keras_catalog.json")

# Layers a YAML spec cannot express or must not use: they wrap Python callables, other frameworks, or
# are abstract bases.
_EXCLUDED = {
    "Layer", "InputLayer", "Lambda", "Wrapper", "RNN", "StackedRNNCells", "TFSMLayer", "FlaxLayer", "JaxLayer",
    "TorchModuleWrapper", "Pipeline", "GRUCell", "LSTMCell", "SimpleRNNCell",
}
# Arguments every Keras layer takes through `Layer.__init__`; `name` is set from the node's name.
_BASE_ARGUMENTS = {
    "trainable": {"type": "bool", "default": True},
    "dtype": {"type": "str_or_null", "default": None},
    "autocast": {"type": "bool", "default": True},
}
# Meaning of an argument by its name, where the default value alone says too little.
_BY_NAME = {
    "filters": "positive_int",
    "units": "positive_int",
    "n": "positive_int",
    "num_heads": "positive_int",
    "key_dim": "positive_int",
    "output_dim": "positive_int",
    "input_dim": "positive_int",
    "kernel_size": "positive_ints",
    "strides": "positive_ints",
    "pool_size": "positive_ints",
    "dilation_rate": "positive_ints",
    "size": "positive_ints",
    "rate": "probability",
    "dropout": "probability",
    "recurrent_dropout": "probability",
    "activation": "activation",
    "recurrent_activation": "activation",
    "target_shape": "shape",
    "dims": "ints",
    "axis": "int_or_ints",
    "layer": "layer",
    "backward_layer": "layer",
    "data_format": "data_format",
    "seed": "int_or_null",
    "merge_mode": "merge_mode",
    # Defaults of 0 that take fractions too.
    "min_delta": "number",
    "min_lr": "number",
    # Trainer options whose default (None, 1) says too little.
    "n_critic": "positive_int",
    "num_classes": "positive_int_or_null",
    "ema_decay": "fraction_or_null",
}
_CONV_OR_POOL = re.compile(r"(Conv|Pool)")


def snake_name(class_name):
    """Keras' own naming: `Conv2DTranspose` -> `conv2d_transpose`, `LSTM` -> `lstm`."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# `kernel_initializer`, `bias_regularizer`, `kernel_constraint`: checked against these catalog sections.
OBJECT_SECTIONS = {"initializer": "initializers", "regularizer": "regularizers", "constraint": "constraints"}
# Arguments of initializers, regularizers and constraints whose integer defaults take fractions too.
_OBJECT_NUMBERS = {"max_value", "min_value", "rate"}


def _argument_type(class_name, name, default):
    if name in ("padding", "cropping") and class_name.startswith(("ZeroPadding", "Cropping")):
        # An int, one int per axis, or a (before, after) pair per axis: the shape rule checks the form.
        return "any"
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.rsplit("_", 1)[-1] in OBJECT_SECTIONS:
        return name.rsplit("_", 1)[-1]
    if name == "padding" and isinstance(default, str) and _CONV_OR_POOL.search(class_name):
        return "padding_causal" if "1D" in class_name and "Conv" in class_name else "padding"
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "str"
    if isinstance(default, (tuple, list)) and all(isinstance(v, int) for v in default):
        return "int_or_ints"
    return "any"


# Types a constructor's docstring may widen (see `_widen`); the others (activations, initializers, enums that
# list None, `any`) already say everything.
_WIDENABLE = {"positive_int", "positive_ints", "int", "int_or_ints", "ints", "shape", "number", "numbers",
              "probability", "bool", "str", "layer"}
_FLOATS = re.compile(r"\bfloats?\b", re.IGNORECASE)
_SEQUENCE = re.compile(r"\b(?:tuple|list)\b", re.IGNORECASE)
_NONE = re.compile(r"\bNone\b")


def documented_arguments(cls):
    """`{argument: its text}` from the `Args:` section of a class docstring (Keras' layout)."""
    lines = (inspect.getdoc(cls) or "").splitlines()
    found, name, indent = {}, None, None
    in_args = False
    for line in lines:
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:"):
            in_args, name, indent = True, None, None
            continue
        if not in_args:
            continue
        depth = len(line) - len(line.lstrip())
        match = re.match(r"(\*{0,2}\w+): ?(.*)", stripped)
        if match and (indent is None or depth <= indent):
            name, indent = match.group(1).lstrip("*"), depth
            found[name] = match.group(2)
        elif stripped and name is not None and depth > indent:
            found[name] += " " + stripped
        elif stripped and indent is not None and depth < indent:
            in_args = False  # the next section (`Input shape:`, `Example:`)
    return found


def _widen(arg_type, default, text):
    """The type widened to every form the constructor documents, so that no valid Keras argument is refused.

    The type from the argument's name or default says too little when the docstring documents more: floats
    where the default is an integer (`value_range=(0, 255)`, "list/tuple of 2 floats"), a (low, high) tuple
    where the default is one number (`factor`, "a float or a tuple of two floats"), and None ("int or None").
    A default is always a valid value, so a default of None makes the type nullable too.
    """
    if arg_type not in _WIDENABLE:
        return arg_type
    if arg_type in ("int", "int_or_ints") and _FLOATS.search(text):
        arg_type = "number" if arg_type == "int" else "numbers"
    if arg_type == "number" and _SEQUENCE.search(text):
        arg_type = "numbers"
    if default is None or _NONE.search(text):
        arg_type += "_or_null"
    return arg_type


_NOT_JSON = object()


def _json_value(value):
    """`value` as plain JSON data (tuples become lists), or `_NOT_JSON` for objects and non-finite floats."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _NOT_JSON
    if isinstance(value, (tuple, list)):
        items = [_json_value(v) for v in value]
        return _NOT_JSON if any(v is _NOT_JSON for v in items) else items
    return _NOT_JSON


def _arguments(cls):
    """Constructor arguments of a class, typed from their names and defaults (`name` is kspec's to set)."""
    arguments = {}
    documented = documented_arguments(cls)
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or parameter.name == "name":
            continue
        entry = {"type": _BY_NAME.get(parameter.name, "any")}
        if parameter.default is parameter.empty:
            entry["type"] = _widen(entry["type"], parameter.default, documented.get(parameter.name, ""))
            entry["required"] = True
        else:
            entry["type"] = _widen(_argument_type(cls.__name__, parameter.name, parameter.default),
                                   parameter.default, documented.get(parameter.name, ""))
            default = _json_value(parameter.default)
            if default is not _NOT_JSON:
                entry["default"] = default  # shown by `kspec layers NAME` and in the editor schema
        arguments[parameter.name] = entry
    return arguments


def _classes(module, base, excluded=()):
    from kspec.registry import normalize_name

    found = {}
    for name in dir(module):
        cls = getattr(module, name)
        if isinstance(cls, type) and issubclass(cls, base) and cls is not base and name == cls.__name__ and name not in excluded:
            found[normalize_name(name)] = {"class": name, "name": snake_name(name), "arguments": _arguments(cls)}
    return dict(sorted(found.items()))


def _keras_objects(all_objects, base):
    """Initializers, regularizers or constraints under every name Keras accepts (`random_normal`, `normal`)."""
    from kspec.registry import normalize_name

    found = {}
    for name, cls in all_objects.items():
        if isinstance(cls, type) and issubclass(cls, base) and cls is not base:
            arguments = _arguments(cls)
            for argument, entry in arguments.items():
                if argument in _OBJECT_NUMBERS:
                    entry["type"] = "number"
            found[normalize_name(name)] = {"class": cls.__name__, "name": snake_name(cls.__name__),
                                           "arguments": arguments}
    return dict(sorted(found.items()))


def _trainers():
    """kspec's trainers and their options (constructor arguments other than the models they train)."""
    import kspec.trainers
    from kspec.registry import TRAINERS

    from kspec.registry import LOSSES, PRIORS
    from kspec.trainers.vae_losses import RECONSTRUCTION_LOSSES

    kspec.trainers.load_all()
    # Options that name a registered thing: validate checks the name, as the trainer would at train time.
    choices = {"loss": LOSSES.names(), "prior": PRIORS.names(), "reconstruction": list(RECONSTRUCTION_LOSSES)}
    trainers = {}
    for name in TRAINERS.names():
        arguments = {k: v for k, v in _arguments(TRAINERS.get(name)).items() if not v.get("required")}
        for option, entry in arguments.items():
            if option in choices:
                entry["choices"] = sorted(choices[option])
        trainers[name] = {"arguments": arguments}
    return trainers


def _describe(cls, canonical):
    arguments = _arguments(cls)
    signature = inspect.signature(cls.__init__)
    if any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
        for name, entry in _BASE_ARGUMENTS.items():
            arguments.setdefault(name, dict(entry))
    call = inspect.signature(cls.call)
    required_call = [
        p.name
        for p in list(call.parameters.values())[1:]
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return {
        "class": cls.__name__,
        "name": canonical,
        "module": cls.__module__ if cls.__module__.startswith("kspec") else "keras.layers",
        "arguments": arguments,
        # Most layers take several inputs as one list (`Concatenate()([a, b])`); a few take them as
        # separate positional arguments (`MultiHeadAttention()(query, value)`).
        "inputs": "positional" if len(required_call) > 1 else "list",
    }


def generate_table():
    """Builds the table from the installed Keras and kspec's registered layers (imports Keras)."""
    import keras

    import kspec.layers  # noqa: F401  (registers kspec's layers)
    from kspec.registry import LAYERS, normalize_name

    layers, seen = {}, {}
    candidates = [(name, getattr(keras.layers, name)) for name in dir(keras.layers)]
    candidates += [(name, LAYERS.get(name)) for name in LAYERS.names()]
    for public_name, cls in candidates:
        if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)) or public_name in _EXCLUDED:
            continue
        if public_name != cls.__name__:
            continue  # aliases such as MaxPool2D name the same class as MaxPooling2D
        key = normalize_name(public_name)
        if key in seen:
            raise RuntimeError(f"layer names collide: {public_name} and {seen[key]}")
        seen[key] = public_name
        layers[key] = _describe(cls, snake_name(public_name))
    # `keras.layers.MaxPool2D` is the same class as `MaxPooling2D`; accept both spellings.
    aliases = {}
    for name in dir(keras.layers):
        cls = getattr(keras.layers, name)
        key = normalize_name(name)
        if isinstance(cls, type) and key not in layers and normalize_name(cls.__name__) in layers:
            aliases[key] = normalize_name(cls.__name__)
    activations = sorted(
        name
        for name in dir(keras.activations)
        if not name.startswith("_") and callable(getattr(keras.activations, name)) and name not in ("get", "serialize", "deserialize")
    )
    from keras.src.constraints import ALL_OBJECTS_DICT as constraints
    from keras.src.initializers import ALL_OBJECTS_DICT as initializers
    from keras.src.losses import ALL_OBJECTS_DICT as losses
    from keras.src.regularizers import ALL_OBJECTS_DICT as regularizers
    from keras.src.metrics import ALL_OBJECTS_DICT as metrics

    from keras.src.backend.common.dtypes import ALLOWED_DTYPES

    return {
        "keras_version": keras.__version__,
        "dtypes": sorted(ALLOWED_DTYPES),
        "layers": dict(sorted(layers.items())),
        "aliases": dict(sorted(aliases.items())),
        "activations": activations,
        "optimizers": _classes(keras.optimizers, keras.optimizers.Optimizer, ("LossScaleOptimizer", "MultiOptimizer")),
        "schedules": _classes(keras.optimizers.schedules, keras.optimizers.schedules.LearningRateSchedule),
        "losses": _classes(keras.losses, keras.losses.Loss, ("LossFunctionWrapper",)),
        "loss_names": sorted(name for name in losses if name[0].islower()),
        "metrics": _classes(keras.metrics, keras.metrics.Metric, ("MeanMetricWrapper", "Metric")),
        # `compile()` resolves "accuracy" and "crossentropy" itself, from the loss and the output shape.
        "metric_names": sorted({n for n in metrics if n[0].islower()} | {"accuracy", "acc", "crossentropy", "ce"}),
        "initializers": _keras_objects(initializers, keras.initializers.Initializer),
        "regularizers": _keras_objects(regularizers, keras.regularizers.Regularizer),
        "constraints": _keras_objects(constraints, keras.constraints.Constraint),
        "trainers": _trainers(),
        "callbacks": {
            key: {"class": cls.__name__, "name": snake_name(cls.__name__), "arguments": _arguments(cls)}
            for key, cls in (("earlystopping", keras.callbacks.EarlyStopping),
                             ("reducelronplateau", keras.callbacks.ReduceLROnPlateau))
        },
    }


@functools.lru_cache(maxsize=1)
def load_table():
    """The committed table (no Keras import)."""
    with open(TABLE_PATH, encoding="utf-8") as stream:
        return json.load(stream)


def lookup_layer(name):
    """The table entry for a layer name in any spelling (`conv2d`, `Conv2D`, `MaxPool2D`), or None."""
    from kspec.registry import normalize_name

    table = load_table()
    key = normalize_name(name)
    key = table["aliases"].get(key, key)
    return table["layers"].get(key)


def lookup_entry(section, name):
    """The catalog entry of `name` in `section` ("optimizers", "schedules", "losses", "metrics", "callbacks",
    "initializers", "regularizers", "constraints")."""
    from kspec.registry import normalize_name

    return load_table()[section].get(normalize_name(name))


def layer_names():
    """Canonical snake_case names of all usable layers."""
    return [entry["name"] for entry in load_table()["layers"].values()]


def _main(argv):
    table = json.dumps(generate_table(), indent=1, sort_keys=False) + "\n"
    if "--write" in argv:
        with open(TABLE_PATH + ".tmp", "w", encoding="utf-8") as stream:
            stream.write(table)
        os.replace(TABLE_PATH + ".tmp", TABLE_PATH)
        print(f"wrote {TABLE_PATH}")
        # The editor schema lists the catalog's layers: keep it in step with the table.
        from kspec.builder.editor_schema import write_editor_schema

        load_table.cache_clear()
        print(f"wrote {write_editor_schema()}")
        return 0
    with open(TABLE_PATH, encoding="utf-8") as stream:
        current = stream.read()
    if current != table:
        print(f"{TABLE_PATH} is out of date with the installed Keras; run: python -m kspec.builder.keras_catalog --write")
        return 1
    print("Keras catalog is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
