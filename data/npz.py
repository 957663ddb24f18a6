"""`npz`: the user's own arrays from a NumPy `.npz` file."""

from kspec.data.lazy_numpy import np

from kspec.data.arguments import show
from kspec.data.domains import Domains
from kspec.data.examples import Examples
from kspec.data.files import read_npz
from kspec.data.images import as_nhwc
from kspec.registry import DATA_SOURCES

TASKS = ("classification", "segmentation", "regression", "reconstruction", "generation", "translation")


@DATA_SOURCES.register("npz")
def npz(args):
    """Inputs and targets stored as two arrays of one `.npz` file (`numpy.savez(path, x=..., y=...)`).

    Args (under `data.args`):
        path: the `.npz` file.
        x_key: name of the inputs array (default `x`); its first axis counts examples.
        y_key: name of the targets array (default `y`); `null` for unlabelled data.
        task: `classification` (integer labels, shape `(n,)`), `segmentation` (integer masks `(n, h, w)`),
            `regression`, `reconstruction` (targets are the inputs; `y_key` unused) or `generation` (no
            targets). Default: `generation` when `y_key` is null, else guessed from `y` (integer labels ->
            classification, integer masks as large as the images -> segmentation, otherwise regression).
            `translation`: paired image-to-image data (pix2pix), `x_key` the input images (domain A, default
            `inputs`) and `y_key` their translations (domain B, default `targets`), both `(n, h, w, c)`.
        num_classes: classes for classification and segmentation (default: largest label + 1).
        value_range: raw `[low, high]` of the inputs for `unit`/`symmetric` scaling (default `[0, 255]` for
            uint8 inputs, else the training inputs' min and max).
        add_channel_axis: turn `(n, h, w)` grayscale images into `(n, h, w, 1)` (default false).

    Example:
    >>> import numpy as np, os, tempfile
    >>> from kspec.data.arguments import SourceArguments
    >>> path = os.path.join(tempfile.mkdtemp(), "data.npz")
    >>> np.savez(path, x=np.zeros((4, 3)), y=np.array([0, 1, 1, 0]))
    >>> examples = npz(SourceArguments({"path": path}, source="npz"))
    >>> examples.task, examples.num_classes
    ('classification', 2)
    """
    path = args.existing_file("path", what="a .npz file")
    task = args.choice("task", TASKS, default=None)
    translation = task == "translation"
    x_key = args.string("x_key", default="inputs" if translation else "x")
    y_key = args.string("y_key", default="targets" if translation else "y", nullable=not translation)
    num_classes = args.integer("num_classes", default=None, minimum=1)
    value_range = args.numbers("value_range", default=None, length=2)
    add_channel_axis = args.boolean("add_channel_axis", default=False)
    args.finish()

    if task is None and y_key is None:
        task = "generation"
    wanted = [(x_key, "x_key")] + ([(y_key, "y_key")] if task not in ("reconstruction", "generation") else [])
    arrays, keys = read_npz(path, [key for key, _ in wanted], lambda message: args.error("path", message))
    for key, argument in wanted:
        if key not in arrays:
            hint = "; set `y_key: null` for unlabelled data" if argument == "y_key" else ""
            raise args.error(argument, f"expected an array named {show(key)} in {path}, which holds "
                                       f"{', '.join(show(k) for k in keys) or 'no arrays'}{hint}")
    inputs = arrays[x_key]
    targets = arrays[y_key] if len(wanted) == 2 else None

    if inputs.ndim < 2:
        raise args.error("x_key", f"expected inputs with a first axis of examples and at least one more. "
                                  f"Received: {x_key} of shape {inputs.shape}")
    if add_channel_axis:
        inputs = as_nhwc(inputs) if inputs.ndim == 3 else inputs
    if value_range is None and inputs.dtype == np.uint8:
        value_range = (0.0, 255.0)
    if targets is not None and len(targets) != len(inputs):
        raise args.error("y_key", f"expected as many targets as inputs: {x_key} has {len(inputs)} examples "
                                  f"but {y_key} has {len(targets)}")
    if translation:
        return _image_pairs(args, inputs, targets, x_key, y_key, add_channel_axis, value_range)
    if task is None:
        task = _guess_task(inputs, targets)
    if task in ("classification", "segmentation"):
        targets = _class_ids(args, targets, y_key, task, inputs)
        num_classes = num_classes or int(targets.max()) + 1
    elif task == "regression":
        targets = targets.astype("float32")
    inputs = inputs.astype("float32")
    if task == "reconstruction":
        targets = inputs
    return Examples(inputs, targets, task, num_classes if task in ("classification", "segmentation") else None,
                    value_range, default_normalize="none" if value_range is None else "unit")


def _image_pairs(args, inputs, targets, x_key, y_key, add_channel_axis, value_range):
    """Paired images for `task: translation`: inputs are domain A, targets their translations in domain B."""
    if add_channel_axis and targets.ndim == 3:
        targets = as_nhwc(targets)
    for key, argument, images in ((x_key, "x_key", inputs), (y_key, "y_key", targets)):
        if images.ndim != 4:
            hint = "; set `add_channel_axis: true` for grayscale (n, h, w)" if images.ndim == 3 else ""
            raise args.error(argument, f"expected images of shape (n, height, width, channels) for translation. "
                                       f"Received: {key} of shape {images.shape}{hint}")
    return Domains(inputs.astype("float32"), targets.astype("float32"), paired=True, value_range=value_range,
                   default_normalize="none" if value_range is None else "unit")


def _integral(array):
    return np.issubdtype(array.dtype, np.integer) or (
        np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0))


def _guess_task(inputs, targets):
    if _integral(targets) and targets.ndim == 1:
        return "classification"
    if _integral(targets) and targets.ndim >= 3 and targets.shape[1:3] == inputs.shape[1:3]:
        return "segmentation"
    return "regression"


def _class_ids(args, targets, y_key, task, inputs):
    """Integer labels `(n,)` or masks `(n, h, w)` as int32, checked."""
    if task == "classification" and targets.ndim == 2 and targets.shape[1] == 1:
        targets = targets[:, 0]
    if task == "segmentation" and targets.ndim == 4 and targets.shape[3] == 1:
        targets = targets[..., 0]
    if task == "classification" and targets.ndim != 1:
        raise args.error("y_key", f"expected integer class labels of shape (n,). Received: {y_key} of shape "
                                  f"{targets.shape}")
    if task == "segmentation" and (targets.ndim != 3 or targets.shape[1:3] != inputs.shape[1:3]):
        raise args.error("y_key", f"expected integer masks of shape (n, {inputs.shape[1]}, {inputs.shape[2]}) "
                                  f"like the images. Received: {y_key} of shape {targets.shape}")
    if not _integral(targets) or (targets.size and targets.min() < 0):
        raise args.error("y_key", f"expected non-negative integer class ids in {y_key}. Received: values from "
                                  f"{targets.min()} to {targets.max()} of dtype {targets.dtype}")
    return targets.astype("int32")
