"""Keras datasets load only from the Keras cache (KERAS_HOME); a missing file is a SpecError, never a download."""

import gzip
import os
import pickle

import numpy as np
import pytest

from kspec.data import load_arrays
from kspec.errors import SpecError


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name, missing", [
    ("mnist", "datasets/mnist.npz"),
    ("fashion_mnist", "datasets/fashion-mnist/train-images-idx3-ubyte.gz"),
    ("cifar10", "datasets/cifar-10-batches-py-target/cifar-10-batches-py/data_batch_1"),
])
def test_missing_file_names_it_and_where_to_put_it(keras_home, name, missing):
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": name})
    expected_path = os.path.join(keras_home, missing)
    assert str(caught.value) == (
        f"data.source: Keras dataset `{name}` is not in the Keras cache and kspec never downloads: expected the "
        f"file {expected_path}. Copy it there from a machine where `keras.datasets.{name}.load_data()` has run "
        f"(it leaves it in ~/.keras/{missing}), or set KERAS_HOME to the folder that holds {missing}")
    assert os.listdir(keras_home) == []  # nothing fetched, not even a folder made


def test_cached_mnist_is_read_as_nhwc_images(keras_home):
    os.makedirs(keras_home / "datasets")
    rng = np.random.default_rng(0)
    np.savez(keras_home / "datasets" / "mnist.npz",
             x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), y_train=np.arange(6, dtype=np.uint8),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.array([7, 8], np.uint8))
    arrays = load_arrays({"source": "mnist", "args": {"subset": "all", "size": 14}, "validation_split": 0,
                          "shuffle": False})
    assert arrays.info.input_shape == (14, 14, 1) and arrays.info.num_classes == 10
    np.testing.assert_array_equal(arrays.train.targets, [0, 1, 2, 3, 4, 5, 7, 8])
    assert 0.0 <= arrays.train.inputs.min() and arrays.train.inputs.max() <= 1.0


def test_cached_fashion_mnist_idx_files_are_parsed(keras_home):
    folder = keras_home / "datasets" / "fashion-mnist"
    os.makedirs(folder)
    for prefix, count in (("train", 3), ("t10k", 1)):
        images = np.full((count, 28, 28), 255, np.uint8)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as handle:
            handle.write(bytes(16) + images.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as handle:
            handle.write(bytes(8) + np.arange(count, dtype=np.uint8).tobytes())
    arrays = load_arrays({"source": "fashion_mnist", "validation_split": 0, "shuffle": False})
    assert arrays.train.inputs.shape == (3, 28, 28, 1) and arrays.train.inputs.min() == 1.0
    assert arrays.info.class_names[0] == "T-shirt/top"


def test_cached_cifar10_batches_are_read_as_rgb(keras_home):
    folder = keras_home / "datasets" / "cifar-10-batches-py"  # the older Keras layout is found too
    os.makedirs(folder)
    pixels = np.zeros((2, 3, 32, 32), np.uint8)
    pixels[:, 0] = 255  # red plane
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as handle:
            pickle.dump({b"data": pixels.reshape(2, -1), b"labels": [3, 4]}, handle)
    arrays = load_arrays({"source": "cifar10", "args": {"limit": 4}, "validation_split": 0, "shuffle": False})
    assert arrays.train.inputs.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(arrays.train.inputs[0, 0, 0], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(arrays.train.targets, [3, 4, 3, 4])


def test_cifar_batch_that_would_run_code_is_refused(keras_home):
    folder = keras_home / "datasets" / "cifar-10-batches-py"
    os.makedirs(folder)
    with open(folder / "data_batch_1", "wb") as handle:
        pickle.dump({b"data": os.getcwd}, handle)
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "cifar10"})
    path = folder / "data_batch_1"
    assert str(caught.value) == (
        f"data.source: cannot read Keras dataset `cifar10`: {path} is not a CIFAR-10 batch (refusing to load "
        f"posix.getcwd from a CIFAR batch file). The cached file {path} is damaged: delete it and copy it again "
        "from a machine where `keras.datasets.cifar10.load_data()` has run")
