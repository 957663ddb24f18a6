"""Helpers shared by kspec's tests (tests/ is on pytest's pythonpath: `from support import run_cli`)."""

import os
import time

import numpy as np
from click.testing import CliRunner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS_DIR = os.path.join(REPO, "specs")
SPEC_FILES = sorted(f for f in os.listdir(SPECS_DIR) if f.endswith(".yaml"))
# Overrides that let a shipped spec build on its own: one that initializes from an earlier run starts from
# random weights instead (tests do not make the run).
BUILD_OVERRIDES = {"transfer_digits.yaml": ["models.encoder.init_from=null"],
                   "transfer_cnn.yaml": ["models.classifier.init_from=null"]}


def wait_until(condition, timeout, what, interval=0.02):
    """Polls `condition()` until it is true and returns its value; fails the test after `timeout` seconds.

    Tests wait on what they need (a file, a line of output, a process state), never for a fixed time, so a
    slow moment of a shared machine makes them slower, not wrong.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def run_cli(*args):
    """Runs the `kspec` CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    from kspec.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def random_inputs(model, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(size=(batch, *tuple(t.shape)[1:])).astype("float32") for t in model.inputs]
    return arrays if len(arrays) > 1 else arrays[0]


def assert_model_roundtrip(model, directory):
    """Calls `model`, saves it as .keras, reloads it (kspec imported), and checks equal outputs."""
    import keras

    from kspec.builder.save import save_model_atomic

    inputs = random_inputs(model)
    path = save_model_atomic(model, os.path.join(directory, f"{model.name}.keras"))
    reloaded = keras.saving.load_model(path)
    # First calls of both: a seeded random layer (Sampling) then draws the same noise in each.
    expected = model(inputs, training=False)
    actual = reloaded(inputs, training=False)
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    actual = actual if isinstance(actual, (list, tuple)) else [actual]
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    return reloaded


class ArrayLike:
    """Not an ndarray, but numpy reads it as one (a framework's tensor, say)."""

    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return self.array
