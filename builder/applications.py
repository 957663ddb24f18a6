"""Backbone nodes: a `keras.applications` model as one node of a spec, checked without Keras.

    - {name: backbone, application: {name: MobileNetV2, alpha: 0.35, include_top: false, pooling: avg,
                                     weights: imagenet, preprocess: true}, from: image}

The allow-list is the catalog's `applications` section (`builder/keras_catalog.json`): the model constructors of
`keras.applications`, their arguments and defaults, the file each `weights="imagenet"` variant caches, and the
family's `preprocess_input` as a per-channel affine map. The node's input comes from `from:` (any node), the
model is named after the node, and `weights:` is kspec's:

- `none` (the default, unlike Keras: nothing is read unless the spec asks): random initialization;
- `imagenet`: the file Keras would download, read from Keras' cache (`$KERAS_HOME/models/`, default
  `~/.keras/models/`) when it is there; otherwise one line naming the file, where to put it and how to get it.
  kspec never downloads: it finds the file itself and hands Keras the local path, so `get_file` is never called;
- a path to a weights file (`.weights.h5` saved by Keras 3, or a legacy `.h5`), relative to the working
  directory like data files and run directories.

`preprocess: true` puts the family's preprocessing (a `PreprocessInput` layer) in front of the backbone inside
its model, so it is saved, reloaded and exported with it; it expects pixels in [0, 255] (`normalize: none`).
"""

import difflib
import os

from kspec.builder.keras_catalog import load_table, lookup_application
from kspec.errors import Problem, SpecError, first_line

APPLICATION_OP = "application"
WEIGHT_NAMES = ("none", "imagenet")
KSPEC_KEYS = ("name", "weights", "preprocess")  # the keys of `application:` that are not constructor arguments
_SET_BY_KSPEC = {"input_shape": "comes from the node's `from:`", "input_tensor": "comes from the node's `from:`"}


def application_names():
    """The constructors a spec may name, as Keras spells them."""
    return list(load_table()["applications"]["constructors"])


def unknown_application(name):
    """The message for a name that is not a `keras.applications` constructor, with the closest ones."""
    close = difflib.get_close_matches(str(name), application_names(), n=2, cutoff=0.5)
    hint = " (did you mean " + " or ".join(f"`{c}`" for c in close) + "?)" if close else ""
    return f"unknown application `{name}`{hint}; `kspec layers --applications` lists them"


def check_application(call, where, mark, check_argument):
    """Problems of one `application:` call (its `LayerCall`), without Keras.

    Args:
        call: the node's `LayerCall` (op `application`, args as written, `name` the constructor).
        where: the node's spec path for messages; mark: its position.
        check_argument: `kspec.builder.checks.check_argument` (types are checked as for layers).

    Returns:
        A list of `Problem`s.
    """
    args = call.args
    path = call.path

    def at(key):
        return call.arg_marks.get(key, mark)

    entry = lookup_application(args.get("name"))
    if entry is None:
        return [Problem(unknown_application(args.get("name")), f"{path}.name", at("name"))]
    problems = []
    activations = load_table()["activations"]
    arguments = entry["arguments"]
    for key, value in args.items():
        if key == "name":
            continue
        if key == "weights":
            if not (value is None or isinstance(value, str)) or value == "":
                problems.append(Problem(f"expected none, imagenet or the path of a weights file. Received: "
                                        f"weights={value!r}", f"{path}.weights", at(key)))
            continue
        if key == "preprocess":
            if not isinstance(value, bool):
                problems.append(Problem(f"expected true or false. Received: preprocess={value!r}",
                                        f"{path}.preprocess", at(key)))
            continue
        if key in _SET_BY_KSPEC or key not in arguments:
            if key in _SET_BY_KSPEC:
                problems.append(Problem(f"`{key}` of `{entry['name']}` {_SET_BY_KSPEC[key]}; remove it",
                                        f"{path}.{key}", at(key)))
                continue
            close = difflib.get_close_matches(str(key), [*arguments, *KSPEC_KEYS], n=1)
            hint = (f" (did you mean '{close[0]}'?)" if close else
                    "; it takes " + ", ".join(f"`{a}`" for a in [*KSPEC_KEYS, *arguments]))
            problems.append(Problem(f"`{entry['name']}` has no argument `{key}`{hint}", f"{path}.{key}", at(key)))
            continue
        expected = check_argument(arguments[key]["type"], value, activations)
        if expected:
            shown = "null" if value is None else repr(value) if isinstance(value, str) else str(value).lower()
            problems.append(Problem(f"expected {expected}. Received: {key}={shown}", f"{path}.{key}", at(key)))
    if problems:
        return problems
    if weights_choice(args) == "imagenet":
        problems += _check_imagenet(entry, args, path, at)
    return problems


