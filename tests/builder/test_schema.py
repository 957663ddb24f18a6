"""kspec's JSON Schema is a valid draft 2020-12 schema, `kspec schema` prints it, and values computed by `${}`
are held to it."""

import json
import os

import pytest
from jsonschema import Draft202012Validator
from support import SPECS_DIR, run_cli

from kspec.builder.schema import check_schema, load_schema


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(load_schema())


def test_cli_prints_the_schema():
    result = run_cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# A value computed by `${...}` must fit the schema a literal at the same place fits; the one line names the
# `--set` (or file position) of the expression and the spec path. Each case crashed or passed before.
COMPUTED_VALUES = [
    ("cnn_classifier.yaml", 'training.epochs=${"x"}', "training.epochs: expected a positive integer. Received: epochs='x'"),
    ("cnn_classifier.yaml", "training.batch_size=${1.5}", "training.batch_size: expected a positive integer. Received: batch_size=1.5"),
    ("cnn_classifier.yaml", "training.seed=${1.5}", "training.seed: expected a non-negative integer. Received: seed=1.5"),
    ("cnn_classifier.yaml", "training.epochs=${2.0}", "training.epochs: expected a positive integer. Received: epochs=2.0"),
    ("cnn_classifier.yaml", "training.steps_per_epoch=${1e308}", "training.steps_per_epoch: expected a positive integer or null. Received: steps_per_epoch=1e+308"),
    ("cnn_classifier.yaml", "data.batch_size=${true}", "data.batch_size: expected a positive integer. Received: batch_size=true"),
    *[("cnn_classifier.yaml", f"training.{key}=${{1}}",
       f"training.{key}: expected a name, or one name with a mapping of its arguments such as "
       f"`{{adam: {{learning_rate: 0.001}}}}`. Received: {key}=1")
      for key in ("trainer", "loss", "optimizer", "learning_rate_schedule")],
    ("cnn_classifier.yaml", "training.model=${[1]}", "training.model: expected a string. Received: model=[1]"),
    ("cnn_classifier.yaml", "training.epochs=${(-1)**0.5}", "training.epochs: result (6.123233995736766e-17+1j) is a complex number; expressions compute real numbers, text, true/false, null and lists"),
    ("cnn_classifier.yaml", 'training.epochs=${float("inf")}', "training.epochs: `float`: result is not a finite number"),
    ("unet.yaml", "blocks.up.layers[0].from=${1}", "blocks.up.layers[upsample].from: expected a node or input name, or a list of them. Received: from=1 (in block `up` called as `up2` at models.unet.layers[2].layers[0])"),
    ("unet.yaml", "models.unet.layers[0].repeat=${-1}", "models.unet.layers[0].repeat: expected a non-negative integer. Received: repeat=-1"),
    ("autoencoder.yaml", "models.encoder.outputs=${1}", "models.encoder.outputs: expected a node or input name, or a list of them. Received: outputs=1"),
    ("autoencoder.yaml", "models.encoder.outputs=${[1]}", "models.encoder.outputs[0]: expected a string. Received: 1"),
    ("autoencoder.yaml", "models.autoencoder.layers[0].model=${[1]}", "models.autoencoder.layers[0].model: expected the name of a model in this spec. Received: model=[1]"),
    ("dcgan.yaml", 'training.trainer={gan: {n_critic: "${0.5}"}}', "training.trainer.gan.n_critic: expected a positive integer. Received: n_critic=0.5"),
]


@pytest.mark.parametrize("spec, override, message", COMPUTED_VALUES, ids=[c[1] for c in COMPUTED_VALUES])
def test_a_computed_value_is_checked_like_a_literal_at_the_expression(spec, override, message):
    result = run_cli("validate", os.path.join(SPECS_DIR, spec), "--set", override)
    assert result.exit_code == 1
    where = f"--set {override}:1:18: " if override.startswith("training.trainer={") else f"--set {override}: "
    assert result.stderr.strip().splitlines() == [where + message]


def test_a_computed_dimension_is_checked_at_its_item_of_the_override():
    override = "models.unet.inputs.image=['${[64]}', 64, 1]"
    result = run_cli("validate", os.path.join(SPECS_DIR, "unet.yaml"), "--set", override)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"--set {override}:1:2: models.unet.inputs.image[0]: expected a positive integer or null (any size). "
        "Received: [64]"
    ]


def test_a_computed_value_in_a_file_points_at_its_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "kspec: 1\nparams: {n: 2.5}\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n"
        "      - {name: h, dense: {units: 2}}\n    outputs: ${[n]}\ntraining:\n  epochs: ${n}\n"
    )
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["spec.yaml:8:14: models.net.outputs[0]: expected a string. Received: 2.5"]
    # The models resolve first; once they are fine, the training section's computed values are checked.
    result = run_cli("validate", "spec.yaml", "--set", "models.net.outputs=h")
    assert result.stderr.strip().splitlines() == [
        "spec.yaml:10:11: training.epochs: expected a positive integer. Received: epochs=2.5"
    ]


def test_an_integer_is_an_int_not_a_whole_float():
    assert [str(p) for p in check_schema({"kspec": 1, "models": {}, "training": {"epochs": 2.0}})] == [
        "models: must not be empty: expected at least 1 entry",
        "training.epochs: expected a positive integer or an expression `${...}`. Received: epochs=2.0",
    ]


@pytest.mark.parametrize(
    "override, message",
    [
        # Found by benchmarks/fuzz_specs.py: a key that is not a string where a layer name goes crashed lookups.
        ("models.discriminator.layers[4]={9: ~}", "models.discriminator.layers[4]: expected a layer or block name. Received: 9"),
        ("models.generator.params={1: 2}", "models.generator.params[1]: invalid name `1`: expected letters, digits and `_`, not starting with a digit"),
    ],
)
def test_keys_that_are_not_strings_are_one_line(override, message):
    result = run_cli("validate", os.path.join(SPECS_DIR, "dcgan.yaml"), "--set", override)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(message), lines
