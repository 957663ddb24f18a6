"""`kspec train` of VAE, GAN and AAE specs, and the sample / interpolate / export commands on their runs."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from support import SPECS_DIR, run_cli

QUICK = ["--set", "training.epochs=1", "--set", "training.steps_per_epoch=2", "--set", "training.samples.every=1",
         "--set", "training.samples.count=4"]


def train(tmp_path, spec, *extra):
    run = tmp_path / spec
    result = run_cli("train", os.path.join(SPECS_DIR, f"{spec}.yaml"), "--out", run, *extra)
    assert result.exit_code == 0, result.output
    return run


@pytest.mark.parametrize("spec, grids", [
    ("vae", ["reconstructions_0001.png", "samples_0001.png"]),
    ("dcgan", ["samples_0001.png"]),
    ("aae", ["reconstructions_0001.png", "samples_0001.png"]),
])
def test_generative_spec_trains_and_writes_sample_grids(trained_run, spec, grids):
    run = trained_run(spec)
    assert sorted(os.listdir(run / "samples")) == grids
    state = json.loads((run / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 1 and state["checkpoint"] == "epoch-0001.weights.h5"
    with open(run / "metrics.csv") as stream:
        header = stream.readline().strip().split(",")
    expected = {"vae": {"loss", "reconstruction_loss", "kl_loss"}, "dcgan": {"d_loss", "g_loss"},
                "aae": {"reconstruction_loss"}}[spec]
    assert expected <= set(header)


def test_sample_is_reproducible_and_interpolate_writes_a_row(tmp_path, trained_run):
    run = trained_run("vae")
    digests = []
    for name in ("a.png", "b.png"):
        result = run_cli("sample", run, "-n", 9, "-o", tmp_path / name, "--seed", 4)
        assert result.exit_code == 0, result.output
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    assert run_cli("sample", run, "-n", 9, "-o", tmp_path / "c.png", "--seed", 5).exit_code == 0
    assert hashlib.sha256((tmp_path / "c.png").read_bytes()).hexdigest() != digests[0]

    from PIL import Image

    result = run_cli("interpolate", run, "--steps", 6, "-o", tmp_path / "morph.png", "--from-data")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "morph.png").size == (6 * 28 + 5, 28)


SAMPLE_IN_PLAIN_TF = """
import sys
import numpy as np
import tensorflow as tf
serving = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
images = serving(z=tf.constant(np.random.default_rng(0).normal(size=(5, 64)).astype("float32")))["image"]
assert "kspec" not in sys.modules
print(images.shape, float(tf.reduce_min(images)), float(tf.reduce_max(images)))
"""


def test_exported_generator_samples_in_plain_tensorflow(tmp_path, trained_run):
    run = trained_run("dcgan")
    result = run_cli("export", run, "-o", tmp_path / "generator")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "generator" / "kspec.json").read_text())["role"] == "generator"
    printed = subprocess.run([sys.executable, "-c", SAMPLE_IN_PLAIN_TF, str(tmp_path / "generator")],
                             capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    assert printed[:4] == ["(5,", "28,", "28,", "1)"]
    assert -1.0 <= float(printed[4]) <= float(printed[5]) <= 1.0  # tanh output
    refused = run_cli("export", run, "-o", tmp_path / "mc", "--mc-samples", 3)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"--mc-samples: {run} trained a `gan` model; --mc-samples needs a supervised run"


def test_generative_run_resumes_to_the_full_epoch_count(tmp_path):
    run = train(tmp_path, "ring_gan", "--set", "training.epochs=1", "--set", "training.steps_per_epoch=3")
    # Rewrite the resolved spec's epoch count as if the run had been asked for 2 and stopped after 1.
    spec = (run / "spec.yaml").read_text().replace("epochs: 1", "epochs: 2")
    (run / "spec.yaml").write_text(spec)
    result = run_cli("train", "--resume", run)
    assert result.exit_code == 0, result.output
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 2
    with open(run / "metrics.csv") as stream:
        assert [line.split(",")[0] for line in stream.read().splitlines()] == ["epoch", "0", "1"]
    from kspec.training.trainer_from_spec import load_trained

    trainer = load_trained(str(run))[0]
    assert int(trainer.d_optimizer.iterations) == 6 and int(trainer.g_optimizer.iterations) == 6
    points = trainer.sample(50, seed=0)
    assert points.shape == (50, 2) and np.isfinite(points).all()


def test_sample_of_a_supervised_run_says_what_it_needs(tmp_path, trained_run):
    run = trained_run("cnn_classifier")
    result = run_cli("sample", run, "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"RUN_DIR: {run} trained a `supervised` model; sampling needs a vae, gan or aae run"


def test_dcgan_with_every_regularizer_trains_resumes_and_samples(tmp_path):
    options = "{gan: {r1_gamma: 1.0, r1_interval: 2, spectral_norm: true, diff_augment: [translation, cutout, color]}}"
    run = train(tmp_path, "dcgan", *QUICK, "--set", f"training.trainer={options}")
    with open(run / "metrics.csv") as stream:
        header = stream.readline().strip().split(",")
    assert header == ["epoch", "d_loss", "g_loss", "r1_penalty", "val_d_loss", "val_g_loss"]  # R1 trains only
    # Rebuilt from the spec (discriminator wrapped again) with the checkpoint's weights.
    result = run_cli("sample", run, "-n", 4, "-o", tmp_path / "grid.png")
    assert result.exit_code == 0, result.output


NO_KERNELS = """\
kspec: 1
extends: {spec}
models:
  discriminator:
    inputs: {{image: [28, 28, 1]}}
    layers:
      - global_average_pooling2d:
training:
  trainer: {{gan: {{spectral_norm: true}}}}
"""


@pytest.mark.parametrize("override, line, message", [
    ("training.trainer.gan.r1_gamma=-1", "--set training.trainer.gan.r1_gamma=-1",
     "training.trainer.gan.r1_gamma: Invalid value for argument `r1_gamma`: expected a number >= 0 (0 turns R1 off). "
     "Received: r1_gamma=-1"),
    ("training.trainer.gan.diff_augment=[translation, flip]", "--set training.trainer.gan.diff_augment=[translation, flip]",
     "training.trainer.gan.diff_augment: Invalid value for argument `diff_augment`: unknown augmentation 'flip'; "
     "expected any of color, translation, cutout. Received: diff_augment=['translation', 'flip']"),
    ("training.epochs=1", "{spec}:9:34",
     "training.trainer.gan.spectral_norm: Invalid value for argument `spectral_norm`: the discriminator has no Dense or "
     "convolutional layer whose kernel could be normalized (layers with weights: none). Received: spectral_norm=True"),
])
def test_bad_gan_regularizer_options_are_one_line_and_leave_no_run(tmp_path, override, line, message):
    spec = tmp_path / "no_kernels.yaml"
    spec.write_text(NO_KERNELS.format(spec=os.path.join(SPECS_DIR, "dcgan.yaml")))
    used = spec if "epochs" in override else os.path.join(SPECS_DIR, "dcgan.yaml")
    result = run_cli("train", used, "--out", tmp_path / "run", "--set", override)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{line.format(spec=spec)}: {message}"
    assert not (tmp_path / "run").exists()
