"""Exporting a Keras model: a built (or trained) model -> a serving artifact that needs neither kspec nor Keras.

One public function, `export_model`; `kspec.export.run` exports a run's model through it. Every format is
written into a directory that also holds `kspec.json` (which spec, run and model the export came from) and
replaces an earlier export atomically: the new export is written into a temporary directory next to the
target and renamed into place, so a failed export never leaves a half-written directory where a good one
was, nor deletes the good one.

Formats:
    saved_model: a TensorFlow SavedModel whose serving signature takes the spec's input names and returns a
        dict keyed by the spec's output names, with a free batch dimension (Keras' `ExportArchive`).
    onnx: `model.onnx` (Keras' ONNX exporter; needs `tf2onnx` and `onnx`).
    litert: `model.tflite` (Keras' LiteRT exporter, through TensorFlow's TFLite converter).
"""

import json
import os
import shutil
import tempfile

from kspec.errors import SpecError

FORMATS = ("saved_model", "onnx", "litert")
METADATA_FILE = "kspec.json"
ARTIFACT_FILES = {"onnx": "model.onnx", "litert": "model.tflite"}
DEFAULT_SIGNATURE = "serving_default"


def export_model(model, directory, *, format="saved_model", input_names=None, output_names=None, metadata=None,
                 signature_name=DEFAULT_SIGNATURE, extra_signatures=None):
    """Exports a Keras model for serving into `directory`, replacing an earlier export atomically.

    The serving function calls the model with `training=False`, takes one tensor per model input (batch
    dimension free) and returns `{output name: tensor}`. `directory/kspec.json` holds `metadata` plus an
    `export` entry (format, signature, input and output names, Keras and TensorFlow versions).

    Args:
        model: a `keras.Model` with known inputs (a functional model built from a spec, possibly nesting other
            models; kspec's own layers such as `Sampling` export as plain TensorFlow ops).
        directory: the export directory. An existing one is replaced only if it is empty or a kspec export
            (it has a `kspec.json`).
        format: `saved_model`, `onnx` (writes `model.onnx`) or `litert` (writes `model.tflite`).
        input_names: the name of each model input, in the model's input order (default: the names of the
            model's `Input` layers, which kspec names after the spec's inputs).
        output_names: the name of each model output, in the model's output order (default: the model's
            `output_names`; pass the spec's output node names for models whose last layer is a nested model).
        metadata: a JSON-serialisable dict recorded in `kspec.json` (spec hash, kspec version, spec file,
            model name, run, ...). Its key `export` is reserved.
        signature_name: the SavedModel signature to add; `serving_default` is always there too.
        extra_signatures: more SavedModel signatures, `{name: keras.Model}`: each model takes the same inputs
            as `model` (in order, under `input_names`) and returns a dict of named outputs; called with
            `training=False`. For example the MC-dropout mean and deviation of `kspec.inspection.mc_dropout`.

    Returns:
        The export directory's path, as given.

    Raises:
        SpecError: for an unknown format, a format whose packages are not installed, a target that exists
            and is not a kspec export, or extra signatures with a format other than `saved_model`.
        ValueError: for input or output names that do not match the model, or metadata that is not JSON.

    Example:
    >>> import keras, tempfile, os
    >>> inputs = keras.Input(shape=(3,), name="x")
    >>> model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    >>> path = export_model(model, os.path.join(tempfile.mkdtemp(), "export"), metadata={"model": "demo"})
    >>> sorted(os.listdir(path))
    ['assets', 'fingerprint.pb', 'kspec.json', 'saved_model.pb', 'variables']
    """
    if format not in FORMATS:
        raise SpecError(f"expected one of {', '.join(FORMATS)}. Received: format={format!r}", path="format")
    _check_requirements(format)
    extra_signatures = dict(extra_signatures or {})
    if extra_signatures and format != "saved_model":
        raise SpecError(f"only a saved_model holds several signatures ({', '.join(extra_signatures)}). "
                        f"Received: format={format!r}", path="format")
    directory = os.fspath(directory)
    _check_replaceable(directory)
    specs = _input_specs(model, input_names)
    output_names = _output_names(model, output_names)
    record = _metadata_text(metadata, {
        "format": format,
        "signatures": _signature_names(signature_name, extra_signatures) if format == "saved_model" else [],
        "inputs": {name: {"shape": list(shape), "dtype": dtype} for name, shape, dtype in specs},
        "outputs": list(output_names),
        **_versions(),
    })

    def write(staging):
        if format == "saved_model":
            _write_saved_model(model, staging, specs, output_names, signature_name, extra_signatures)
        else:
            _write_keras_format(model, staging, format, specs, output_names)
        with open(os.path.join(staging, METADATA_FILE), "w") as file:
            file.write(record)

    _replace_atomically(directory, write)
    return directory


