"""Errors that only appear when Keras builds the graph are reported at the spec node, with both shapes."""

import os

from support import SPECS_DIR, run_cli


def test_unet_skip_size_mismatch_names_node_and_both_shapes(tmp_path, monkeypatch):
    # 60 is not divisible by 2**3: pooling floors 15 -> 7, upsampling gives 14, and the level-2 skip is 15.
    result = run_cli("summary", os.path.join(SPECS_DIR, "unet.yaml"), "--set", "params.image_size=60")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        f"{SPECS_DIR}/unet.yaml:29:9: blocks.up.layers[merge] (in block `up` called as `up2` at models.unet.layers[2].layers[0]): "
        "`concatenate` needs inputs that agree on all axes but the concatenation axis, but axis 1 differs: "
        "`up2.upsample` (None, 14, 14, 64) vs `down2.conv2d_1` (None, 15, 15, 64); check the strides, padding or pooling upstream"
    ]


def test_keras_shape_error_is_one_line_at_the_node(write_spec):
    spec = write_spec(
        "kspec: 1\n"
        "models:\n"
        "  net:\n"
        "    inputs: {x: [4]}\n"
        "    layers:\n"
        "      - conv2d: {filters: 3, kernel_size: 3}\n"
    )
    result = run_cli("build", spec, "-o", os.path.join(os.path.dirname(spec), "net.keras"))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{spec}:6:9: models.net.layers[0]: `conv2d` cannot take its input `x` (None, 4): ")
    assert "ndim=4" in lines[0]


def test_keras_argument_error_is_one_line_at_the_node(write_spec):
    spec = write_spec(
        "kspec: 1\n"
        "models:\n"
        "  net:\n"
        "    inputs: {x: [8, 8, 1]}\n"
        "    layers:\n"
        "      - conv2d: {filters: 3, kernel_size: 3, strides: 2, dilation_rate: 2}\n"
    )
    result = run_cli("summary", spec)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{spec}:6:9: models.net.layers[0]: `conv2d` rejects its arguments: ")


def test_layers_keras_fails_on_in_unusual_ways_are_one_line(write_spec):
    # Found by probing every layer of the catalog: an IndexError from inside `call()` (Keras' message wrapped
    # with terminal escapes), and a layer that hands back its input, which Keras' Model() refuses.
    for layer, message in [
        ("random_crop: {height: 2, width: 2}",
         ":6:9: models.net.layers[0]: `random_crop` cannot take its input `x` (None, 8): list assignment index out of range"),
        ("equalization: {}",
         ":4:5: models.net: Keras cannot make model `net` from its layers: Tensor <KerasTensor shape=(None, 8), "
         "dtype=float32, sparse=False, ragged=False, name=x> from operation 'equalization' is part of a cycle."),
    ]:
        spec = write_spec(f"kspec: 1\nmodels:\n  net:\n    inputs: {{x: [8]}}\n    layers:\n      - {layer}\n")
        result = run_cli("summary", spec)
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == [spec + message]
