"""`image_directory`: class folders and image/mask folders written to tmp_path round-trip through Keras."""

import os

import numpy as np
import pytest
from PIL import Image

from kspec.data import load_arrays
from kspec.errors import SpecError


def _save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def test_class_folders_give_labels_and_class_names(tmp_path):
    for label, name in enumerate(["circle", "square"]):
        for index in range(3):
            _save(tmp_path / name / f"{index}.png", np.full((6, 6, 3), 40 * label + 10 * index))
    config = {"source": "image_directory", "args": {"path": str(tmp_path), "size": 6}, "validation_split": 0,
              "normalize": "none"}
    arrays = load_arrays(config)
    assert arrays.train.inputs.shape == (6, 6, 6, 3) and arrays.train.inputs.dtype == np.float32
    np.testing.assert_array_equal(arrays.train.targets, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(arrays.train.inputs[:, 0, 0, 0], [0, 10, 20, 40, 50, 60])
    assert arrays.info.class_names == ("circle", "square") and arrays.info.num_classes == 2


def test_masks_align_with_their_images(tmp_path):
    for index in range(4):
        image = np.zeros((8, 8), np.uint8)
        mask = np.zeros((8, 8), np.uint8)
        image[index:index + 2, :] = 200  # a bright band whose rows move with the file
        mask[index:index + 2, :] = 1 + index % 3
        _save(tmp_path / "images" / f"{index}.png", image)
        _save(tmp_path / "masks" / f"{index}.png", mask)
    config = {"source": "image_directory", "validation_split": 0, "shuffle": False,
              "args": {"path": str(tmp_path / "images"), "masks": str(tmp_path / "masks"), "size": 8,
                       "color_mode": "grayscale"}}
    arrays = load_arrays(config)
    assert arrays.info.task == "segmentation" and arrays.info.num_classes == 4
    assert arrays.train.inputs.shape == (4, 8, 8, 1) and arrays.train.targets.shape == (4, 8, 8)
    for image, mask in zip(arrays.train.inputs, arrays.train.targets):
        np.testing.assert_array_equal(image[..., 0] > 0.5, mask > 0)


def test_missing_mask_is_named(tmp_path):
    _save(tmp_path / "images" / "a.png", np.zeros((4, 4)))
    _save(tmp_path / "images" / "b.png", np.zeros((4, 4)))
    _save(tmp_path / "masks" / "a.png", np.zeros((4, 4)))
    images, masks = tmp_path / "images", tmp_path / "masks"
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "image_directory", "args": {"path": str(images), "masks": str(masks)}})
    assert str(caught.value) == (f"data.args.masks: expected a mask for every image, with the same file name. "
                                 f"Received: no {masks}/b.png for {images}/b.png")


def test_flat_folder_needs_target_none_for_labels(tmp_path):
    _save(tmp_path / "a.png", np.zeros((4, 4)))
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "image_directory", "args": {"path": str(tmp_path)}})
    assert str(caught.value) == (f"data.args.path: expected one subdirectory per class in {tmp_path}, holding that "
                                 "class's images. Received: images directly in it; set `target: none` for "
                                 "unlabelled images")
    info = load_arrays({"source": "image_directory", "args": {"path": str(tmp_path), "target": "none", "size": 4},
                        "validation_split": 0}).info
    assert info.task == "generation" and info.input_shape == (4, 4, 3)


def test_directory_without_images_and_missing_directory(tmp_path):
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "image_directory", "args": {"path": str(tmp_path)}})
    assert str(caught.value) == (f"data.args.path: expected image files (.bmp, .gif, .jpeg, .jpg, .png) in "
                                 f"{tmp_path}. Received: a directory without any")
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "image_directory", "args": {"path": str(tmp_path / "nope")}})
    assert str(caught.value) == (f"data.args.path: expected the path of a directory of images. "
                                 f"Received: path='{tmp_path / 'nope'}', which does not exist")
