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


# `keras.applications` constructors (`application:` nodes). A spec does not give these arguments: the input
# comes from `from:`, the model is named after the node, and kspec reads `weights` itself (never downloading).
_APPLICATION_OWN = {"input_shape", "input_tensor", "name", "weights"}
_APPLICATION_TYPES = {"pooling": "pooling", "classes": "positive_int", "alpha": "positive_number",
                      "depth_multiplier": "positive_int", "dropout": "fraction", "dropout_rate": "fraction",
                      "classifier_activation": "activation"}
_TOP_FILE_SUFFIX = "_weights_tf_dim_ordering_tf_kernels.h5"
_NOTOP_FILE_SUFFIX = "_weights_tf_dim_ordering_tf_kernels_notop.h5"
# The file names under which `weights="imagenet"` caches its download (`~/.keras/models/<file>`), per family
# (the module of keras.applications): (with the classifier top, without). `{name}` is the constructor's default
# model name. Facts of keras/src/applications/*.py, checked against Keras by tests/builder/test_applications.py.
_IMAGENET_FILES = {
    "convnext": ("{name}.h5", "{name}_notop.h5"),
    "densenet": ("{name}" + _TOP_FILE_SUFFIX, "{name}" + _NOTOP_FILE_SUFFIX),
    "efficientnet": ("{name}.h5", "{name}_notop.h5"),
    "efficientnet_v2": ("{name}.h5", "{name}_notop.h5"),
    "inception_resnet_v2": ("{name}" + _TOP_FILE_SUFFIX, "{name}" + _NOTOP_FILE_SUFFIX),
    "inception_v3": ("{name}" + _TOP_FILE_SUFFIX, "{name}" + _NOTOP_FILE_SUFFIX),
    "mobilenet": ("mobilenet_{alpha_text}_{size}_tf.h5", "mobilenet_{alpha_text}_{size}_tf_no_top.h5"),
    "mobilenet_v2": ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}.h5",
                     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5"),
    "mobilenet_v3": ("weights_mobilenet_v3_{variant}.h5", "weights_mobilenet_v3_{variant}_no_top_v2.h5"),
    "nasnet": ("{name}.h5", "{name}_no_top.h5"),
    "resnet": ("{name}" + _TOP_FILE_SUFFIX, "{name}" + _NOTOP_FILE_SUFFIX),
    "resnet_v2": ("{name}" + _TOP_FILE_SUFFIX, "{name}" + _NOTOP_FILE_SUFFIX),
    "vgg16": ("{name}" + _TOP_FILE_SUFFIX, "{name}" + _NOTOP_FILE_SUFFIX),
    "vgg19": ("{name}" + _TOP_FILE_SUFFIX, "{name}" + _NOTOP_FILE_SUFFIX),
    "xception": ("{name}" + _TOP_FILE_SUFFIX, "{name}" + _NOTOP_FILE_SUFFIX),
}
# MobileNet v1 and v2 have ImageNet weights for these widths and square input sizes; without the top, another
# size loads the 224 weights (as Keras does, with a warning).
_MOBILENET_VARIANTS = {
    "mobilenet": {"alpha": (0.25, 0.5, 0.75, 1.0), "size": (128, 160, 192, 224)},
    "mobilenet_v2": {"alpha": (0.35, 0.5, 0.75, 1.0, 1.3, 1.4), "size": (96, 128, 160, 192, 224)},
}
_MOBILENET_ALPHA_TEXT = {0.25: "2_5", 0.5: "5_0", 0.75: "7_5", 1.0: "1_0"}
IMAGENET_DEFAULT_SIZE = 224