def _check_requirements(format):
    """Raises a one-line SpecError naming what to install when `format`'s exporter cannot run here."""
    import importlib

    if format == "onnx":
        for package in ("tf2onnx", "onnx"):
            try:
                importlib.import_module(package)
            except ImportError:
                raise SpecError(f"ONNX export needs the `tf2onnx` and `onnx` packages (`{package}` is missing): "
                                "pip install 'kspec[onnx]'", path="format") from None
    elif format == "litert":
        import tensorflow as tf

        if not hasattr(getattr(tf, "lite", None), "TFLiteConverter"):
            raise SpecError(f"LiteRT export needs TensorFlow's `tf.lite.TFLiteConverter`, which TensorFlow "
                            f"{tf.__version__} lacks: install a TensorFlow that ships it (2.18 to 2.21 do)",
                            path="format")


def _check_replaceable(directory):
    """Refuses to replace a file or a directory that kspec did not write (`kspec export -o ~` must not wipe ~)."""
    if not os.path.lexists(directory):
        return
    if not os.path.isdir(directory) or os.path.islink(directory):
        raise SpecError(f"{directory} exists and is not a directory; choose another export directory")
    if os.listdir(directory) and not os.path.isfile(os.path.join(directory, METADATA_FILE)):
        raise SpecError(f"{directory} exists and is not a kspec export (it has no {METADATA_FILE}); refusing to "
                        "replace it: choose another export directory or remove it")


