"""load_data: batched, prefetched tf.data splits with the documented element structure, seeded end to end."""

import numpy as np
import pytest

from kspec.data import load_arrays, load_data
from kspec.errors import SpecError

DIGITS = {"source": "digits", "args": {"limit": 100}}


def _first_batch(dataset):
    element = next(iter(dataset))
    return tuple(np.asarray(part) for part in element) if isinstance(element, tuple) else np.asarray(element)


def test_digits_classification_batches_and_info():
    splits = load_data({**DIGITS, "args": {"limit": 100, "size": 28}}, batch_size=16, seed=0)
    images, labels = _first_batch(splits.train)
    assert images.shape == (16, 28, 28, 1) and images.dtype == np.float32
    assert labels.shape == (16,) and labels.dtype == np.int32
    assert 0.0 <= images.min() and images.max() <= 1.0  # default normalize: unit
    info = splits.info
    assert (info.input_shape, info.input_dtype, info.target_shape, info.target_dtype) == ((28, 28, 1), "float32", (), "int32")
    assert (info.num_classes, info.num_train, info.num_validation, info.batch_size) == (10, 80, 20, 16)
    assert sum(int(b[0].shape[0]) for b in splits.validation) == 20
    assert splits.describe() == (
        "data `digits`: classification, 80 training / 20 validation examples, batches of 16\n"
        "  inputs:  (28, 28, 1) float32, normalize unit ((x - 0) / 16)\n"
        "  targets: () int32, 10 classes")


def test_train_pipeline_is_prefetched():
    splits = load_data(DIGITS)
    # tf.data has no public "is prefetched" query; the outermost dataset's class says which op it is.
    assert "Prefetch" in type(splits.train).__name__ and "Prefetch" in type(splits.validation).__name__


@pytest.mark.parametrize("normalize, low, high", [("unit", 0.0, 1.0), ("symmetric", -1.0, 1.0)])
def test_normalize_maps_pixels_to_the_stated_range(normalize, low, high):
    arrays = load_arrays({**DIGITS, "normalize": normalize})
    assert (arrays.train.inputs.min(), arrays.train.inputs.max()) == (low, high)


def test_standardize_uses_training_statistics():
    arrays = load_arrays({**DIGITS, "normalize": "standardize"})
    assert abs(arrays.train.inputs.mean()) < 1e-5 and abs(arrays.train.inputs.std() - 1) < 1e-4
    assert abs(arrays.validation.inputs.mean()) > 1e-4  # validation is scaled, not re-fitted


def test_same_seed_same_split_and_order_other_seed_differs():
    def first_labels(seed):
        return _first_batch(load_data(DIGITS, batch_size=100, seed=seed).train)[1]

    np.testing.assert_array_equal(first_labels(1), first_labels(1))
    assert not np.array_equal(first_labels(1), first_labels(2))


def test_training_order_changes_between_epochs_and_shuffle_false_keeps_it():
    shuffled = load_data(DIGITS, batch_size=80)
    first, second = (_first_batch(shuffled.train)[1] for _ in range(2))
    assert not np.array_equal(first, second)
    fixed = load_data({**DIGITS, "shuffle": False}, batch_size=80)
    np.testing.assert_array_equal(_first_batch(fixed.train)[1], _first_batch(fixed.train)[1])


def test_config_seed_and_batch_size_win_over_the_trainers():
    splits = load_data({**DIGITS, "batch_size": 8, "seed": 5}, batch_size=64, seed=9)
    reference = load_data(DIGITS, batch_size=8, seed=5)
    assert splits.info.batch_size == 8
    np.testing.assert_array_equal(_first_batch(splits.train)[1], _first_batch(reference.train)[1])


def test_reconstruction_elements_pair_images_with_themselves():
    images, targets = _first_batch(load_data({**DIGITS, "args": {"limit": 20, "target": "images"}}).train)
    np.testing.assert_array_equal(images, targets)


def test_generation_elements_are_inputs_alone_and_zero_split_has_no_validation():
    splits = load_data({"source": "ring", "args": {"count": 50}, "validation_split": 0}, batch_size=10)
    batch = _first_batch(splits.train)
    assert isinstance(batch, np.ndarray) and batch.shape == (10, 2)
    assert splits.validation is None and splits.info.num_validation == 0 and not splits.info.has_targets


def test_drop_remainder_keeps_only_full_batches():
    splits = load_data({**DIGITS, "drop_remainder": True}, batch_size=32)
    assert [int(b[0].shape[0]) for b in splits.train] == [32, 32]


@pytest.mark.parametrize("config, message", [
    ({"source": "digits", "args": {"limit": 3}, "validation_split": 0.1},
     "data.validation_split: 3 examples cannot be split into training and validation parts with validation_split=0.1"),
    ({**DIGITS, "batch_size": 128, "drop_remainder": True},
     "data.drop_remainder: drop_remainder would drop every batch: 80 training examples are fewer than batch_size=128"),
    ({"source": "sine_series", "args": {"length": 50}},
     "data.validation_split: a series of 50 steps split with validation_split=0.2 leaves 40 training and 10 "
     "validation steps; expected at least window + horizon = 60 training and horizon = 12 validation steps"),
    ({"source": "digits", "args": {"sise": 28}},
     "data.args.sise: source `digits` has no argument `sise` (did you mean `size`?); its arguments are "
     "`classes`, `limit`, `size`, `target`"),
])
def test_unusable_config_is_a_spec_error(config, message):
    with pytest.raises(SpecError) as caught:
        load_arrays(config)
    assert str(caught.value) == message
