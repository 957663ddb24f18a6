"""`npz`: the user's arrays round-trip through a .npz file; missing keys and mismatches name the argument."""

import numpy as np
import pytest

from kspec.data import load_arrays
from kspec.errors import SpecError


def _write(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return str(path)


def test_uint8_images_with_labels_round_trip(tmp_path):
    images = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    path = _write(tmp_path, images=images, digits=np.array([0, 1, 2, 0, 1, 2]))
    config = {"source": "npz", "args": {"path": path, "x_key": "images", "y_key": "digits", "add_channel_axis": True},
              "validation_split": 0, "shuffle": False}
    arrays = load_arrays(config)
    assert arrays.info.task == "classification" and arrays.info.num_classes == 3
    np.testing.assert_allclose(arrays.train.inputs[..., 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(arrays.train.targets, [0, 1, 2, 0, 1, 2])


def test_integer_masks_make_segmentation_and_float_targets_regression(tmp_path):
    x = np.random.default_rng(0).random((4, 5, 5, 1)).astype("float32")
    masks = load_arrays({"source": "npz", "args": {"path": _write(tmp_path, x=x, y=np.ones((4, 5, 5), "int64"))}})
    assert (masks.info.task, masks.info.target_shape, masks.info.num_classes) == ("segmentation", (5, 5), 2)
    values = load_arrays({"source": "npz", "args": {"path": _write(tmp_path, x=x, y=np.full((4, 2), 0.5))}})
    assert (values.info.task, values.info.target_dtype, values.info.normalization.method) == ("regression", "float32", "none")


def test_null_y_key_is_unlabelled(tmp_path):
    info = load_arrays({"source": "npz", "args": {"path": _write(tmp_path, x=np.zeros((5, 3))), "y_key": None}}).info
    assert info.task == "generation" and not info.has_targets


def test_missing_key_lists_what_the_file_holds(tmp_path):
    path = _write(tmp_path, x=np.zeros((5, 3)), labels=np.zeros(5))
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "npz", "args": {"path": path}})
    assert str(caught.value) == (f"data.args.y_key: expected an array named 'y' in {path}, which holds 'labels', "
                                 "'x'; set `y_key: null` for unlabelled data")


def test_length_mismatch_names_both_arrays(tmp_path):
    path = _write(tmp_path, x=np.zeros((5, 3)), y=np.zeros(4, "int32"))
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "npz", "args": {"path": path}})
    assert str(caught.value) == "data.args.y_key: expected as many targets as inputs: x has 5 examples but y has 4"


def test_masks_of_another_size_are_refused(tmp_path):
    path = _write(tmp_path, x=np.zeros((2, 8, 8, 1)), y=np.zeros((2, 4, 4), "int32"))
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "npz", "args": {"path": path, "task": "segmentation"}})
    assert str(caught.value) == ("data.args.y_key: expected integer masks of shape (n, 8, 8) like the images. "
                                 "Received: y of shape (2, 4, 4)")


def test_file_that_is_not_npz_is_refused(tmp_path):
    path = tmp_path / "data.npz"
    path.write_text("not numpy")
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "npz", "args": {"path": str(path)}})
    assert str(caught.value) == (f"data.args.path: {path} is not an .npz file (a zip archive written by numpy.savez): "
                                 "File is not a zip file")
