"""Every reference spec in specs/ validates, builds to its stated parameter counts, and survives save/load."""

import os
import subprocess
import sys

import pytest
from support import BUILD_OVERRIDES, REPO, SPEC_FILES, SPECS_DIR, assert_model_roundtrip, run_cli

from kspec import builder


# Random layers get a seed so that the original and the reloaded model draw the same noise.
SEEDS = {name: ["models.encoder.layers[z].sampling.seed=7"] for name in ("vae.yaml", "vae_with_fid.yaml")}
SEEDS.update(BUILD_OVERRIDES)
# Specs that build a published architecture with these overrides (their defaults are smaller, to train on a CPU),
# and its parameter counts: keras-io's CycleGAN and TensorFlow's pix2pix tutorial.
PUBLISHED_SIZE = ["params.image_size=256", "params.channels=3"]
PUBLISHED = {
    "cyclegan.yaml": {"generator_ab": 11383427, "generator_ba": 11383427, "discriminator_a": 2765633,
                      "discriminator_b": 2765633},
    "pix2pix.yaml": {"generator": 54425859, "discriminator": 2770433},
}


@pytest.mark.parametrize("spec_file", SPEC_FILES)
def test_reference_spec_builds_with_metadata_parameter_counts(spec_file, tmp_path):
    path = os.path.join(SPECS_DIR, spec_file)
    # A `--set` below `models` drops the declared counts (they describe the file as written): read them first.
    expected = builder.load_spec(path).metadata["parameters"]
    spec = builder.load_spec(path, overrides=SEEDS.get(spec_file, []))
    models = builder.build(spec)
    assert set(expected) == set(models), "metadata.parameters must list every model"
    assert {name: model.count_params() for name, model in models.items()} == expected
    for model in models.values():
        assert_model_roundtrip(model, str(tmp_path))


@pytest.mark.parametrize("spec_file", sorted(PUBLISHED))
def test_translation_spec_builds_the_published_architecture_at_its_size(spec_file):
    spec = builder.load_spec(os.path.join(SPECS_DIR, spec_file), overrides=PUBLISHED_SIZE)
    assert {name: model.count_params() for name, model in builder.build(spec).items()} == PUBLISHED[spec_file]


def test_vae_spec_matches_keras_mnist_vae_written_by_hand():
    import keras

    from kspec.layers import Sampling

    image = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(image)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(x))
    z_mean, z_log_var = keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)
    encoder = keras.Model(image, [z_mean, z_log_var, Sampling()([z_mean, z_log_var])])

    z = keras.Input((2,))
    x = keras.layers.Reshape((7, 7, 64))(keras.layers.Dense(7 * 7 * 64, activation="relu")(z))
    x = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    decoder = keras.Model(z, keras.layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")(x))

    built = builder.build(os.path.join(SPECS_DIR, "vae.yaml"))
    assert built["encoder"].count_params() == encoder.count_params() == 69076
    assert built["decoder"].count_params() == decoder.count_params() == 65089
    assert [tuple(t.shape) for t in built["encoder"].outputs] == [tuple(t.shape) for t in encoder.outputs]
    assert tuple(built["decoder"].output.shape) == tuple(decoder.output.shape) == (None, 28, 28, 1)


def test_unet_depth_and_filters_are_parameters():
    models = builder.build(os.path.join(SPECS_DIR, "unet.yaml"), overrides=["params.depth=2", "params.image_size=32"])
    unet = models["unet"]
    assert tuple(unet.output.shape) == (None, 32, 32, 4)
    assert sum(type(layer).__name__ == "Concatenate" for layer in unet.layers) == 2


def test_validate_never_imports_tensorflow_keras_or_numpy():
    code = (
        "import sys, glob\n"
        "from kspec.cli import main\n"
        "try:\n"
        f"    main(['validate', *sorted(glob.glob({SPECS_DIR!r} + '/*.yaml'))])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'numpy'))\n"
        "print('HEAVY', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert "specs valid" in result.stdout
    assert "HEAVY []" in result.stdout


def test_summary_prints_layers_shapes_and_totals():
    result = run_cli("summary", os.path.join(SPECS_DIR, "unet.yaml"))
    assert result.exit_code == 0, result.output
    assert "up0.merge                 Concatenate      up0.upsample, down0.conv2d_1  (None, 64, 64, 32)" in result.stdout
    assert "total params: 481,796 (trainable 481,796, non-trainable 0)" in result.stdout


def test_build_writes_reloadable_keras_file_per_model(tmp_path):
    result = run_cli("build", os.path.join(SPECS_DIR, "vae.yaml"), "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "out")) == ["decoder.keras", "encoder.keras"]
    code = (
        "import kspec, keras\n"  # kspec before keras: the post-import hook must still register Sampling
        f"model = keras.saving.load_model({str(tmp_path / 'out' / 'encoder.keras')!r})\n"
        "print(model.count_params())\n"
    )
    reloaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert reloaded.stdout.strip().splitlines()[-1] == "69076"


def test_build_of_several_models_into_one_file_asks_for_model(tmp_path):
    result = run_cli("build", os.path.join(SPECS_DIR, "vae.yaml"), "-o", tmp_path / "vae.keras")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "-o: the spec has 2 models (encoder, decoder); pick one with --model NAME or give a directory to -o to save them all"
    )
    assert run_cli("build", os.path.join(SPECS_DIR, "vae.yaml"), "--model", "decoder", "-o", tmp_path / "d.keras").exit_code == 0
    assert (tmp_path / "d.keras").exists()


# Not among the shipped specs that every spec test builds (156 layers make those loops slow): tested here.
MOBILENET_V2 = os.path.join(SPECS_DIR, "applications", "mobilenet_v2.yaml")
# keras.applications.MobileNetV2(alpha=..., weights=None).count_params(), measured with Keras 3.15.
MOBILENET_V2_PARAMETERS = {0.35: 1_691_208, 0.5: 1_987_224, 0.75: 2_663_064, 1.0: 3_538_984, 1.3: 5_431_048,
                           1.4: 6_156_712}


@pytest.mark.parametrize("alpha, parameters", sorted(MOBILENET_V2_PARAMETERS.items()))
def test_mobilenet_v2_spec_has_keras_parameter_count_and_156_layers_at_every_width(alpha, parameters):
    spec = builder.load_spec(MOBILENET_V2, overrides=[f"params.alpha={alpha}"])
    assert spec.shapes["mobilenetv2"].total_parameters == parameters  # static: no TensorFlow
    assert len(spec.models["mobilenetv2"].inputs) + len(spec.models["mobilenetv2"].nodes) == 156


@pytest.mark.slow
def test_mobilenet_v2_spec_takes_keras_weights_by_layer_name_and_computes_the_same():
    import keras
    import numpy as np

    reference = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None)
    model = builder.build(MOBILENET_V2, overrides=["params.alpha=0.35"])["mobilenetv2"]
    names = [layer.name for layer in model.layers[1:]]
    assert names == [layer.name for layer in reference.layers[1:-2]] + ["global_average_pooling2d", "predictions"]
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(reference.get_layer(layer.name).get_weights())  # by name, as weights saved by Keras
    images = np.random.default_rng(0).uniform(-1, 1, (2, 96, 96, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(images, verbose=0), reference.predict(images, verbose=0), atol=1e-6)
