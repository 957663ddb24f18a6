"""Two-domain data: splitting, per-domain normalization, unpairing, and the translation sources and layouts."""

import os

import numpy as np
import pytest
from PIL import Image

from kspec.data import load_arrays, load_data
from kspec.data.config import parse_data_config
from kspec.data.digit_domains import transform_digits
from kspec.data.domains import Domains, split_domains
from kspec.errors import SpecError


def numbered(count, offset=0.0, size=2):
    """Images whose every pixel holds their own number (plus `offset`): an image's origin stays readable."""
    return (np.arange(count, dtype="float32")[:, None, None, None] + offset) * np.ones((1, size, size, 1), "float32")


def ids(images, offset=0.0):
    return [int(round(v - offset)) for v in images[:, 0, 0, 0]]


def split(domains, normalize="none", **config):
    return split_domains(domains, parse_data_config({"source": "digits", **config}), normalize, seed=0)


def test_paired_data_keeps_its_pairs_in_both_parts():
    train, validation, _, _ = split(Domains(numbered(10), numbered(10, offset=100), paired=True))
    assert (len(train), len(validation), train.task, validation.task) == (8, 2, "translation", "translation")
    for part in (train, validation):
        assert ids(part.inputs) == ids(part.targets, offset=100)
    assert sorted(ids(train.inputs) + ids(validation.inputs)) == list(range(10))


def test_aligned_data_trained_unpaired_takes_a_and_b_from_disjoint_halves_and_validates_on_pairs():
    train, validation, _, _ = split(Domains(numbered(20), numbered(20, offset=100), paired=False, aligned=True))
    assert train.task == "unpaired_translation" and validation.task == "translation"
    assert len(train) == 8  # 16 training pairs: 8 digits give A, the other 8 give B
    assert not set(ids(train.inputs)) & set(ids(train.targets, offset=100))
    assert ids(validation.inputs) == ids(validation.targets, offset=100)
    used = set(ids(train.inputs)) | set(ids(train.targets, offset=100)) | set(ids(validation.inputs))
    assert used == set(range(20))


def test_unpaired_domains_of_different_sizes_are_drawn_to_the_larger_size():
    train, validation, _, _ = split(Domains(numbered(30), numbered(8, offset=100), paired=False),
                                    validation_split=0.25)
    assert len(train) == 22 and validation.task == "unpaired_translation"
    assert sorted(ids(train.inputs)) == sorted(set(ids(train.inputs)))  # the larger domain: each image once
    b = ids(train.targets, offset=100)
    assert len(set(b)) == 6 and len(b) == 22  # every training image of B, and redraws of them
    assert not set(b) & set(ids(validation.targets, offset=100))


def test_test_folders_are_the_validation_split():
    domains = Domains(numbered(6), numbered(4, offset=100), paired=False, a_test=numbered(3, 50),
                      b_test=numbered(2, 150))
    train, validation, _, _ = split(domains, validation_split=0.5)
    assert len(train) == 6 and sorted(ids(validation.inputs, 50)) == [0, 1, 2]


def test_each_domain_gets_its_own_normalization():
    a = np.random.default_rng(0).normal(5.0, 2.0, (40, 3, 3, 1)).astype("float32")
    b = np.random.default_rng(1).normal(-3.0, 0.5, (40, 3, 3, 3)).astype("float32")
    train, _, norm_a, norm_b = split(Domains(a, b, paired=True), "standardize", validation_split=0)
    assert len(norm_a.offset) == 1 and len(norm_b.offset) == 3
    np.testing.assert_allclose(train.inputs.mean(), 0, atol=1e-5)
    np.testing.assert_allclose(train.targets.reshape(-1, 3).mean(0), 0, atol=1e-5)


def test_a_split_leaving_a_domain_empty_is_one_line():
    with pytest.raises(SpecError) as error:
        split(Domains(numbered(20), numbered(1, 100), paired=False), validation_split=0.2)
    assert str(error.value) == ("data.validation_split: 1 images of domain B cannot be split into training and "
                                "validation parts with validation_split=0.2")


