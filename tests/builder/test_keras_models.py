"""Build stage details: spec arguments as Keras takes them."""

from kspec import builder


def test_short_initializer_regularizer_and_constraint_forms_build(tmp_path):
    (tmp_path / "spec.yaml").write_text(
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n"
        "      - dense:\n          units: 3\n          kernel_initializer: {random_normal: {stddev: 0.02, seed: 1}}\n"
        "          bias_initializer: zeros\n          kernel_regularizer: {l2: {l2: 0.001}}\n"
        "          kernel_constraint: {max_norm: {max_value: 1.5}}\n"
    )
    assert builder.validate(str(tmp_path / "spec.yaml")) == []
    dense = builder.build(str(tmp_path / "spec.yaml"))["net"].layers[-1]
    assert type(dense.kernel_initializer).__name__ == "RandomNormal"
    assert dense.kernel_initializer.stddev == 0.02
    assert type(dense.bias_initializer).__name__ == "Zeros"
    assert type(dense.kernel_regularizer).__name__ == "L2" and abs(dense.kernel_regularizer.l2 - 0.001) < 1e-9
    assert type(dense.kernel_constraint).__name__ == "MaxNorm" and dense.kernel_constraint.max_value == 1.5
