"""The editor JSON Schema: generated from the catalog and current, accepts every shipped spec as written
(`extends` overlays included), and rejects broken layers, checked by a real JSON Schema validator."""

import os

import pytest
import yaml
from jsonschema import Draft202012Validator
from support import SPEC_FILES, SPECS_DIR, run_cli

from kspec.builder.editor_schema import EDITOR_SCHEMA_PATH, editor_schema_is_current, load_editor_schema
from kspec.builder.keras_catalog import load_table


@pytest.fixture(scope="module")
def validator():
    schema = load_editor_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_committed_editor_schema_is_current():
    assert editor_schema_is_current(), "run: python -m kspec.builder.editor_schema --write"


def test_every_catalog_layer_is_a_node_property_with_its_arguments(validator):
    node = load_editor_schema()["$defs"]["node"]["properties"]
    for entry in load_table()["layers"].values():
        assert set(node[entry["name"]]["properties"]) == set(entry["arguments"]), entry["name"]
    conv2d = node["conv2d"]
    assert conv2d["required"] == ["filters", "kernel_size"]
    assert conv2d["properties"]["padding"] == {"$ref": "#/$defs/argument_padding", "default": "valid"}


def test_every_argument_type_of_the_catalog_has_a_definition():
    definitions = load_editor_schema()["$defs"]
    types = {argument["type"] for entry in load_table()["layers"].values() for argument in entry["arguments"].values()}
    assert {t for t in types if f"argument_{t}" not in definitions} == set()


@pytest.mark.parametrize("name", SPEC_FILES)
def test_every_shipped_spec_validates_as_written(validator, name):
    with open(os.path.join(SPECS_DIR, name), encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    assert [error.message for error in validator.iter_errors(document)] == []


def test_a_spec_that_extends_another_is_checked_as_an_overlay(validator):
    document = yaml.safe_load(open(os.path.join(SPECS_DIR, "vae_with_fid.yaml"), encoding="utf-8"))
    assert "models" not in document and list(validator.iter_errors(document)) == []
    # The structural schema of `kspec validate` sees only the merged spec; on the file alone it fails.
    from kspec.builder.schema import load_schema

    assert [e.message for e in Draft202012Validator(load_schema()).iter_errors(document)] == [
        "'models' is a required property"]


_MODEL = "kspec: 1\nmodels:\n  m:\n    inputs: {x: [8]}\n    layers:\n      - "


@pytest.mark.parametrize(
    "text, path, message",
    [
        (_MODEL + "dense: {unit: 3}", ["models", "m", "layers", 0, "dense"],
         "Additional properties are not allowed ('unit' was unexpected)"),
        (_MODEL + "dense: {activation: relu}", ["models", "m", "layers", 0, "dense"], "'units' is a required property"),
        (_MODEL + "dense: {units: 0}", ["models", "m", "layers", 0, "dense", "units"],
         "0 is less than the minimum of 1"),
        (_MODEL + "dense: {units: 3, activation: rellu}", ["models", "m", "layers", 0, "dense", "activation"],
         "'rellu' is not valid under any of the given schemas"),
        (_MODEL + "conv1d: {filters: 4, kernel_size: 3, padding: full}", ["models", "m", "layers", 0, "conv1d", "padding"],
         "'full' is not one of ['valid', 'same', 'causal']"),
        (_MODEL + "dropout: {rate: 1.5}", ["models", "m", "layers", 0, "dropout", "rate"],
         "1.5 is greater than the maximum of 1"),
        (_MODEL + "bidirectional: {layer: {lstm: {unit: 4}}}", ["models", "m", "layers", 0, "bidirectional", "layer", "lstm"],
         "Additional properties are not allowed ('unit' was unexpected)"),
        ("kspec: 1\nparams: {n: 3}\n", [], "'models' is a required property"),
        ("kspec: 2\nmodels: {}\n", ["kspec"], "1 was expected"),
        ("kspec: 1\nextends: base.yaml\nmodels: {m: {layers: [{dense: {unit: 3}}]}}\n",
         ["models", "m", "layers", 0, "dense"], "Additional properties are not allowed ('unit' was unexpected)"),
        ("kspec: 1\nextends: base.yaml\ntraining: {epochs: 0}\n", ["training", "epochs"],
         "0 is less than the minimum of 1"),
    ],
    ids=["misspelled-argument", "missing-argument", "zero-units", "unknown-activation", "bad-padding",
         "rate-above-1", "wrapped-layer", "no-models", "wrong-version", "extends-bad-layer", "extends-bad-epochs"],
)
def test_broken_specs_fail(validator, text, path, message):
    errors = list(validator.iter_errors(yaml.safe_load(text)))
    assert errors, "the schema accepted a broken spec"
    assert [path, message] in [[list(e.absolute_path), e.message] for e in _leaves(errors)]


def _leaves(errors):
    """The innermost errors: those of the branches of `anyOf`/`oneOf`/`if`, where the precise one is."""
    for error in errors:
        yield error
        yield from _leaves(error.context or ())


@pytest.mark.parametrize("value", ['"${units}"', '"${2 * n}"'])
def test_values_may_be_expressions(validator, value):
    document = yaml.safe_load(_MODEL + f"conv1d: {{filters: {value}, kernel_size: [{value}], padding: same}}")
    assert list(validator.iter_errors(document)) == []


def test_names_that_are_not_layers_stay_allowed_as_block_calls(validator):
    assert list(validator.iter_errors(yaml.safe_load(_MODEL + "double_conv: {filters: 3}"))) == []


def test_kspec_schema_prints_the_editor_schema():
    import json

    result = run_cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == load_editor_schema()
    assert os.path.basename(EDITOR_SCHEMA_PATH) == "kspec.editor.schema.json"
