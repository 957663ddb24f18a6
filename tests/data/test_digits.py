"""`digits`: scikit-learn's bundled digits as NHWC images, optionally resized, with the chosen targets."""

import numpy as np
import pytest

from kspec.data.arguments import SourceArguments
from kspec.data.digits import digits
from kspec.errors import SpecError


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


def test_classes_keep_those_digits_labelled_by_their_position_in_the_list():
    every = digits(SourceArguments({}, source="digits"))
    upper = digits(SourceArguments({"classes": [9, 5]}, source="digits"))
    assert upper.num_classes == 2 and upper.class_names == ("9", "5")
    assert len(upper.inputs) == int(np.sum(every.targets == 9) + np.sum(every.targets == 5))
    np.testing.assert_array_equal(upper.inputs[upper.targets == 0], every.inputs[every.targets == 9])
    np.testing.assert_array_equal(upper.inputs[upper.targets == 1], every.inputs[every.targets == 5])


@pytest.mark.parametrize("classes", [[], [1, 1], [10], [-1], "5", [2.0]])
def test_classes_that_are_not_distinct_digits_are_one_line(classes):
    with pytest.raises(SpecError) as error:
        digits(SourceArguments({"classes": classes}, source="digits"))
    assert str(error.value) == ("data.args.classes: expected a list of distinct integers each between 0 and 9. "
                                f"Received: classes={classes!r}")