def test_load_data_yields_batches_of_a_and_b():
    splits = load_data({"source": "digit_domains", "args": {"size": 16, "limit": 40}, "normalize": "symmetric"},
                       batch_size=8)
    a, b = next(iter(splits.train))
    assert a.shape == b.shape == (8, 16, 16, 1)
    assert splits.info.task == "translation" and splits.info.target_normalization.method == "symmetric"
    assert float(np.min(a)) >= -1 and float(np.max(b)) <= 1


@pytest.mark.parametrize("transform", ["edges", "thicken", "invert"])
def test_digit_domains_b_is_the_transform_of_a(transform):
    arrays = load_arrays({"source": "digit_domains", "args": {"size": 16, "limit": 30, "transform": transform},
                          "normalize": "none"})
    for part in (arrays.train, arrays.validation):
        np.testing.assert_allclose(part.targets, transform_digits(part.inputs, transform), atol=1e-4)
    assert 0 <= arrays.train.inputs.min() and arrays.train.inputs.max() <= 255


def test_digit_domains_unpaired_has_no_training_pair_but_validates_on_pairs():
    arrays = load_arrays({"source": "digit_domains", "args": {"size": 8, "limit": 100, "paired": False,
                                                               "transform": "invert"}, "normalize": "none"})
    assert arrays.info.task == "unpaired_translation" and arrays.validation.task == "translation"
    truth = transform_digits(arrays.train.inputs, "invert")
    # No B image of the training split is the translation of a training image of A.
    distances = np.abs(truth[:, None] - arrays.train.targets[None]).reshape(len(truth), len(truth), -1).max(-1)
    assert distances.min() > 0
    np.testing.assert_allclose(arrays.validation.targets, transform_digits(arrays.validation.inputs, "invert"))


def _save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def test_cyclegan_layout_reads_train_and_test_folders(tmp_path):
    for folder, count, value in (("trainA", 5, 10), ("trainB", 3, 200), ("testA", 2, 20), ("testB", 2, 210)):
        for index in range(count):
            _save(tmp_path / folder / f"{index}.png", np.full((6, 6, 3), value + index))
    arrays = load_arrays({"source": "image_directory", "normalize": "none",
                          "args": {"path": str(tmp_path), "layout": "cyclegan", "size": 4}})
    assert arrays.info.task == "unpaired_translation" and arrays.info.input_shape == (4, 4, 3)
    assert len(arrays.train) == 5 and len(arrays.validation) == 2
    assert sorted(set(arrays.train.inputs[:, 0, 0, 0])) == [10, 11, 12, 13, 14]
    assert sorted(set(arrays.train.targets[:, 0, 0, 0])) == [200, 201, 202]
    assert sorted(arrays.validation.targets[:, 0, 0, 0]) == [210, 211]


def test_cyclegan_layout_without_train_b_says_what_to_put_where(tmp_path):
    _save(tmp_path / "trainA" / "0.png", np.zeros((4, 4)))
    with pytest.raises(SpecError) as error:
        load_arrays({"source": "image_directory", "args": {"path": str(tmp_path), "layout": "cyclegan"}})
    assert str(error.value) == (
        f"data.args.path: expected the cyclegan layout, with images in {tmp_path / 'trainB'}, which does not exist; "
        "put domain A's training images in trainA/ and domain B's in trainB/ (testA/ and testB/ optional)")


