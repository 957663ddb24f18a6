"""Resource limits fail fast with a clear message (see README, Security)."""

from support import run_cli


def test_extends_chain_deeper_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s0.yaml").write_text("kspec: 1\n")
    for i in range(1, 11):
        (tmp_path / f"s{i}.yaml").write_text(f"extends: s{i - 1}.yaml\n")
    result = run_cli("validate", "s10.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == "s2.yaml: extends: `extends` chain is deeper than 8 files"


def test_layer_count_after_repetition_is_bounded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n"
        "      - repeat: 1000\n        layers:\n          - repeat: 1000\n            layers:\n              - dense: {units: 4}\n"
    )
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "spec.yaml:10:17: models.net.layers[0].layers[0].layers[0]: the model has more than 10000 layers after "
        "repetition; is a `repeat` count too large?"
    )


def test_block_nesting_is_bounded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = "".join(f"  b{i}:\n    layers:\n      - b{i + 1}: {{}}\n" for i in range(20))
    blocks += "  b20:\n    layers:\n      - dense: {units: 2}\n"
    (tmp_path / "spec.yaml").write_text(
        f"kspec: 1\nblocks:\n{blocks}models:\n  net:\n    inputs: {{x: [4]}}\n    layers:\n      - b0: {{}}\n"
    )
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("spec.yaml:50:9: blocks.b15.layers[0]: blocks nest deeper than 16 calls (in block `b15`")


def test_nested_empty_repetition_is_bounded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n"
        "      - repeat: 10000\n        layers:\n          - repeat: 10000\n            layers:\n"
        "              - repeat: 0\n                layers: [{dense: {units: 2}}]\n"
        "      - dense: {units: 2}\n"
    )
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "spec.yaml:8:21: models.net.layers[0].layers[0].repeat: repetitions nest to more than 100000 iterations"
    )


def test_a_model_too_large_for_memory_is_refused_before_allocating(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [28, 28, 4]}\n    layers:\n"
        "      - flatten:\n      - dense: {units: 1000000}\n"
    )
    result = run_cli("summary", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "spec.yaml:7:9: models.net.layers[1]: the model would have more than 250,000,000 parameters by this layer "
        "(about 3,137,000,000); is a size argument too large? (limit: KSPEC_MAX_PARAMETERS)"
    )


def test_a_chain_too_deep_for_keras_is_a_spec_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [2]}\n    layers:\n"
        "      - repeat: 3000\n        layers: [{dense: {units: 2}}]\n"
    )
    result = run_cli("summary", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "spec.yaml:4:5: models.net: Keras cannot build model `net`: its 3000 layers chain too deep; reduce the "
        "`repeat` counts"
    )


def test_attention_too_large_for_memory_is_refused_before_allocating(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [4, 8]}\n    layers:\n"
        "      - {multi_head_attention: {num_heads: 100000, key_dim: 100000}, from: [x, x]}\n"
    )
    result = run_cli("summary", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "spec.yaml:6:9: models.net.layers[0]: the model would have more than 250,000,000 parameters by this layer "
        "(about 360,000,000,000); is a size argument too large? (limit: KSPEC_MAX_PARAMETERS)"
    )
