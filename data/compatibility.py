"""Checks that the data fits the model that trains on it, before training starts, with one-line messages."""

from kspec.errors import SpecError


def format_shape(shape):
    """`(28, 28, 1)`, with `None` for sizes left open; a 1-tuple keeps its comma."""
    return str(tuple(None if d is None else int(d) for d in shape))


def check_model_input(info, expected_shape, *, model, input_name):
    """Raises a `SpecError` at `data` when the data's inputs do not fit a model input.

    Args:
        info: the `DataInfo` of the loaded data.
        expected_shape: the model input's shape without the batch axis; `None` sizes match anything.
        model: spec path of the model, e.g. `models.classifier`.
        input_name: the name of the model input.

    Raises:
        SpecError: e.g. `data: images have 3 channels but models.classifier input `image` expects shape
            (28, 28, 1)`.

    Example:
    >>> from kspec.data import load_arrays
    >>> info = load_arrays({"source": "digits", "args": {"limit": 10}}).info
    >>> check_model_input(info, (8, 8, 1), model="models.classifier", input_name="image")
    """
    actual, expected = tuple(info.input_shape), tuple(expected_shape)
    if _fits(actual, expected):
        return
    target = f"{model} input `{input_name}` expects shape {format_shape(expected)}"
    if len(actual) == 3 and len(expected) == 3 and info.task != "forecasting":
        if expected[2] is not None and actual[2] != expected[2]:
            channels = "channel" if actual[2] == 1 else "channels"
            raise SpecError(f"images have {actual[2]} {channels} but {target}", "data")
        raise SpecError(f"images are {actual[0]}x{actual[1]} but {target}", "data")
    raise SpecError(f"inputs have shape {format_shape(actual)} but {target}", "data")


def check_model_output(info, output_shape, *, model, output_name):
    """Raises a `SpecError` at `data` when a model output cannot be compared with the data's targets.

    Classification needs one unit per class (or one unit for two classes); segmentation needs the mask size
    and one channel per class; other targets need the output's shape. Without targets nothing is checked.

    Args:
        info: the `DataInfo` of the loaded data.
        output_shape: the model output's shape without the batch axis.
        model: spec path of the model, e.g. `models.classifier`.
        output_name: the name of the model output (its last node).

    Raises:
        SpecError: e.g. `data: labels have 10 classes but models.classifier output `probabilities` has shape (4,)`.

    Example:
    >>> from kspec.data import load_arrays
    >>> info = load_arrays({"source": "digits", "args": {"limit": 10}}).info
    >>> check_model_output(info, (10,), model="models.classifier", output_name="probabilities")
    """
    if not info.has_targets:
        return
    output = tuple(output_shape)
    where = f"{model} output `{output_name}` has shape {format_shape(output)}"
    if info.task == "classification":
        # One unit also fits two classes: a sigmoid output with binary cross-entropy.
        if len(output) == 1 and output[0] in (None, info.num_classes, 1 if info.num_classes == 2 else None):
            return
        raise SpecError(f"labels have {info.num_classes} classes but {where}", "data")
    if info.task == "segmentation":
        height, width = info.target_shape
        if _fits((height, width, info.num_classes), output):
            return
        raise SpecError(f"masks are {height}x{width} with {info.num_classes} classes but {where}; expected "
                        f"{format_shape((height, width, info.num_classes))}", "data")
    if not _fits(tuple(info.target_shape), output):
        raise SpecError(f"targets have shape {format_shape(info.target_shape)} but {where}", "data")


def check_keras_model(info, keras_model, *, model, check_output=True):
    """`check_model_input` (and `check_model_output`) for a built single-input Keras model.

    Args:
        info: the `DataInfo` of the loaded data.
        keras_model: a `keras.Model` with one input (and one output when `check_output`).
        model: its spec path, e.g. `models.classifier`.
        check_output: also compare the output with the targets.

    Example:
    >>> import keras
    >>> from kspec.data import load_arrays
    >>> info = load_arrays({"source": "digits", "args": {"limit": 10}}).info
    >>> inputs = keras.Input((8, 8, 1), name="image")
    >>> net = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    >>> check_keras_model(info, net, model="models.classifier")
    """
    if len(keras_model.inputs) != 1:
        raise ValueError(f"check_keras_model needs a model with one input; {model} has {len(keras_model.inputs)}")
    tensor = keras_model.inputs[0]
    check_model_input(info, tuple(tensor.shape[1:]), model=model, input_name=_tensor_name(tensor))
    if check_output and len(keras_model.outputs) == 1:
        output = keras_model.outputs[0]
        check_model_output(info, tuple(output.shape[1:]), model=model, output_name=_tensor_name(output))


def _tensor_name(tensor):
    # A functional tensor is named after the layer that made it (its `_keras_history` operation); an input's
    # own name is the one given to `keras.Input`.
    history = getattr(tensor, "_keras_history", None)
    operation = getattr(history, "operation", None) or (history[0] if history else None)
    return getattr(operation, "name", None) or str(getattr(tensor, "name", "input"))


def _fits(actual, expected):
    return len(actual) == len(expected) and all(e is None or a == e for a, e in zip(actual, expected))
