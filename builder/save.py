"""Saving built models in the Keras format, atomically: a failed save never replaces a good file."""

import os
import tempfile

from kspec.atomic import publish
from kspec.errors import SpecError


WEIGHTS_SUFFIX = ".weights.h5"


def save_model_atomic(model, path):
    """Saves `model` to `path` through a temporary file in the same directory and `os.replace`.

    A `.keras` path gets the whole model; a `.weights.h5` path only its weights and optimizer state (for
    trainer models such as `VAE`, which are rebuilt from the spec rather than deserialized).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    weights_only = path.endswith(WEIGHTS_SUFFIX)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=WEIGHTS_SUFFIX if weights_only else ".keras",
                                         dir=directory)
    os.close(handle)
    try:
        if weights_only:
            os.remove(temporary)  # h5py refuses to open the empty placeholder as HDF5
            model.save_weights(temporary)
        else:
            model.save(temporary)
        publish(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def save_models(models, output, model_name=None):
    """Saves one model to a `.keras` file, or every model into a directory as `<name>.keras`.

    Returns:
        The paths written.
    """
    if model_name is not None:
        if model_name not in models:
            raise SpecError(f"no model `{model_name}` in the spec; it has: {', '.join(models)}", path="--model")
        models = {model_name: models[model_name]}
    if output.endswith(".keras"):
        if len(models) > 1:
            raise SpecError(
                f"the spec has {len(models)} models ({', '.join(models)}); pick one with --model NAME "
                "or give a directory to -o to save them all",
                path="-o",
            )
        return [save_model_atomic(next(iter(models.values())), output)]
    return [save_model_atomic(model, os.path.join(output, f"{name}.keras")) for name, model in models.items()]
