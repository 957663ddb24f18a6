"""`kspec train` of the translation specs, `kspec translate`, export of a generator, pre-flight checks, resume."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from support import SPECS_DIR, run_cli

CYCLEGAN = os.path.join(SPECS_DIR, "cyclegan.yaml")
PIX2PIX = os.path.join(SPECS_DIR, "pix2pix.yaml")
# 40 digits, one epoch of two steps, grids of 4 rows, 4 base filters; tracing the step is most of the time.
QUICK = ["--set", "data.args.limit=40", "--set", "training.epochs=1", "--set", "training.steps_per_epoch=2",
         "--set", "training.samples.every=1", "--set", "training.samples.count=4", "--set", "params.filters=4"]
# CycleGAN at 16x16 with one residual block (pix2pix's PatchGAN needs 32x32).
SMALL_CYCLEGAN = ["--set", "params.image_size=16", "--set", "params.residual_blocks=1"]


def line_of(spec, text):
    """The 1-based line of `spec` that starts with `text` (after indentation)."""
    with open(spec) as stream:
        return 1 + next(i for i, line in enumerate(stream) if line.strip().startswith(text))


def train(path, spec, *extra):
    result = run_cli("train", spec, "--out", path, *QUICK, *extra)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    return train(tmp_path_factory.mktemp("runs") / "cyclegan", CYCLEGAN, *SMALL_CYCLEGAN)


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    return train(tmp_path_factory.mktemp("runs") / "pix2pix", PIX2PIX)


@pytest.fixture(scope="module")
def digits_a(tmp_path_factory):
    """Validation digits of domain A (raw 0..255) as an .npz and as a directory of PNGs."""
    from kspec.data import load_arrays

    images = load_arrays({"source": "digit_domains", "args": {"size": 16, "limit": 40},
                          "normalize": "none"}).validation.inputs[:5]
    images = np.floor(images)  # whole numbers, as the PNGs hold them
    root = tmp_path_factory.mktemp("digits")
    np.savez(root / "digits.npz", inputs=images)
    for index, image in enumerate(images):
        os.makedirs(root / "pngs" / "nested", exist_ok=True)
        Image.fromarray(image[..., 0].astype("uint8")).save(root / "pngs" / "nested" / f"digit{index}.png")
    return root


def test_cyclegan_run_writes_translation_grids_and_its_losses(cyclegan_run):
    assert sorted(os.listdir(cyclegan_run / "samples")) == ["translations_ab_0001.png", "translations_ba_0001.png"]
    # Four rows A | G(A) | F(G(A)) of 16x16 images with one pixel between them.
    assert Image.open(cyclegan_run / "samples" / "translations_ab_0001.png").size == (3 * 17 - 1, 4 * 17 - 1)
    with open(cyclegan_run / "metrics.csv") as stream:
        header = set(stream.readline().strip().split(","))
    assert {"g_loss", "cycle_loss", "identity_loss", "d_a_loss", "d_b_loss", "val_cycle_loss"} <= header
    assert json.loads((cyclegan_run / "checkpoints" / "state.json").read_text())["epoch"] == 1


def test_translate_is_reproducible_and_writes_npz_or_pngs(cyclegan_run, digits_a, tmp_path):
    outputs = []
    for name in ("first.npz", "second.npz"):
        result = run_cli("translate", cyclegan_run, "--input", digits_a / "digits.npz", "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"translated 5 images (ab) to {tmp_path / name}"
        with np.load(tmp_path / name) as archive:
            outputs.append(archive["outputs"])
    assert outputs[0].shape == (5, 16, 16, 1) and np.array_equal(outputs[0], outputs[1])
    assert 0.0 <= outputs[0].min() and outputs[0].max() <= 255.0  # raw range of domain B

    result = run_cli("translate", cyclegan_run, "--input", digits_a / "pngs", "-o", tmp_path / "pngs")
    assert result.exit_code == 0, result.output
    names = sorted(os.listdir(tmp_path / "pngs" / "nested"))
    assert names == [f"digit{index}.png" for index in range(5)]
    from_pngs = np.stack([np.asarray(Image.open(tmp_path / "pngs" / "nested" / n)) for n in names])
    # The same inputs as the npz: the PNGs hold the translations rounded to bytes.
    assert np.abs(from_pngs.astype("float32") - outputs[0][..., 0]).max() <= 0.5 + 1e-3

    result = run_cli("translate", cyclegan_run, "--input", digits_a / "digits.npz", "-o", tmp_path / "ba.npz",
                     "--direction", "ba")
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "ba.npz") as archive:
        assert not np.allclose(archive["outputs"], outputs[0])  # the other generator


SERVE_IN_PLAIN_TF = """
import sys
import numpy as np
import tensorflow as tf
serving = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
images = np.load(sys.argv[2])["images"]
translated = serving(image=tf.constant(images))["translation"].numpy()
assert "kspec" not in sys.modules
np.save(sys.argv[3], translated)
"""


def test_exported_generator_maps_an_image_batch_to_an_image_batch_in_plain_tensorflow(cyclegan_run, tmp_path):
    result = run_cli("export", cyclegan_run, "--model", "generator_ab", "-o", tmp_path / "generator_ab")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "generator_ab" / "kspec.json").read_text())
    assert record["role"] == "generator_ab" and record["export"]["outputs"] == ["translation"]
    images = np.random.default_rng(0).uniform(-1, 1, (3, 16, 16, 1)).astype("float32")
    np.savez(tmp_path / "images.npz", images=images)
    subprocess.run([sys.executable, "-c", SERVE_IN_PLAIN_TF, str(tmp_path / "generator_ab"),
                    str(tmp_path / "images.npz"), str(tmp_path / "served.npy")],
                   check=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""}, timeout=300)
    from kspec.training.trainer_from_spec import load_trained

    trainer = load_trained(str(cyclegan_run))[0]
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"), trainer.translate(images), atol=1e-5)


def test_sample_of_a_translation_run_points_to_translate(cyclegan_run, tmp_path):
    result = run_cli("sample", cyclegan_run, "-o", tmp_path / "grid.png")
    assert result.exit_code == 1
    assert result.stderr.strip() == "RUN_DIR: a `cyclegan` run translates images and draws no samples; use kspec translate"


def test_translate_of_another_kind_of_run_says_what_it_needs(tmp_path):
    run = tmp_path / "run"
    os.makedirs(run)
    with open(os.path.join(SPECS_DIR, "dcgan.yaml")) as source:
        (run / "spec.yaml").write_text(source.read())
    result = run_cli("translate", run, "--input", SPECS_DIR, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"RUN_DIR: {run} trained a `gan` model; translate needs a cyclegan or pix2pix run"


def test_pix2pix_run_translates_a_to_b_only_and_keeps_the_best_l1(pix2pix_run, tmp_path):
    assert sorted(os.listdir(pix2pix_run / "samples")) == ["translations_ab_0001.png"]
    assert "best.weights.h5" in os.listdir(pix2pix_run / "checkpoints")  # monitor: val_l1_loss
    np.savez(tmp_path / "a.npz", inputs=np.zeros((2, 32, 32, 1), "float32"))
    result = run_cli("translate", pix2pix_run, "--input", tmp_path / "a.npz", "-o", tmp_path / "b",
                     "--checkpoint", "best")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "b")) == ["00000.png", "00001.png"]
    result = run_cli("translate", pix2pix_run, "--input", tmp_path / "a.npz", "-o", tmp_path / "c",
                     "--direction", "ba")
    assert result.exit_code == 1
    assert result.stderr.strip() == "--direction: a `pix2pix` run translates A -> B only; drop --direction ba"


def test_channels_of_the_data_are_checked_against_every_model_before_a_run_exists(tmp_path):
    result = run_cli("train", CYCLEGAN, "--out", tmp_path / "run", "--set", "data.args.limit=20", *SMALL_CYCLEGAN,
                     "--set", "params.channels=3")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 6  # two generator inputs, two generator outputs, two discriminator inputs
    input_line, output_line = line_of(CYCLEGAN, "generator_ab:") + 1, line_of(CYCLEGAN, "- {name: translation")
    assert lines[0] == (
        f"{CYCLEGAN}:{input_line}:21: models.generator_ab.inputs.image: input `image` takes images of domain A of shape "
        "(16, 16, 3), but the data's domain A images are (16, 16, 1); make the channels agree: `color_mode` of "
        "image_directory (grayscale 1, rgb 3), or this input's last size")
    assert lines[1] == (
        f"{CYCLEGAN}:{output_line}:9: models.generator_ab.layers[translation]: output `translation` makes images of domain B of "
        "shape (16, 16, 3), but the data's domain B images are (16, 16, 1); give the last layer as many filters as "
        "the data has channels (1)")
    assert not os.path.exists(tmp_path / "run")


def test_sizes_of_the_data_are_checked_against_the_discriminator(tmp_path):
    result = run_cli("train", PIX2PIX, "--out", tmp_path / "run", "--set", "data.args.limit=20",
                     "--set", "data.args.size=[32, 28]")
    assert result.exit_code == 1
    input_line = line_of(PIX2PIX, "generator:") + 1
    assert result.stderr.strip().splitlines()[0] == (
        f"{PIX2PIX}:{input_line}:21: models.generator.inputs.image: input `image` takes images of domain A of shape "
        "(32, 32, 1), but the data's domain A images are (32, 28, 1); make the sizes agree: the source's `size` "
        "argument, or the model's image size")


def test_a_gan_on_two_domain_data_says_which_trainers_take_it(tmp_path):
    result = run_cli("train", os.path.join(SPECS_DIR, "dcgan.yaml"), "--out", tmp_path / "run",
                     "--set", "data={source: digit_domains, args: {limit: 20, size: 28}}")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("training.trainer: data source `digit_domains` gives images of two domains, "
                                     "which the `gan` trainer does not take; use the `cyclegan` or `pix2pix` trainer")


def state(run):
    with open(run / "checkpoints" / "state.json") as stream:
        return json.load(stream)


@pytest.mark.slow
def test_cyclegan_resumes_after_kill_9_to_the_full_epoch_count(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "kspec.cli", "train", CYCLEGAN, "--out", str(run), *SMALL_CYCLEGAN,
               "--set", "params.filters=4", "--set", "data.args.limit=40", "--set", "training.epochs=3",
               "--set", "training.steps_per_epoch=2", "--set", "training.samples.every=10"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None:
        if (run / "checkpoints" / "state.json").exists() and state(run)["epoch"] >= 1:
            break
        time.sleep(0.05)
    assert process.poll() is None, "training ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = state(run)["epoch"]
    assert 1 <= interrupted_at < 3

    result = run_cli("train", "--resume", run)
    assert result.exit_code == 0, result.output
    assert state(run)["epoch"] == 3
    with open(run / "metrics.csv") as stream:
        assert [line.split(",")[0] for line in stream.read().splitlines()] == ["epoch", "0", "1", "2"]
    from kspec.training.trainer_from_spec import load_trained

    trainer = load_trained(str(run))[0]
    assert int(trainer.g_optimizer.iterations) == int(trainer.d_b_optimizer.iterations) == 6
    assert int(trainer.pool_a.count) == 48  # 6 steps of 8 generated images, restored with the checkpoint
    # The linear decay (over the whole of a 3-epoch run) continued where it was: the last epoch at 1/4.
    np.testing.assert_allclose(float(trainer.g_optimizer.learning_rate), 2e-4 / 4, rtol=1e-5)
