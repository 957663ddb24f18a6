"""New inputs for a trained supervised run, read and scaled exactly as its training data was.

`--input PATH` may be:
- a `.npz` file: raw examples, as the run's data source produced them before normalization, in the array
  `x` (the spec's `x_key` for runs trained on npz data; or the file's only array), shaped
  `(n, *input_shape)`; grayscale `(n, height, width)` also fits `(height, width, 1)` inputs.
- a `.csv` file with a header row: for forecasting runs a time series with the columns the run was trained
  on, cut into every window of `window` rows (stride as in training), each labelled by its rows; for runs on
  feature vectors one example per row.
- a directory of image files (below it, in sorted order): decoded and resized as the `image_directory`
  source does, in the color mode the run's inputs have. Pixel values 0..255 are mapped onto the raw value
  range of the run's training data when that came from another source (0..16 for `digits`).

Every input is then normalized with the run's stored normalization (`RUN/data.json`).
"""

import os
from dataclasses import dataclass

import numpy as np

from kspec.data.arguments import SourceArguments
from kspec.data.compatibility import format_shape
from kspec.errors import Mark, SpecError


@dataclass
class Inputs:
    """Examples ready for the model.

    Attributes:
        raw: the examples as read, before normalization (what a picture of them shows).
        normalized: the examples as the model takes them.
        names: one label per example: its index, file or rows.
        path: where they came from.
    """

    raw: np.ndarray
    normalized: np.ndarray
    names: list
    path: str


def read_inputs(path, facts, data_config):
    """Reads `path` (npz, csv or image directory) into `Inputs` for a run with these data facts.

    Args:
        path: the file or directory.
        facts: the run's `kspec.training.data_facts.DataFacts`.
        data_config: the run spec's `data:` mapping (column names, window, image size, npz keys).

    Raises:
        SpecError: naming the file, for unreadable input or examples of another shape than the run's.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raw, names = _read_images(path, facts, data_config)
    elif not os.path.isfile(path):
        raise _error(path, "expected a .npz file, a .csv file or a directory of images. Received: no such file "
                           "or directory")
    elif path.lower().endswith(".npz"):
        raw, names = _read_npz(path, facts, data_config)
    elif path.lower().endswith(".csv"):
        raw, names = _read_csv(path, facts, data_config)
    else:
        raise _error(path, "expected a .npz file, a .csv file or a directory of images. Received: a file ending "
                           f"in {os.path.splitext(path)[1] or 'no extension'}")
    if len(raw) == 0:
        raise _error(path, "expected at least one example. Received: none")
    return Inputs(raw, facts.normalization.apply(raw), names, path)


def _error(path, message):
    return SpecError(message, path="--input", mark=Mark(path))


def _read_with(source, options, path):
    """Runs a data source on `options`; its problems come back as one line naming the input."""
    try:
        return source(SourceArguments(options, source=source.__name__, path="--input"))
    except SpecError as error:
        raise _error(path, error.problems[0].message) from None


def _check_shape(path, array, facts, what):
    expected = tuple(facts.input_shape)
    if tuple(array.shape[1:]) != expected:
        raise _error(path, f"expected examples of shape {format_shape(expected)}, the run's inputs. Received: "
                           f"{what} of shape {format_shape(array.shape)}")
    return array


def _read_npz(path, facts, data_config):
    args = dict(data_config.get("args") or {})
    key = args.get("x_key", "x") if data_config.get("source") == "npz" else "x"
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise _error(path, f"expected a .npz file written by numpy.savez. Received: {error}") from None
    with archive:
        keys = sorted(archive.files)
        if key not in keys and len(keys) == 1:
            key = keys[0]
        if key not in keys:
            raise _error(path, f"expected an array named {key!r}. Received: arrays {', '.join(map(repr, keys))}")
        array = archive[key]
    if not np.issubdtype(array.dtype, np.number):
        raise _error(path, f"expected a numeric array. Received: {key} of dtype {array.dtype}")
    if array.ndim == 3 and len(facts.input_shape) == 3 and facts.input_shape[-1] == 1 \
            and array.shape[1:] == tuple(facts.input_shape[:2]):
        array = array[..., None]  # grayscale images without their channel axis
    array = _check_shape(path, array.astype("float32"), facts, key)
    return array, [str(i) for i in range(len(array))]


def _read_csv(path, facts, data_config):
    from kspec.data.csv_series import csv_series

    args = dict(data_config.get("args") or {})
    forecasting = facts.task == "forecasting"
    if not forecasting and len(facts.input_shape) != 1:
        raise _error(path, f"expected images (a directory) or a .npz file for inputs of shape "
                           f"{format_shape(facts.input_shape)}; CSV holds time series or feature vectors")
    # Read by the `csv` source itself, with the columns and separator the run was trained on when it used one.
    options = {"path": path, "window": 1, "horizon": 1}
    if data_config.get("source") == "csv":
        options.update({key: args[key] for key in ("columns", "delimiter") if key in args})
    values = _read_with(csv_series, options, path).values
    if not forecasting:
        return _check_shape(path, values, facts, "rows"), [f"line {line}" for line in range(2, len(values) + 2)]
    window, features = facts.input_shape
    if values.shape[1] != features:
        raise _error(path, f"expected {features} column{'s' if features != 1 else ''} per time step, the run's "
                           f"inputs. Received: {values.shape[1]}")
    stride = int(args.get("stride", 1))
    if len(values) < window:
        raise _error(path, f"expected at least window = {window} rows of values. Received: {len(values)}")
    starts = range(0, len(values) - window + 1, stride)
    windows = np.stack([values[s:s + window] for s in starts])
    # Line numbers of the file: the header is line 1, the first value line 2.
    return windows, [f"lines {s + 2}-{s + window + 1}" for s in starts]


def _read_images(path, facts, data_config):
    from kspec.data.image_directory import _image_files, image_directory

    shape = tuple(facts.input_shape)
    if len(shape) != 3 or shape[-1] not in (1, 3, 4):
        raise _error(path, f"expected a .npz or .csv file for inputs of shape {format_shape(shape)}; a directory "
                           "holds images")
    names = _image_files(path)
    if not names:
        raise _error(path, "expected image files (.bmp, .gif, .jpeg, .jpg, .png) below the directory. Received: none")
    color_mode = {1: "grayscale", 3: "rgb", 4: "rgba"}[shape[-1]]
    args = {"path": path, "size": list(shape[:2]), "color_mode": color_mode, "target": "none"}
    images = _read_with(image_directory, args, path).inputs
    if data_config.get("source") != "image_directory":
        images = _onto_raw_range(images, facts, path)
    return _check_shape(path, images, facts, "images"), names


def _onto_raw_range(pixels, facts, path):
    """Pixel values 0..255 onto the raw range of the run's data, known from a `unit` or `symmetric` scaling."""
    norm = facts.normalization
    if norm.method not in ("unit", "symmetric") or len(norm.offset) != 1:
        raise _error(path, f"cannot map image files onto the value range of the run's `{facts.source}` data "
                           f"(normalize: {norm.method}); give the examples as raw arrays in a .npz file")
    low, high = (norm.offset[0], norm.offset[0] + norm.scale[0]) if norm.method == "unit" else \
        (norm.offset[0] - norm.scale[0], norm.offset[0] + norm.scale[0])
    return (low + pixels / np.float32(255.0) * np.float32(high - low)).astype("float32")