# Without the top and with pooling, each backbone outputs (batch, channels) and has a parameter count that does
# not depend on the input size: measured with Keras 3 on a 3-channel input (include_top=False, weights=None),
# for the default arguments ("") and the other widths of the MobileNets (benchmarks of a few seconds each, too
# slow to measure here); tests/builder/test_applications.py checks a sample against Keras. Static shapes (builder/shapes.py) use them; other arguments are unchecked.
_APPLICATION_FEATURES = {
    "ConvNeXtBase": {"": (1024, 87566464)}, "ConvNeXtLarge": {"": (1536, 196230336)},
    "ConvNeXtSmall": {"": (768, 49454688)}, "ConvNeXtTiny": {"": (768, 27820128)},
    "ConvNeXtXLarge": {"": (2048, 348147968)},
    "DenseNet121": {"": (1024, 7037504)}, "DenseNet169": {"": (1664, 12642880)},
    "DenseNet201": {"": (1920, 18321984)},
    "EfficientNetB0": {"": (1280, 4049571)}, "EfficientNetB1": {"": (1280, 6575239)},
    "EfficientNetB2": {"": (1408, 7768569)}, "EfficientNetB3": {"": (1536, 10783535)},
    "EfficientNetB4": {"": (1792, 17673823)}, "EfficientNetB5": {"": (2048, 28513527)},
    "EfficientNetB6": {"": (2304, 40960143)}, "EfficientNetB7": {"": (2560, 64097687)},
    "EfficientNetV2B0": {"": (1280, 5919312)}, "EfficientNetV2B1": {"": (1280, 6931124)},
    "EfficientNetV2B2": {"": (1408, 8769374)}, "EfficientNetV2B3": {"": (1536, 12930622)},
    "EfficientNetV2L": {"": (1280, 117746848)}, "EfficientNetV2M": {"": (1280, 53150388)},
    "EfficientNetV2S": {"": (1280, 20331360)},
    "InceptionResNetV2": {"": (1536, 54336736)}, "InceptionV3": {"": (2048, 21802784)},
    "MobileNet": {"": (1024, 3228864), "alpha=0.25": (256, 218544), "alpha=0.5": (512, 829536),
                  "alpha=0.75": (768, 1832976)},
    "MobileNetV2": {"": (1280, 2257984), "alpha=0.35": (1280, 410208), "alpha=0.5": (1280, 706224),
                    "alpha=0.75": (1280, 1382064), "alpha=1.3": (1664, 3766048), "alpha=1.4": (1792, 4363712)},
    "MobileNetV3Large": {"": (960, 2996352), "alpha=0.75": (720, 1808736),
                         "alpha=0.75,minimalistic=true": (720, 865520), "minimalistic=true": (960, 1437608)},
    "MobileNetV3Small": {"": (576, 939120), "alpha=0.75": (432, 583160),
                         "alpha=0.75,minimalistic=true": (432, 273800), "minimalistic=true": (576, 441000)},
    "NASNetLarge": {"": (4032, 84916818)}, "NASNetMobile": {"": (1056, 4269716)},
    "ResNet101": {"": (2048, 42658176)}, "ResNet101V2": {"": (2048, 42626560)},
    "ResNet152": {"": (2048, 58370944)}, "ResNet152V2": {"": (2048, 58331648)},
    "ResNet50": {"": (2048, 23587712)}, "ResNet50V2": {"": (2048, 23564800)},
    "VGG16": {"": (512, 14714688)}, "VGG19": {"": (512, 20024384)}, "Xception": {"": (2048, 20861480)},
}


def _imagenet_variants(family, constructor, default_name):
    """Every `weights="imagenet"` variant of a constructor: the arguments that select it and its file name."""
    top, notop = _IMAGENET_FILES[family]
    variants = []
    for include_top, template in ((True, top), (False, notop)):
        if family in _MOBILENET_VARIANTS:
            for alpha in _MOBILENET_VARIANTS[family]["alpha"]:
                for size in _MOBILENET_VARIANTS[family]["size"]:
                    file = template.format(alpha=float(alpha), size=size, alpha_text=_MOBILENET_ALPHA_TEXT.get(alpha))
                    variants.append({"include_top": include_top, "alpha": alpha, "size": size, "file": file})
        elif family == "mobilenet_v3":
            from keras.src.applications.mobilenet_v3 import WEIGHTS_HASHES

            kind = "large" if constructor.endswith("Large") else "small"
            for variant in WEIGHTS_HASHES:  # e.g. large_minimalistic_224_1.0_float
                parts = variant.split("_")
                if parts[0] == kind:
                    variants.append({"include_top": include_top, "alpha": float(parts[-2]),
                                     "minimalistic": "minimalistic" in parts,
                                     "file": template.format(variant=variant)})
        else:
            variants.append({"include_top": include_top, "file": template.format(name=default_name)})
    return variants