def _input_specs(model, input_names):
    """Returns `[(name, shape with a free batch dimension, dtype)]`, one per model input, in model order."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(f"Cannot export model `{model.name}`: it has no known inputs. Export a functional model "
                         "(what kspec builds from a spec), or call the model once on data first.")
    names = [tensor.name for tensor in inputs] if input_names is None else list(input_names)
    if len(names) != len(inputs):
        raise ValueError(f"Invalid value for argument `input_names`: expected {len(inputs)} names, one per input "
                         f"of model `{model.name}`. Received: input_names={input_names!r}")
    _check_unique("input_names", names)
    return [(name, (None, *tuple(tensor.shape)[1:]), str(tensor.dtype)) for name, tensor in zip(names, inputs)]


def _output_names(model, output_names):
    count = len(model.outputs)
    names = list(model.output_names) if output_names is None else list(output_names)
    if len(names) != count:
        raise ValueError(f"Invalid value for argument `output_names`: expected {count} names, one per output of "
                         f"model `{model.name}`. Received: output_names={output_names!r}")
    _check_unique("output_names", names)
    return names


def _check_unique(argument, names):
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Invalid value for argument `{argument}`: expected distinct names. Received: "
                         f"{argument}={names!r} (repeated: {', '.join(duplicates)})")


def _signature_names(signature_name, extra_signatures):
    taken = sorted({DEFAULT_SIGNATURE, signature_name} & set(extra_signatures))
    if taken:
        raise ValueError(f"Invalid value for argument `extra_signatures`: expected names other than the main "
                         f"signature's. Received: {', '.join(taken)}")
    return sorted({DEFAULT_SIGNATURE, signature_name, *extra_signatures})


def _versions():
    import keras
    import tensorflow as tf

    return {"keras_version": keras.__version__, "tensorflow_version": tf.__version__}


def _metadata_text(metadata, export_record):
    """JSON text of `kspec.json`, built before the slow export so bad metadata fails fast."""
    metadata = dict(metadata or {})
    if "export" in metadata:
        raise ValueError("Invalid value for argument `metadata`: the key `export` is reserved for kspec's own "
                         f"record. Received keys: {sorted(metadata)}")
    try:
        return json.dumps({**metadata, "export": export_record}, indent=2, sort_keys=True) + "\n"
    except TypeError as error:
        raise ValueError(f"Invalid value for argument `metadata`: expected a JSON-serialisable dict. {error}") from None


def _write_saved_model(model, staging, specs, output_names, signature_name, extra_signatures):
    import keras
    import tensorflow as tf

    def serving_function(served, names=None):
        def serve(*tensors):
            outputs = served(list(tensors) if len(tensors) > 1 else tensors[0], training=False)
            return outputs if names is None else dict(zip(names, _as_list(outputs)))

        return serve

    # The `*tensors` arguments have no names of their own, so each TensorSpec's name becomes the signature's
    # input name; the None batch dimension makes the signature accept any batch size.
    signature = [tf.TensorSpec(shape, dtype, name=name) for name, shape, dtype in specs]
    archive = keras.export.ExportArchive()
    archive.track(model)  # variables and random-seed state of nested models and kspec layers alike
    archive.add_endpoint(signature_name, serving_function(model, output_names), input_signature=signature)
    for name, extra in extra_signatures.items():
        archive.track(extra)
        archive.add_endpoint(name, serving_function(extra), input_signature=signature)
    # write_out also saves the first endpoint as `serving_default` (TF Serving's default) when that is not it.
    archive.write_out(staging, verbose=False)


def _write_keras_format(model, staging, format, specs, output_names):
    import tensorflow as tf

    path = os.path.join(staging, ARTIFACT_FILES[format])
    signature = [tf.TensorSpec(shape, dtype, name=name) for name, shape, dtype in specs]
    # Keras' exporters take a model's inputs as one positional argument: a tensor, or a list of them.
    signature = [signature] if len(signature) > 1 else signature
    _named_model(model, specs, output_names).export(path, format=format, input_signature=signature, verbose=False)
    if format == "onnx":
        _check_onnx(path, model.name)


def _named_model(model, specs, output_names):
    """Wraps `model` in a functional model with inputs named `specs` and a dict of outputs by `output_names`.

    Keras' ONNX and LiteRT exporters name the artifact's inputs after the input specs and its outputs after the
    keys of a dict output (a list output would come out as `Identity:0` or `output_0`).
    """
    import keras

    inputs = [keras.Input(shape=shape[1:], dtype=dtype, name=name) for name, shape, dtype in specs]
    inputs = inputs if len(inputs) > 1 else inputs[0]
    outputs = dict(zip(output_names, _as_list(model(inputs))))
    return keras.Model(inputs, outputs, name=f"{model.name}_export")


def _check_onnx(path, model_name):
    """tf2onnx writes TensorFlow ops it cannot convert into the graph unchanged; such a file never loads."""
    import onnx

    try:
        onnx.checker.check_model(path)
    except onnx.checker.ValidationError as error:
        unknown = sorted({node.op_type for node in onnx.load(path).graph.node
                          if not _is_onnx_op(node.op_type, node.domain)})
        reason = f"TensorFlow ops with no ONNX equivalent: {', '.join(unknown)}" if unknown else _first_line(error)
        raise SpecError(f"model `{model_name}` cannot be exported to ONNX ({reason}); export it as a "
                        "saved_model, or export a model without that layer (e.g. random `sampling`)",
                        path="format") from None


def _is_onnx_op(op_type, domain):
    import onnx

    try:
        onnx.defs.get_schema(op_type, domain=domain)
    except onnx.defs.SchemaError:
        return False
    return True


def _first_line(error):
    return str(error).strip().splitlines()[0]


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _replace_atomically(directory, write):
    """Runs `write(staging)` on a fresh directory next to `directory`, then swaps it in by renames.

    The old export is renamed aside before the new one is renamed in, and deleted only after that. If anything
    fails, the staging directory is removed and the old export is back in place.
    """
    import tensorflow as tf

    target = os.path.abspath(directory)
    parent, base = os.path.split(target)
    kept = "the previous export is unchanged" if os.path.lexists(target) else "nothing was written"
    staging = None
    try:
        os.makedirs(parent, exist_ok=True)
        # In the target's own parent directory, so every rename stays on one file system and is atomic.
        staging = tempfile.mkdtemp(prefix=f".{base}.kspec-export-", dir=parent)
        # mkdtemp makes the directory private (0700); an export is for others (TF Serving, colleagues) to read.
        os.chmod(staging, 0o777 & ~_umask())
        write(staging)
        _swap_in(staging, target)
    # TensorFlow reports a full disk while writing variables as ResourceExhaustedError, not OSError.
    except (OSError, tf.errors.ResourceExhaustedError, tf.errors.PermissionDeniedError) as error:
        # TensorFlow's message is "{{function_node ...}} FILE; No space left on device [Op:SaveV2]".
        reason = getattr(error, "strerror", None) or _first_line(str(error)).rsplit("; ", 1)[-1].split(" [Op:")[0]
        raise SpecError(f"cannot write the export {target} ({reason}); {kept}. Free disk space or choose a "
                        "writable directory") from None
    finally:
        if staging is not None and os.path.lexists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging, target):
    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    parent, base = os.path.split(target)
    aside = tempfile.mkdtemp(prefix=f".{base}.kspec-old-", dir=parent)
    old = os.path.join(aside, base)
    try:
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old, target)
            raise
    except BaseException:
        if not os.path.lexists(old):  # never delete the old export if it could not be moved back
            os.rmdir(aside)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
