"""Argument checks against the catalog (builder/checks.py): every form Keras accepts passes, others do not."""

import pytest
from support import run_cli

from kspec.builder.checks import check_argument
from kspec.builder.keras_catalog import documented_arguments, load_table, lookup_layer

# Forms Keras' constructors document and accept that the type from the argument's name or default alone
# would refuse: nested (before, after) pairs, None where the docstring names it, floats where the default is
# an integer tuple, a (low, high) tuple where the default is one number, a rate of exactly 1.
KERAS_FORMS = [
    ("zero_padding2d", "padding", [[0, 1], [0, 1]]),
    ("zero_padding2d", "padding", [[3, 3], [3, 3]]),
    ("zero_padding3d", "padding", [[1, 0], 2, [0, 1]]),
    ("cropping2d", "cropping", [[1, 0], [0, 1]]),
    ("max_pooling2d", "strides", None),
    ("average_pooling1d", "strides", None),
    ("normalization", "axis", None),
    ("random_brightness", "value_range", [0.0, 1.0]),
    ("random_shear", "x_factor", [0.1, 0.3]),
    ("random_gaussian_blur", "sigma", [0.5, 1.5]),
    ("dropout", "rate", 1.0),
    ("spatial_dropout2d", "rate", 1),
]

_REQUIRED = {"average_pooling1d": {"pool_size": 2}, "random_brightness": {"factor": 0.2}, "dropout": {"rate": 0.5},
             "spatial_dropout2d": {"rate": 0.5}}


@pytest.mark.parametrize("layer, argument, value", KERAS_FORMS)
def test_catalog_accepts_every_form_keras_documents(layer, argument, value):
    arg_type = lookup_layer(layer)["arguments"][argument]["type"]
    assert check_argument(arg_type, value, []) is None, arg_type


@pytest.mark.parametrize("layer, argument, value", KERAS_FORMS)
def test_keras_constructors_accept_the_same_forms(layer, argument, value):
    import keras

    required = _REQUIRED.get(layer, {})
    getattr(keras.layers, lookup_layer(layer)["class"])(**{**required, argument: value})


def test_every_catalog_default_passes_its_own_check():
    table = load_table()
    refused = []
    for section in ("layers", "optimizers", "schedules", "losses", "metrics", "initializers", "regularizers",
                    "constraints", "callbacks"):
        for key, entry in table[section].items():
            for name, spec in entry["arguments"].items():
                if "default" in spec and check_argument(spec["type"], spec["default"], table["activations"]):
                    refused.append(f"{section}.{key}.{name}={spec['default']!r} ({spec['type']})")
    assert refused == []


@pytest.mark.parametrize("arg_type, value, expected", [
    ("positive_ints_or_null", 0, "a positive integer or a list of them or null"),
    ("numbers", [0.5, "x"], "a number or a list of numbers"),
    ("numbers", [], "a number or a list of numbers"),
    ("probability", 1.5, "a number in [0, 1]"),
    ("int_or_ints_or_null", 1.5, "an integer or a list of integers or null"),
])
def test_widened_types_still_refuse_what_keras_refuses(arg_type, value, expected):
    assert check_argument(arg_type, value, []) == expected


def test_documented_arguments_reads_each_argument_of_the_args_section():
    import keras

    documented = documented_arguments(keras.layers.MaxPooling2D)
    assert documented["strides"].startswith("int or tuple of 2 integers, or None.")
    assert "padding" in documented and "Input shape" not in " ".join(documented)


def test_validate_reads_nested_padding_and_default_strides_through_to_the_shapes(write_spec):
    spec = write_spec("""kspec: 1
models:
  net:
    inputs: {x: [32, 32, 3]}
    layers:
      - zero_padding2d: {padding: [[0, 1], [0, 1]]}   # 33 x 33
      - max_pooling2d: {pool_size: 3, strides: null}   # 11 x 11
      - cropping2d: {cropping: [[1, 0], [0, 1]]}       # 10 x 10
      - {name: out, conv2d: {filters: 2, kernel_size: 10}}
metadata:
  parameters: {net: 602}
""")
    result = run_cli("validate", spec)
    assert (result.exit_code, result.output.strip()) == (0, "1 spec valid")


def test_validate_refuses_a_padding_form_keras_refuses(write_spec):
    spec = write_spec("""kspec: 1
models:
  net:
    inputs: {x: [8, 8, 3]}
    layers:
      - zero_padding2d: {padding: [[0, 1, 2], [0, 1]]}
""")
    result = run_cli("validate", spec)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"{spec}:6:9: models.net.layers[0]: `zero_padding2d` rejects its arguments: expected `padding` as a "
        "non-negative integer, 2 of them or 2 pairs. Received: padding=[[0, 1, 2], [0, 1]]")
