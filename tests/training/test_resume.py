"""A run killed (SIGKILL) after a committed epoch and resumed is the same run: every metrics row equals the
uninterrupted run's (data order, dropout masks, sampled latents, callback counters and learning rate restored)."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from support import SPECS_DIR, run_cli

SUPERVISED = (os.path.join(SPECS_DIR, "cnn_classifier.yaml"), [
    # Two dropout layers; 20 steps per epoch; a plateau callback that changes the learning rate.
    "params.image_size=8", "data.args.size=8", "data.args.limit=400", "training.batch_size=16",
    "training.callbacks.reduce_lr_on_plateau={monitor: loss, factor: 0.5, patience: 1}",
    "training.callbacks.early_stopping={monitor: val_loss, patience: 3}"])
GAN = (os.path.join(SPECS_DIR, "dcgan.yaml"), [
    # Dropout in the discriminator and latents drawn by the trainer's seed generator, every step.
    "params.image_size=8", "params.filters=8", "params.latent_dim=8", "data.args.limit=400",
    "training.batch_size=16", "training.samples.every=5", "training.samples.count=4"])
EPOCHS = 4


def overrides(values):
    return [part for value in [*values, f"training.epochs={EPOCHS}"] for part in ("--set", value)]


def committed_epoch(run):
    path = run / "checkpoints" / "state.json"
    return json.loads(path.read_text())["epoch"] if path.exists() else 0  # replaced atomically: never half


def rows(run):
    with open(run / "metrics.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def kill_after_first_epoch(spec, values, run):
    command = [sys.executable, "-m", "kspec.cli", "train", spec, "--out", str(run), *overrides(values)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while committed_epoch(run) < 1:
        assert process.poll() is None, f"the run ended before its first epoch was committed: {process.stderr.read()}"
        assert time.monotonic() < deadline, "timed out waiting for the first committed epoch"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return committed_epoch(run)


@pytest.mark.slow
@pytest.mark.parametrize("spec, values", [SUPERVISED, GAN], ids=["supervised", "gan"])
def test_a_killed_and_resumed_run_has_the_metrics_of_the_uninterrupted_run(tmp_path, spec, values):
    interrupted = tmp_path / "interrupted"
    killed_at = kill_after_first_epoch(spec, values, interrupted)
    assert 1 <= killed_at < EPOCHS, "the kill came too late to test a resume"
    resumed = run_cli("train", "--resume", interrupted)  # the OS lock died with the killed process
    assert resumed.exit_code == 0, resumed.output

    uninterrupted = tmp_path / "uninterrupted"
    result = run_cli("train", spec, "--out", uninterrupted, *overrides(values))
    assert result.exit_code == 0, result.output

    expected, actual = rows(uninterrupted), rows(interrupted)
    assert [row["epoch"] for row in actual] == [str(epoch) for epoch in range(EPOCHS)]
    assert list(actual[0]) == list(expected[0])
    for want, got in zip(expected, actual):
        np.testing.assert_allclose([float(got[k]) for k in got], [float(want[k]) for k in want], rtol=1e-5,
                                   err_msg=f"epoch {want['epoch']} after a kill at epoch {killed_at}")
    if spec == GAN[0]:
        # 4 epochs with `every: 5` still end with a grid of the final generator, the same in both runs.
        assert os.listdir(interrupted / "samples") == os.listdir(uninterrupted / "samples") == ["samples_0004.png"]
        assert ((interrupted / "samples" / "samples_0004.png").read_bytes()
                == (uninterrupted / "samples" / "samples_0004.png").read_bytes())
