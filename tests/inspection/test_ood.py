"""AUROC of uncertainty scores, and the out-of-distribution inputs they are scored on."""

import numpy as np
import pytest

from kspec.inspection.ood import auroc, ood_inputs


@pytest.mark.parametrize("inside, outside, expected", [
    ([0.1, 0.2, 0.3], [0.4, 0.5], 1.0),
    ([0.4, 0.5], [0.1, 0.2, 0.3], 0.0),
    ([0.1, 0.3], [0.2, 0.4], 0.75),  # pairs (out > in): 0.2>0.1, 0.4>0.1, 0.4>0.3 of 4
    ([0.5, 0.5], [0.5], 0.5),        # ties count half
])
def test_auroc_is_the_probability_an_outside_input_scores_higher(inside, outside, expected):
    assert auroc(inside, outside) == pytest.approx(expected)


def test_ood_inputs_take_the_shape_and_value_range_of_the_examples():
    like = np.random.default_rng(0).uniform(-1.0, 3.0, size=(5, 16, 16, 3)).astype("float32")
    for kind in ("noise", "shapes"):
        made = ood_inputs(kind, like, 7, seed=1)
        assert made.shape == (7, 16, 16, 3) and made.dtype == np.float32
        assert like.min() <= made.min() and made.max() <= like.max()
    np.testing.assert_array_equal(ood_inputs("shapes", like, 2, seed=3), ood_inputs("shapes", like, 2, seed=3))


def test_shapes_are_refused_for_inputs_that_are_not_images():
    with pytest.raises(ValueError) as error:
        ood_inputs("shapes", np.zeros((2, 10)), 3)
    assert str(error.value) == ("Invalid value for argument `kind`: `shapes` makes images, but the inputs have shape "
                                "(10,). Received: kind='shapes'")
