"""`kspec layers [NAME]`: layers and their arguments from the catalog, without TensorFlow."""

import subprocess
import sys

from support import run_cli

from kspec.builder.keras_catalog import load_table


def test_the_list_has_every_catalog_layer_with_what_it_needs():
    result = run_cli("layers")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(load_table()["layers"]) + 1
    assert lines[-1] == f"{len(load_table()['layers'])} layers; `kspec layers NAME` shows one layer's arguments"
    conv2d = next(line for line in lines if line.startswith("conv2d "))
    assert conv2d.split() == ["conv2d", "keras.layers.Conv2D", "needs", "filters,", "kernel_size"]
    assert any(line.split()[:2] == ["sampling", "kspec.layers.sampling.Sampling"] for line in lines)


def test_one_layer_lists_its_arguments_with_types_and_defaults():
    result = run_cli("layers", "Dropout")  # any spelling
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:4] == [
        "dropout: keras.layers.Dropout",
        "  rate         a number in [0, 1]  required",
        "  noise_shape  anything            default null",
        "  seed         an integer or null  default null",
    ]
    padding = next(line for line in run_cli("layers", "conv2d").stdout.splitlines() if line.split()[0] == "padding")
    assert padding.split(None, 1)[1].split() == ["one", "of", "valid,", "same", "default", '"valid"']


def test_an_unknown_layer_suggests_the_closest():
    result = run_cli("layers", "conv2dd")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("NAME: unknown layer `conv2dd` (did you mean 'conv2d' or 'conv3d' or "
                                     "'conv1d'?); `kspec layers` lists them all")


def test_activations_are_listed():
    assert "gelu" in run_cli("layers", "--activations").stdout.split()


def test_layers_never_imports_tensorflow():
    code = ("import sys; from kspec.cli import main; main(['layers', 'lstm'], standalone_mode=False); "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
