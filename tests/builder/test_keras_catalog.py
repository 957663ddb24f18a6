"""The committed layer table (used by `kspec validate` without Keras) must match the installed Keras."""

import json

from kspec.builder.keras_catalog import TABLE_PATH, generate_table, lookup_layer, snake_name


def test_committed_table_matches_installed_keras():
    with open(TABLE_PATH, encoding="utf-8") as stream:
        committed = json.load(stream)
    assert committed == generate_table(), "run: python -m kspec.builder.keras_catalog --write"


def test_layer_names_work_in_snake_case_class_name_and_alias():
    assert lookup_layer("conv2d_transpose") is lookup_layer("Conv2DTranspose") is lookup_layer("Convolution2DTranspose")
    assert lookup_layer("MaxPool2D")["class"] == "MaxPooling2D"
    assert lookup_layer("sampling")["module"] == "kspec.layers.sampling"
    assert lookup_layer("lambda") is None  # arbitrary Python callables cannot come from a spec


def test_snake_names_follow_keras():
    assert [snake_name(n) for n in ("Conv2D", "LSTM", "BatchNormalization", "Conv2DTranspose")] == [
        "conv2d", "lstm", "batch_normalization", "conv2d_transpose"
    ]
