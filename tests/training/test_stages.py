"""`training.stages`: each stage trains its own layers with its own optimizer in one run directory; metrics.csv
has a `stage` column; a run killed (SIGKILL) inside stage 2 resumes into stage 2 and ends as the uninterrupted
run does."""

import csv
import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from support import run_cli

from kspec.training.train import train

SPEC = """\
kspec: 1
models:
  net:
    inputs: {image: [8, 8, 1]}
    layers:
      - {name: conv, conv2d: {filters: 4, kernel_size: 3, activation: relu}}
      - {name: norm, batch_normalization: {}}
      - flatten:
      - {name: hidden, dense: {units: 8, activation: relu}}
      - {name: head, dense: {units: 10, activation: softmax}}
data:
  source: digits
  args: {size: 8, limit: LIMIT}
  normalize: unit
training:
  loss: sparse_categorical_crossentropy
  batch_size: 16
  seed: 3
  freeze: [conv, norm]
  stages:
    - {name: head, epochs: 1, freeze: [hidden], optimizer: {sgd: {learning_rate: 0.1}}}
    - {name: all, epochs: EPOCHS, unfreeze: ["*"], learning_rate: 0.003}
"""


def write(tmp_path, limit=64, epochs=1):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.replace("LIMIT", str(limit)).replace("EPOCHS", str(epochs)))
    return path


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        names = sorted({w.path.split("/")[0] for w in self.model.trainable_weights})
        optimizer = self.model.optimizer
        self.seen.append((epoch, names, type(optimizer).__name__, round(float(optimizer.learning_rate), 6)))


def rows(run):
    with open(run / "metrics.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def test_each_stage_trains_its_layers_with_its_optimizer_and_is_logged(tmp_path):
    recorder = Recorder()
    run = tmp_path / "run"
    train(str(write(tmp_path, epochs=2)), out=str(run), verbose=0, callbacks=[recorder])
    assert recorder.seen == [(0, ["head"], "SGD", 0.1),
                             (1, ["conv", "head", "hidden", "norm"], "Adam", 0.003),
                             (2, ["conv", "head", "hidden", "norm"], "Adam", 0.003)]
    assert [(row["epoch"], row["stage"]) for row in rows(run)] == [("0", "1.0"), ("1", "2.0"), ("2", "2.0")]
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 3


def test_stages_beside_epochs_are_refused(tmp_path):
    path = write(tmp_path)
    result = run_cli("validate", path, "--set", "training.epochs=3")
    assert result.exit_code == 1
    assert result.output.strip() == ("--set training.epochs=3: training.epochs: with `stages`, each stage sets its `epochs` (the run "
                                     "trains their sum); remove `training.epochs`")


def committed_epoch(run):
    path = run / "checkpoints" / "state.json"
    return json.loads(path.read_text())["epoch"] if path.exists() else 0


@pytest.mark.slow
def test_a_run_killed_in_stage_two_resumes_into_stage_two_like_the_uninterrupted_run(tmp_path):
    path = write(tmp_path, limit=600, epochs=3)
    interrupted = tmp_path / "interrupted"
    command = [sys.executable, "-m", "kspec.cli", "train", str(path), "--out", str(interrupted)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while committed_epoch(interrupted) < 2:  # epoch 2 is the first of stage 2
        assert process.poll() is None, f"the run ended before epoch 2 was committed: {process.stderr.read()}"
        assert time.monotonic() < deadline, "timed out waiting for epoch 2"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = committed_epoch(interrupted)
    assert 2 <= killed_at < 4, "the kill came too late to test a resume inside stage 2"
    resumed = run_cli("train", "--resume", interrupted)
    assert resumed.exit_code == 0, resumed.output

    uninterrupted = tmp_path / "uninterrupted"
    assert train(str(path), out=str(uninterrupted), verbose=0)
    expected, actual = rows(uninterrupted), rows(interrupted)
    assert [row["stage"] for row in actual] == ["1.0", "2.0", "2.0", "2.0"]
    for want, got in zip(expected, actual):
        # Equal only if the resumed stage has stage 2's trainable layers and its Adam state from the checkpoint.
        np.testing.assert_allclose([float(got[k]) for k in got], [float(want[k]) for k in want], rtol=1e-5,
                                   err_msg=f"epoch {want['epoch']} after a kill at epoch {killed_at}")


PLAIN_TF = """
import sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
out = loaded.signatures["serving_default"](image=tf.constant(np.load(sys.argv[2])))
assert "kspec" not in sys.modules
np.save(sys.argv[3], out["head"].numpy())
"""


@pytest.mark.slow
def test_a_fine_tuned_backbone_from_a_weights_file_trains_exports_and_serves_in_plain_tensorflow(tmp_path):
    import os

    from support import SPECS_DIR

    backbone = keras.applications.MobileNetV2(alpha=0.35, include_top=False, pooling="avg", weights=None,
                                              input_shape=(32, 32, 3))
    backbone.save_weights(tmp_path / "backbone.weights.h5")
    run, export = tmp_path / "run", tmp_path / "export"
    small = ["params.image_size=32", f"params.weights={tmp_path / 'backbone.weights.h5'}", "data.args.limit=64",
             "training.stages[0].epochs=1", "training.stages[1].epochs=1"]
    result = run_cli("train", os.path.join(SPECS_DIR, "transfer_mobilenet.yaml"), "--out", run,
                     *[part for value in small for part in ("--set", value)])
    assert result.exit_code == 0, result.output
    assert [row["stage"] for row in rows(run)] == ["1.0", "2.0"]
    exported = run_cli("export", run, "-o", export, "--checkpoint", "last")
    assert exported.exit_code == 0, exported.output

    x = np.random.default_rng(0).uniform(-1, 1, size=(3, 32, 32, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    expected = keras.saving.load_model(str(run / "checkpoints" / "epoch-0002.keras")).predict(x, verbose=0)
    subprocess.run([sys.executable, "-c", PLAIN_TF, str(export), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                   check=True, capture_output=True, cwd=tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, atol=1e-5)
