"""`digits`: scikit-learn's bundled digits as NHWC images, optionally resized, with the chosen targets."""

import numpy as np
import pytest

from kspec.data.arguments import SourceArguments
from kspec.data.digits import digits


def _digits(**args):
    return digits(SourceArguments(args, source="digits"))


def test_raw_digits_are_8x8x1_float32_in_0_16_with_int_labels():
    examples = _digits()
    assert examples.inputs.shape == (1797, 8, 8, 1) and examples.inputs.dtype == np.float32
    assert examples.inputs.min() == 0 and examples.inputs.max() == 16
    assert examples.targets.dtype == np.int32 and set(np.unique(examples.targets)) == set(range(10))
    assert (examples.task, examples.num_classes, examples.value_range) == ("classification", 10, (0.0, 16.0))


def test_resize_to_28_keeps_the_value_range():
    examples = _digits(size=28, limit=20)
    assert examples.inputs.shape == (20, 28, 28, 1)
    assert examples.inputs.min() >= 0 and examples.inputs.max() <= 16 and examples.inputs.max() > 8


@pytest.mark.parametrize("target, task, has_targets", [
    ("images", "reconstruction", True), ("none", "generation", False)])
def test_unlabelled_targets(target, task, has_targets):
    examples = _digits(target=target, limit=4)
    assert examples.task == task and examples.num_classes is None
    assert (examples.targets is not None) == has_targets
    if has_targets:
        assert examples.targets is examples.inputs
