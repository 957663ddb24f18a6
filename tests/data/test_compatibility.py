"""Checks of data against a model's input and output give one line naming the field."""

import pytest

from kspec.data import DataInfo, Normalization, check_keras_model, check_model_input, check_model_output
from kspec.errors import SpecError


def _info(task="classification", input_shape=(28, 28, 1), target_shape=(), num_classes=10):
    return DataInfo(source="test", task=task, input_shape=input_shape, input_dtype="float32",
                    target_shape=target_shape, target_dtype="int32", num_classes=num_classes, num_train=1,
                    num_validation=0, batch_size=1, normalization=Normalization("none"))


@pytest.mark.parametrize("info, expected, message", [
    (_info(input_shape=(32, 32, 3)), (28, 28, 1),
     "data: images have 3 channels but models.classifier input `image` expects shape (28, 28, 1)"),
    (_info(input_shape=(8, 8, 1)), (28, 28, 1),
     "data: images are 8x8 but models.classifier input `image` expects shape (28, 28, 1)"),
    (_info(input_shape=(28, 28)), (28, 28, 1),
     "data: inputs have shape (28, 28) but models.classifier input `image` expects shape (28, 28, 1)"),
    (_info("forecasting", (48, 1), (12,), None), (24, 1),
     "data: inputs have shape (48, 1) but models.classifier input `image` expects shape (24, 1)"),
])
def test_input_mismatch_message(info, expected, message):
    with pytest.raises(SpecError) as caught:
        check_model_input(info, expected, model="models.classifier", input_name="image")
    assert str(caught.value) == message


def test_open_sizes_match_anything():
    check_model_input(_info(input_shape=(32, 32, 3)), (None, None, 3), model="models.m", input_name="x")


@pytest.mark.parametrize("info, output, message", [
    (_info(), (4,), "data: labels have 10 classes but models.net output `out` has shape (4,)"),
    (_info("segmentation", (64, 64, 1), (64, 64), 4), (64, 64, 3),
     "data: masks are 64x64 with 4 classes but models.net output `out` has shape (64, 64, 3); expected (64, 64, 4)"),
    (_info("forecasting", (48, 1), (12,), None), (6,),
     "data: targets have shape (12,) but models.net output `out` has shape (6,)"),
])
def test_output_mismatch_message(info, output, message):
    with pytest.raises(SpecError) as caught:
        check_model_output(info, output, model="models.net", output_name="out")
    assert str(caught.value) == message


def test_one_unit_fits_two_classes_and_generation_has_nothing_to_check():
    check_model_output(_info(num_classes=2), (1,), model="models.net", output_name="out")
    check_model_output(_info("generation", target_shape=None, num_classes=None), (7,), model="models.n", output_name="o")


def test_keras_model_is_checked_by_its_input_name():
    import keras

    inputs = keras.Input((28, 28, 1), name="image")
    model = keras.Model(inputs, keras.layers.Dense(10, name="probabilities")(keras.layers.Flatten()(inputs)))
    check_keras_model(_info(), model, model="models.classifier")
    with pytest.raises(SpecError) as caught:
        check_keras_model(_info(input_shape=(28, 28, 3)), model, model="models.classifier")
    assert str(caught.value) == "data: images have 3 channels but models.classifier input `image` expects shape (28, 28, 1)"
    with pytest.raises(SpecError) as caught:
        check_keras_model(_info(num_classes=4), model, model="models.classifier")
    assert str(caught.value) == "data: labels have 4 classes but models.classifier output `probabilities` has shape (10,)"