def _preprocessing(family):
    """The family's `preprocess_input` as a per-channel affine map, measured on probe pixels, or None (identity:
    the model preprocesses inside itself). Every family's is one: output channel c = scale[c] * input channel
    order[c] + offset[c] (`caffe`: RGB -> BGR minus the ImageNet mean; `tf`: to [-1, 1]; `torch`: ImageNet
    mean and standard deviation)."""
    import keras
    import numpy as np

    probe = np.zeros((4, 1, 1, 3))
    for channel in range(3):
        probe[channel + 1, 0, 0, channel] = 100.0
    out = np.asarray(getattr(keras.applications, family).preprocess_input(probe.copy()), dtype="float64")[:, 0, 0, :]
    offset = out[0]
    linear = (out[1:] - offset).T / 100.0  # linear[c, k]: output channel c per unit of input channel k
    order = [int(np.argmax(np.abs(row))) for row in linear]
    scale = [float(linear[c, k]) for c, k in enumerate(order)]
    leftover = linear.copy()
    leftover[range(3), order] = 0.0
    if np.abs(leftover).max() > 1e-9 or sorted(order) != [0, 1, 2]:
        raise RuntimeError(f"keras.applications.{family}.preprocess_input is not a per-channel affine map")
    if order == [0, 1, 2] and np.allclose(scale, 1.0) and np.allclose(offset, 0.0):
        return None
    return {"order": order, "scale": [float(f"{v:.12g}") for v in scale],
            "offset": [float(f"{v:.12g}") for v in offset]}


def _applications():
    """The allow-list of backbone constructors: `keras.applications` model functions, their arguments, their
    ImageNet weight files, and the per-family preprocessing."""
    import keras

    constructors, families = {}, {}
    for name in sorted(dir(keras.applications)):
        function = getattr(keras.applications, name)
        if not (name[:1].isupper() and callable(function)):
            continue
        family = function.__module__.rsplit(".", 1)[-1]
        parameters = inspect.signature(function).parameters
        arguments = {}
        for parameter in parameters.values():
            if parameter.name in _APPLICATION_OWN:
                continue
            entry = {"type": _APPLICATION_TYPES.get(parameter.name)
                     or _argument_type(name, parameter.name, parameter.default)}
            default = _json_value(parameter.default)
            if default is not _NOT_JSON:
                entry["default"] = default
            arguments[parameter.name] = entry
        constructors[name] = {"family": family, "arguments": arguments,
                              "imagenet": _imagenet_variants(family, name, parameters["name"].default),
                              "features": {key: list(value) for key, value in _APPLICATION_FEATURES.get(name, {}).items()}}
        if family not in families:
            families[family] = _preprocessing(family)
    return {"constructors": constructors, "preprocessing": dict(sorted(families.items())),
            "imagenet_default_size": IMAGENET_DEFAULT_SIZE}


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
        "applications": _applications(),
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


def lookup_application(name):
    """The catalog entry of a `keras.applications` constructor in any spelling (`MobileNetV2`, `mobilenet_v2`),
    with its canonical name under `"name"`, or None."""
    from kspec.registry import normalize_name

    constructors = load_table()["applications"]["constructors"]
    key = normalize_name(str(name))
    canonical = next((n for n in constructors if normalize_name(n) == key), None)
    return None if canonical is None else {"name": canonical, **constructors[canonical]}


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
