"""`metadata.parameters` is enforced: statically by validate, and after the Keras build by summary/build/train."""

import os

from support import SPECS_DIR, run_cli

from kspec import builder

NET = """\
kspec: 1
metadata:
  parameters: {net: %s}
models:
  net:
    inputs: {x: [8]}
    layers:
      - dense: {units: 4}
"""

# MultiHeadAttention has no static rule: its count (3 x (8 x 2 + 2) + 2 x 8 + 8 = 78) is only known once Keras
# has built it.
ATTENTION = """\
kspec: 1
metadata:
  parameters: {net: 9999}
models:
  net:
    inputs: {x: [4, 8]}
    layers:
      - {name: attention, multi_head_attention: {num_heads: 1, key_dim: 2}, from: [x, x]}
"""


def test_validate_refuses_a_declared_count_that_differs_from_the_static_count(write_spec):
    spec = write_spec(NET % 9999)
    result = run_cli("validate", spec)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{spec}:3:21: metadata.parameters.net: model `net` has 36 parameters, but metadata declares 9,999; "
        "correct the count or the model"
    )
    assert run_cli("validate", write_spec(NET % 36, "right.yaml")).exit_code == 0


def test_a_declared_count_for_a_model_the_spec_lacks_is_an_error(write_spec):
    spec = write_spec(NET.replace("{net: %s}", "{net: 36, decoder: 5}"))
    assert [str(p) for p in builder.validate(spec)] == [
        f"{spec}:3:34: metadata.parameters.decoder: declares a count for model `decoder`, which the spec does not "
        "define (models: net)"
    ]


def test_summary_and_build_enforce_the_count_after_keras_builds_the_model(write_spec, tmp_path):
    spec = write_spec(ATTENTION)
    assert builder.validate(spec) == []  # not countable statically: validate cannot tell
    expected = (f"{spec}:3:21: metadata.parameters.net: model `net` has 78 parameters, but metadata declares 9,999; "
                "correct the count or the model")
    for command in (("summary", spec), ("build", spec, "-o", tmp_path / "net.keras")):
        result = run_cli(*command)
        assert result.exit_code == 1
        assert result.stderr.strip() == expected
    assert not (tmp_path / "net.keras").exists()


def test_overrides_of_the_architecture_drop_the_declared_counts_and_others_keep_them():
    unet = os.path.join(SPECS_DIR, "unet.yaml")
    deeper = builder.load_spec(unet, overrides=["params.depth=4"])
    assert "parameters" not in deeper.metadata and "parameters" not in deeper.document["metadata"]
    assert deeper.shapes["unet"].total_parameters == 1940868
    shorter = builder.load_spec(unet, overrides=["training.epochs=1"])
    assert shorter.metadata["parameters"] == {"unet": 481796}
    problems = builder.validate(unet, overrides=["metadata.parameters.unet=5"])
    assert [p.message for p in problems] == [
        "model `unet` has 481,796 parameters, but metadata declares 5; correct the count or the model"
    ]


def test_a_spec_extending_another_keeps_its_counts_only_while_it_leaves_the_models_alone(write_spec):
    write_spec(NET % 36, "base.yaml")
    same_models = write_spec("kspec: 1\nextends: base.yaml\ntraining: {epochs: 3}\n", "same.yaml")
    wider = write_spec("kspec: 1\nextends: base.yaml\nmodels: {net: {layers: [{dense: {units: 8}}]}}\n", "wider.yaml")
    declared = write_spec("kspec: 1\nextends: base.yaml\nmetadata: {parameters: {net: 1}}\n"
                          "models: {net: {layers: [{dense: {units: 8}}]}}\n", "declared.yaml")
    assert builder.load_spec(same_models).metadata["parameters"] == {"net": 36}
    assert "parameters" not in builder.load_spec(wider).metadata  # 72 parameters now: the base's 36 are stale
    assert [str(p) for p in builder.validate(declared)] == [
        f"{declared}:3:30: metadata.parameters.net: model `net` has 72 parameters, but metadata declares 1; "
        "correct the count or the model"
    ]
