"""`kspec train` on supervised specs: run directories, checkpoints, resume after kill -9, clear data errors."""

import csv
import errno
import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from support import SPECS_DIR, run_cli, wait_until

CNN = os.path.join(SPECS_DIR, "cnn_classifier.yaml")
# Small and quick: 300 digits, two epochs.
SMALL = ["--set", "data.args.limit=300", "--set", "training.epochs=2", "--set", "training.batch_size=32"]


def metrics_epochs(run):
    with open(os.path.join(run, "metrics.csv"), newline="") as stream:
        return [int(row["epoch"]) for row in csv.DictReader(stream)]


def state(run):
    with open(os.path.join(run, "checkpoints", "state.json")) as stream:
        return json.load(stream)


def test_train_writes_a_complete_run_directory(tmp_path):
    run = tmp_path / "run"
    result = run_cli("train", CNN, "--out", run, *SMALL)
    assert result.exit_code == 0, result.output
    assert f"run directory: {run}" in result.stdout
    assert sorted(os.listdir(run)) == ["checkpoints", "data.json", "logs", "metrics.csv", "run.json", "run.lock",
                                       "spec.yaml"]
    assert sorted(os.listdir(run / "checkpoints")) == ["best.keras", "epoch-0002.keras", "state.json"]
    assert metrics_epochs(run) == [0, 1]
    record = json.loads((run / "run.json").read_text())
    assert len(record["spec_hash"]) == 64
    assert set(record["versions"]) == {"python", "keras", "kspec", "tensorflow"}
    assert record["git"] is None or set(record["git"]) == {"commit", "modified"}
    # The resolved spec has the overrides applied and builds the same model again.
    from kspec import builder

    resolved = builder.load_spec(str(run / "spec.yaml"))
    assert resolved.training["epochs"] == 2 and resolved.data["args"]["limit"] == 300
    assert os.listdir(run / "logs"), "TensorBoard logs are written"


@pytest.mark.slow
@pytest.mark.parametrize("committed", [0, 1, 2], ids=["during-first-epoch", "after-1-epoch", "after-2-epochs"])
def test_resume_after_kill_9_finishes_with_continuous_metrics_and_optimizer_state(tmp_path, committed):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "kspec.cli", "train", CNN, "--out", str(run),
               "--set", "data.args.limit=400", "--set", "training.epochs=4", "--set", "training.batch_size=16"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready_to_kill():
        if process.poll() is not None:
            return "ended"
        if committed == 0:  # TensorBoard's train/ log directory appears when fit starts: the first epoch is under way
            return (run / "logs" / "train").exists()
        return (run / "checkpoints" / "state.json").exists() and state(run)["epoch"] >= committed

    wait_until(ready_to_kill, 120, f"epoch {committed} of the run to commit")
    assert process.poll() is None, "training ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = state(run)["epoch"] if (run / "checkpoints" / "state.json").exists() else 0
    assert committed <= interrupted_at < 4

    result = run_cli("train", "--resume", run)
    assert result.exit_code == 0, result.output
    assert state(run)["epoch"] == 4
    assert metrics_epochs(run) == [0, 1, 2, 3]
    import keras

    import kspec  # noqa: F401

    final = keras.saving.load_model(str(run / "checkpoints" / "epoch-0004.keras"))
    steps_per_epoch = int(np.ceil(320 / 16))  # 400 digits, 20% held out
    assert int(final.optimizer.iterations) == 4 * steps_per_epoch
    assert [f for f in os.listdir(run / "checkpoints") if f.startswith(".tmp")] == []


def test_resume_refuses_overrides(tmp_path):
    result = run_cli("train", "--resume", tmp_path, "--set", "training.epochs=3")
    assert result.exit_code == 1
    assert result.stderr.strip() == "--set: a resumed run keeps its own spec; drop --set (or start a new run)"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["--set", "data.args.size=8"],
         f"{CNN}:16:21: models.classifier.inputs.image: images are 8x8 but models.classifier input `image` expects "
         "shape (28, 28, 1); change params.image_size or data.args.size so they agree"),
        (["--set", "data={source: npz, args: {path: missing.npz}}"],
         "--set data={source: npz, args: {path: missing.npz}}:1:28: data.args.path: expected the path of a .npz file. "
         "Received: path='missing.npz', which does not exist"),
    ],
)
def test_data_problems_are_one_line_naming_the_field_and_leave_no_run_directory(tmp_path, monkeypatch, overrides,
                                                                                message):
    monkeypatch.chdir(tmp_path)
    result = run_cli("train", CNN, "--out", tmp_path / "run", *SMALL, *overrides)
    assert result.exit_code == 1
    assert result.stderr.strip() == message
    assert not (tmp_path / "run").exists()


def test_non_finite_loss_stops_without_checkpoint_and_says_what_to_do(tmp_path):
    run = tmp_path / "run"
    # A learning rate of 1e30 makes the weights, then the squared error, overflow after the first update.
    lstm = os.path.join(SPECS_DIR, "lstm_forecaster.yaml")
    result = run_cli("train", lstm, "--out", run, "--set", "training.epochs=2", "--set", "data.args.length=400",
                     "--set", "training.optimizer={sgd: {learning_rate: 1.0e+30}}")
    assert result.exit_code == 1, result.output
    message = result.stderr.strip()
    assert re.fullmatch(
        r"training: loss became (nan|inf) at epoch 1, batch \d+; training stopped and no epoch had finished, so there "
        rf"is no checkpoint. Lower the learning rate or check the data, then resume with --resume {re.escape(str(run))}",
        message,
    ), message
    assert not (run / "checkpoints" / "state.json").exists()


def test_unwritable_output_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_cli("train", CNN, "--out", blocker / "run", *SMALL)
    assert result.exit_code == 1
    # The reason is the operating system's own wording (strerror), not kspec's: compare with what this OS says.
    assert result.stderr.strip() == (
        f"--out: cannot write the run directory {blocker / 'run'}: {os.strerror(errno.ENOTDIR)}")