def weights_choice(args):
    """`none`, `imagenet` or `file` for the `weights:` of an application call."""
    weights = args.get("weights")
    if weights is None or str(weights).lower() == "none":
        return "none"
    return "imagenet" if str(weights).lower() == "imagenet" else "file"


def effective_arguments(entry, args):
    """The constructor's arguments with Keras' defaults filled in (kspec's own keys removed)."""
    values = {key: spec.get("default") for key, spec in entry["arguments"].items()}
    values.update({key: value for key, value in args.items() if key not in KSPEC_KEYS})
    return values


def _check_imagenet(entry, args, path, at):
    values = effective_arguments(entry, args)
    if values.get("include_top") and values.get("classes") != 1000:
        return [Problem(f"`weights: imagenet` with `include_top: true` needs `classes: 1000` (the ImageNet "
                        f"classifier). Received: classes={values.get('classes')}; set `include_top: false` and add "
                        "your own head", f"{path}.classes", at("classes"))]
    matching = _variants(entry, values)
    if matching:
        return []
    selectors = [key for key in ("alpha", "minimalistic") if any(key in v for v in entry["imagenet"])]
    offered = sorted({tuple(v[k] for k in selectors) for v in entry["imagenet"]
                      if v["include_top"] == bool(values.get("include_top"))})
    shown = ", ".join("(" + ", ".join(f"{k}={_yaml(v)}" for k, v in zip(selectors, choice)) + ")" for choice in offered)
    given = ", ".join(f"{k}={_yaml(values.get(k))}" for k in selectors)
    key = selectors[0] if selectors else "weights"
    return [Problem(f"Keras has no ImageNet weights of `{entry['name']}` for {given}; it has them for {shown}",
                    f"{path}.{key}", at(key))]


def _yaml(value):
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _variants(entry, values):
    """The ImageNet variants matching the arguments other than the input size."""
    found = []
    for variant in entry["imagenet"]:
        if variant["include_top"] != bool(values.get("include_top")):
            continue
        if "alpha" in variant and float(values.get("alpha", 1.0)) != variant["alpha"]:
            continue
        if "minimalistic" in variant and bool(values.get("minimalistic")) != variant["minimalistic"]:
            continue
        found.append(variant)
    return found


def imagenet_file(entry, args, input_shape):
    """The file name Keras caches the ImageNet weights of this call under, for an input of `input_shape`.

    MobileNets have one file per input size; without the top, an input size without its own file takes the
    224 one (as Keras does).

    Returns:
        `(file name, None)`, or `(None, what is wrong)`.
    """
    values = effective_arguments(entry, args)
    variants = _variants(entry, values)
    if not variants:
        return None, f"Keras has no ImageNet weights of `{entry['name']}` for these arguments"
    sizes = {v["size"] for v in variants if "size" in v}
    if not sizes:
        return variants[0]["file"], None
    rows, cols = (tuple(input_shape[:2]) + (None, None))[:2]
    size = rows if rows == cols and rows in sizes else None
    if size is None:
        if values.get("include_top"):
            return None, (f"Keras has ImageNet weights of `{entry['name']}` with its top only for square inputs of "
                          f"{', '.join(map(str, sorted(sizes)))} pixels. Received: input shape {tuple(input_shape)}")
        size = load_table()["applications"]["imagenet_default_size"]
    return next(v["file"] for v in variants if v["size"] == size), None


def keras_cache_directories():
    """Where Keras' `get_file` keeps downloads under `models/`, in the order it would use them: `$KERAS_HOME`
    (default `~/.keras`), then `/tmp/.keras` (its fallback when the first is not writable)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return [os.path.join(home, "models"), os.path.join("/tmp", ".keras", "models")]


def constructor_call_text(entry, args, input_shape):
    """The Python line that makes Keras download this variant's weights, for the error message."""
    shown = {k: v for k, v in args.items() if k not in KSPEC_KEYS}
    parts = [f"{k}={v!r}" for k, v in shown.items()] + [f"input_shape={tuple(input_shape)!r}", "weights='imagenet'"]
    return f"keras.applications.{entry['name']}({', '.join(parts)})"