@pytest.mark.parametrize("halves, a_value, b_value", [("ab", 30, 220), ("ba", 220, 30)])
def test_side_by_side_layout_cuts_each_image_into_a_and_b(tmp_path, halves, a_value, b_value):
    for folder, count in (("train", 4), ("val", 2)):
        for index in range(count):
            image = np.concatenate([np.full((8, 8), 30 + index), np.full((8, 8), 220 - index)], axis=1)
            _save(tmp_path / folder / f"{index}.png", image)
    arrays = load_arrays({"source": "image_directory", "normalize": "none", "shuffle": False,
                          "args": {"path": str(tmp_path), "layout": "side_by_side", "size": 8,
                                   "color_mode": "grayscale", "halves": halves}})
    assert arrays.info.task == "translation" and arrays.info.input_shape == (8, 8, 1)
    assert len(arrays.train) == 4 and len(arrays.validation) == 2
    step = 1 if a_value < b_value else -1
    np.testing.assert_array_equal(arrays.train.inputs[:, 4, 4, 0], [a_value + step * i for i in range(4)])
    np.testing.assert_array_equal(arrays.train.targets[:, 4, 4, 0], [b_value - step * i for i in range(4)])


def test_npz_translation_reads_inputs_and_targets(tmp_path):
    path = tmp_path / "pairs.npz"
    np.savez(path, inputs=np.zeros((5, 4, 4, 1), np.uint8), targets=np.full((5, 4, 4, 3), 255, np.uint8))
    arrays = load_arrays({"source": "npz", "args": {"path": str(path), "task": "translation"}, "validation_split": 0})
    assert arrays.info.task == "translation"
    assert arrays.info.input_shape == (4, 4, 1) and arrays.info.target_shape == (4, 4, 3)
    assert arrays.train.inputs.max() == 0 and arrays.train.targets.min() == 1  # uint8: unit scaling of 0..255


def test_npz_translation_of_grayscale_without_channel_axis_says_how_to_add_it(tmp_path):
    path = tmp_path / "pairs.npz"
    np.savez(path, inputs=np.zeros((5, 4, 4)), targets=np.zeros((5, 4, 4)))
    with pytest.raises(SpecError) as error:
        load_arrays({"source": "npz", "args": {"path": str(path), "task": "translation"}})
    assert str(error.value) == ("data.args.x_key: expected images of shape (n, height, width, channels) for "
                                "translation. Received: inputs of shape (5, 4, 4); set `add_channel_axis: true` "
                                "for grayscale (n, h, w)")


def test_translation_problems_name_each_model_input_that_takes_the_wrong_domain():
    from kspec import builder
    from kspec.data.domains import translation_data_problems
    from kspec.data.normalization import Normalization
    from kspec.data.pipeline import DataInfo
    from support import SPECS_DIR

    path = os.path.join(SPECS_DIR, "pix2pix.yaml")
    spec = builder.load_spec(path)
    models = builder.build(spec)
    # Domain B has 3 channels where the spec's models make and take 1.
    info = DataInfo("npz", "translation", (32, 32, 1), "float32", (32, 32, 3), "float32", None, 8, 2, 4,
                    Normalization("unit"))
    problems = translation_data_problems(info, "pix2pix", models, spec.models)
    with open(path) as stream:
        lines = stream.read().splitlines()
    output_line = 1 + next(i for i, line in enumerate(lines) if "{name: translation, conv2d_transpose" in line)
    input_line = 1 + next(i for i, line in enumerate(lines) if line.strip().startswith("translation: ["))
    assert [str(p) for p in problems] == [
        f"{path}:{output_line}:9: models.generator.layers[translation]: output `translation` makes images of domain B of shape "
        "(32, 32, 1), but the data's domain B images are (32, 32, 3); give the last layer as many filters as the "
        "data has channels (3)",
        f"{path}:{input_line}:20: models.discriminator.inputs.translation: input `translation` takes images of domain B of "
        "shape (32, 32, 1), but the data's domain B images are (32, 32, 3); make the channels agree: `color_mode` "
        "of image_directory (grayscale 1, rgb 3), or this input's last size",
    ]
    fitting = DataInfo("npz", "translation", (32, 32, 1), "float32", (32, 32, 1), "float32", None, 8, 2, 4,
                       Normalization("unit"))
    assert translation_data_problems(fitting, "pix2pix", models, spec.models) == []
