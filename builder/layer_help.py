"""`kspec layers [NAME]`: the layers a spec can use, or one layer's arguments, read from the committed catalog.

Reads `keras_catalog.json` only, so it answers at once, without importing Keras or TensorFlow.

Example:
>>> print(describe_layer("dropout").splitlines()[0])
dropout: keras.layers.Dropout
"""

import difflib
import json

from kspec.builder.checks import _ENUMS, _OR_NULL, _TYPES  # the words `kspec validate` uses for each type
from kspec.builder.keras_catalog import layer_names, load_table, lookup_layer
from kspec.errors import SpecError


def _class_path(entry):
    return f"{entry['module']}.{entry['class']}"


def list_layers():
    """One line per layer: its spec name, its class, and the arguments it needs."""
    entries = sorted(load_table()["layers"].values(), key=lambda entry: entry["name"])
    width = max(len(entry["name"]) for entry in entries) + 2
    lines = []
    for entry in entries:
        required = [name for name, argument in entry["arguments"].items() if argument.get("required")]
        needs = f"  needs {', '.join(required)}" if required else ""
        lines.append(f"{entry['name']:<{width}}{_class_path(entry)}{needs}")
    lines.append(f"{len(entries)} layers; `kspec layers NAME` shows one layer's arguments")
    return "\n".join(lines)


def type_words(arg_type):
    """What an argument type accepts, in the words of `kspec validate`'s messages."""
    if arg_type.endswith(_OR_NULL) and arg_type not in _TYPES:
        return type_words(arg_type[:-len(_OR_NULL)]) + " or null"
    if arg_type in _ENUMS:
        return "one of " + ", ".join("null" if value is None else value for value in _ENUMS[arg_type])
    if arg_type == "activation":
        return "an activation name (see `kspec layers --activations`)"
    return _TYPES.get(arg_type, _TYPES["any"])[1]


def _show_default(value):
    return json.dumps(value)


def describe_layer(name):
    """A layer's class and its arguments with types and defaults; `SpecError` for an unknown name.

    Args:
        name: a layer name in any spelling (`conv2d`, `Conv2D`, `MaxPool2D`).

    Returns:
        Text: the first line names the class, then one line per argument.
    """
    entry = lookup_layer(name)
    if entry is None:
        close = difflib.get_close_matches(name.lower(), layer_names(), n=3, cutoff=0.6)
        hint = " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)" if close else ""
        raise SpecError(f"unknown layer `{name}`{hint}; `kspec layers` lists them all", path="NAME")
    rows = []
    for argument, spec in entry["arguments"].items():
        if spec.get("required"):
            status = "required"
        elif "default" in spec:
            status = f"default {_show_default(spec['default'])}"
        else:
            status = "optional"
        rows.append((argument, type_words(spec["type"]), status))
    width = max([len(row[0]) for row in rows], default=0) + 2
    type_width = max([len(row[1]) for row in rows], default=0) + 2
    lines = [f"{entry['name']}: {_class_path(entry)}"]
    lines += [f"  {argument:<{width}}{words:<{type_width}}{status}".rstrip() for argument, words, status in rows]
    if entry.get("inputs") == "positional":
        lines.append("  takes several inputs as separate arguments: list them in order in `from:`")
    return "\n".join(lines)


def list_activations():
    """The activation names an `activation:` argument accepts."""
    return "\n".join(load_table()["activations"])


def list_applications():
    """One line per `keras.applications` constructor an `application:` node can name: its family (whose
    `preprocess: true` preprocessing applies) and its arguments with their defaults."""
    constructors = load_table()["applications"]["constructors"]
    width = max(len(name) for name in constructors) + 2
    lines = []
    for name, entry in constructors.items():
        arguments = ", ".join(f"{key}={_show_default(spec['default'])}" if "default" in spec else key
                              for key, spec in entry["arguments"].items())
        lines.append(f"{name:<{width}}{entry['family']:<22}{arguments}")
    lines.append(f"{len(constructors)} applications; a node takes them as `application: {{name: NAME, ...}}` with "
                 "`weights: none | imagenet | PATH` and `preprocess: true|false`")
    return "\n".join(lines)