def weights_path(call, input_shape, where, mark):
    """The local file to load into an application node, or None for `weights: none`. Reads no file.

    Args:
        call: the node's `LayerCall`.
        input_shape: the node's input shape without the batch axis.
        where: the node's spec path; mark: its position, for errors.

    Raises:
        SpecError: the ImageNet file is not in Keras' cache, or the weights file does not exist.
    """
    choice = weights_choice(call.args)
    if choice == "none":
        return None
    mark = call.arg_marks.get("weights", mark)
    entry = lookup_application(call.args["name"])
    if choice == "file":
        path = os.path.expanduser(call.args["weights"])
        if not os.path.isfile(path):
            problem = "is not a regular file" if os.path.exists(path) else "does not exist"
            raise SpecError(f"weights file {path} {problem} (paths are relative to the working directory "
                            f"{os.getcwd()}); give the path of a .weights.h5 file saved from `{entry['name']}` with "
                            "the same arguments, or `weights: none`", f"{call.path}.weights", mark)
        return path
    file, problem = imagenet_file(entry, call.args, input_shape)
    if file is None:
        raise SpecError(problem, f"{call.path}.weights", mark)
    for directory in keras_cache_directories():
        candidate = os.path.join(directory, file)
        if os.path.isfile(candidate):
            return candidate
    raise SpecError(
        f"the ImageNet weights of `{entry['name']}` are not in Keras' cache: expected {file} in "
        f"{keras_cache_directories()[0]} ($KERAS_HOME/models); kspec never downloads: on a machine with internet, "
        f"run `python -c \"import keras; {constructor_call_text(entry, call.args, input_shape)}\"` and copy "
        f"~/.keras/models/{file} there, or use `weights: none` or a weights file",
        f"{call.path}.weights", mark)


def build_application(call, node, input_shape, keras):
    """The Keras model of an `application:` node, with its weights loaded, and its preprocessing layer.

    Args:
        call: the node's `LayerCall`; node: the `Node` (named after it, for errors).
        input_shape: the shape the node receives, without the batch axis.
        keras: the `keras` module.

    Returns:
        `(preprocessing layer or None, backbone keras.Model named after the node)`.

    Raises:
        SpecError: weights missing or not fitting, or Keras refusing the arguments or the input shape.
    """
    entry = lookup_application(call.args["name"])
    path = weights_path(call, input_shape, node.where(), node.mark)
    arguments = {key: value for key, value in call.args.items() if key not in KSPEC_KEYS}
    try:
        backbone = getattr(keras.applications, entry["name"])(weights=None, input_shape=tuple(input_shape),
                                                               name=node.name, **arguments)
    except (ValueError, TypeError) as error:
        raise SpecError(f"`{entry['name']}` rejects its arguments or its input shape {tuple(input_shape)}: "
                        f"{first_line(error)}", node.where(), node.mark) from None
    if path is not None:
        _load_weights(backbone, path, entry, call, node, input_shape)
    preprocessing = None
    if call.args.get("preprocess"):
        numbers = load_table()["applications"]["preprocessing"][entry["family"]]
        if numbers is not None:  # None: the family preprocesses inside its model (EfficientNet, ConvNeXt, ...)
            from kspec.layers import PreprocessInput

            preprocessing = PreprocessInput(**numbers, name=f"{node.name}_preprocess")
    return preprocessing, backbone


def _load_weights(backbone, path, entry, call, node, input_shape):
    import warnings

    # Keras loads what fits and only warns about layers it skipped: a partial load is a wrong file here.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            backbone.load_weights(path)
            problem = next((str(w.message) for w in caught if "Skipping" in str(w.message)
                            or "retain their" in str(w.message)), None)
        except (ValueError, KeyError, OSError) as error:
            problem = first_line(error)
    if problem is not None:
        raise SpecError(f"weights file {path} does not fit `{entry['name']}` with these arguments and input shape "
                        f"{tuple(input_shape)} ({problem.splitlines()[0]}); give weights saved from the same "
                        "architecture", f"{call.path}.weights", call.arg_marks.get("weights", node.mark))

