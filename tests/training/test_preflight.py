"""Pre-flight: data that does not fit the models is one line per problem, at the model input, before any run
directory exists; each trainer plugs its check in with one registered function."""

import os
import textwrap
import types

import pytest
from support import SPECS_DIR, run_cli

from kspec.errors import SpecError


def spec_path(name):
    return os.path.join(SPECS_DIR, f"{name}.yaml")


CONDITIONAL_GAN = textwrap.dedent("""\
    kspec: 1
    models:
      generator:
        inputs: {z: [8], label: [1]}
        layers:
          - {name: joined, concatenate: {}, from: [z, label]}
          - dense: {units: 64, activation: tanh}
          - {name: image, reshape: {target_shape: [8, 8, 1]}}
      discriminator:
        inputs: {image: [8, 8, 1], label: [1]}
        layers:
          - {name: flat, flatten: {}, from: image}
          - {name: joined, concatenate: {}, from: [flat, label]}
          - {name: logit, dense: {units: 1}}
    data:
      source: digits
      args: {size: 8, target: none}
      normalize: symmetric
    training:
      trainer: {gan: {num_classes: 10}}
      epochs: 1
    """)

CASES = {
    # GAN/VAE/AAE specs whose channels differ from the data ended in a 59-line traceback.
    "gan-channels": ("dcgan", ["params.channels=3"], [
        "{spec}:33:21: models.discriminator.inputs.image: images have 1 channel but models.discriminator input "
        "`image` expects shape (28, 28, 3); change params.channels so they agree",
        "{spec}:30:9: models.generator.layers[image]: the generator makes 28x28 images with 3 channels but the data "
        "has 28x28 images with 1 channel; change params.channels so they agree"]),
    "tanh-generator-unit-data": ("dcgan", ["data.normalize=unit"], [
        "{spec}:30:9: models.generator.layers[image]: the generator ends in tanh (values in [-1, 1]) but the data is "
        "in [0, 1] (data.normalize: unit); set data.normalize: symmetric or end the generator with activation: "
        "sigmoid"]),
    "sigmoid-decoder-symmetric-data": ("vae", ["data.normalize=symmetric"], [
        "{spec}:36:9: models.decoder.layers[image]: the decoder ends in sigmoid (values in [0, 1]) but the data is "
        "in [-1, 1] (data.normalize: symmetric); set data.normalize: unit or end the decoder with activation: tanh",
        "{spec}:46:67: training.trainer.vae.reconstruction: reconstruction `bce` needs data in [0, 1] but the data "
        "is in [-1, 1] (data.normalize: symmetric); set data.normalize: unit, or reconstruction: mse"]),
    "vae-image-size": ("vae", ["data.args.size=28", "params.image_size=32"], [
        "{spec}:16:21: models.encoder.inputs.image: images are 28x28 but models.encoder input `image` expects shape "
        "(32, 32, 1); change params.image_size or data.args.size so they agree",
        "{spec}:36:9: models.decoder.layers[image]: the decoder makes 32x32 images with 1 channel but the data has "
        "28x28 images with 1 channel; change params.image_size or data.args.size so they agree"]),
    "aae-code-size": ("aae", ["models.decoder.inputs.z=[3]"], [
        "--set models.decoder.inputs.z=[3]: models.decoder.inputs.z: expects shape (3,) but the encoder's output `z` "
        "has shape (2,)"]),
    "classifier-units": ("cnn_classifier", ["params.classes=4"], [
        "{spec}:25:9: models.classifier.layers[class_probabilities]: labels have 10 classes but models.classifier "
        "output `class_probabilities` has shape (4,); change params.classes so they agree"]),
    "supervised-without-labels": ("cnn_classifier", ["data.args.target=none"], [
        "{spec}:29:11: data: supervised training fits the model to targets but the data has none (task "
        "generation); set data.args.target: labels (or images), or name a generative trainer in training.trainer"]),
    "lstm-window": ("lstm_forecaster", ["data.args.window=24"], [
        "{spec}:17:23: models.forecaster.inputs.history: inputs have shape (24, 1) but models.forecaster input "
        "`history` expects shape (48, 1); change params.window or data.args.window so they agree"]),
    "conditional-gan-without-labels": ("conditional_gan", [], [
        "{spec}:20:32: training.trainer.gan.num_classes: a conditional GAN (num_classes: 10) trains on (image, "
        "label) pairs but the data has no class labels (task generation); set data.args.target: labels, or drop "
        "num_classes"]),
    "conditional-gan-too-few-classes": ("conditional_gan", ["data.args.target=labels",
                                                            "training.trainer.gan.num_classes=5"], [
        "--set training.trainer.gan.num_classes=5: training.trainer.gan.num_classes: the data has 10 classes but "
        "num_classes is 5; set num_classes: 10"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_data_that_does_not_fit_is_one_line_per_problem_and_no_run_directory(tmp_path, case):
    name, overrides, lines = CASES[case]
    spec = spec_path(name)
    if name == "conditional_gan":
        spec = tmp_path / "conditional_gan.yaml"
        spec.write_text(CONDITIONAL_GAN)
    arguments = [part for override in overrides for part in ("--set", override)]
    result = run_cli("train", spec, "--out", tmp_path / "run", *arguments)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [line.format(spec=spec) for line in lines]
    assert not (tmp_path / "run").exists()


def test_a_new_trainer_plugs_its_check_in_with_one_function():
    from kspec.data import load_arrays
    from kspec.training.preflight import PREFLIGHT_CHECKS, preflight

    @PREFLIGHT_CHECKS.register("preflight_test_translation")
    def check(flight):
        flight.problem("first", path="data")
        if flight.info.target_shape is None:
            flight.problem("the data has no target images", path="data.args.target")

    arrays = load_arrays({"source": "ring", "args": {"count": 10}})
    config = types.SimpleNamespace(trainer="preflight_test_translation", models={})
    with pytest.raises(SpecError) as caught:
        preflight(None, config, {}, arrays)
    assert str(caught.value) == "data: first\ndata.args.target: the data has no target images"
    preflight(None, types.SimpleNamespace(trainer="no_check_registered", models={}), {}, arrays)
