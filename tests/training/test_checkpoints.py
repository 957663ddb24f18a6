"""Checkpoint protocol: a non-finite loss keeps the last good checkpoint; a crash never leaves a half file."""

import os

import keras
import numpy as np
import pytest

from kspec.errors import SpecError
from kspec.training.checkpoints import RunCheckpoint, raise_if_failed, read_state, restore, truncate_metrics
from kspec.training.run_directory import RunDirectory


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def run_directory(tmp_path):
    run = RunDirectory(tmp_path / "run")
    os.makedirs(run.checkpoint_dir)
    return run


def test_non_finite_loss_after_a_good_epoch_keeps_that_checkpoint(tmp_path):
    run, model = run_directory(tmp_path), tiny_model()
    checkpoint = RunCheckpoint(run, monitor="loss")
    checkpoint.set_model(model)
    checkpoint.on_epoch_begin(0)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    good = model.get_weights()
    checkpoint.on_epoch_begin(1)
    checkpoint.on_train_batch_end(6, {"loss": float("inf")})
    checkpoint.on_epoch_end(1, {"loss": float("inf")})
    assert model.stop_training
    assert read_state(run) == {"epoch": 1, "checkpoint": "epoch-0001.keras", "monitor": "loss", "best": 0.5,
                               "stopped_early": False, "seed_states": [], "callbacks": {}}
    with pytest.raises(SpecError) as caught:
        raise_if_failed(checkpoint)
    assert str(caught.value) == (
        f"training: loss became inf at epoch 2, batch 7; training stopped and the last good checkpoint is "
        f"{os.path.join(run.checkpoint_dir, 'epoch-0001.keras')} (epoch 1). Lower the learning rate or check the "
        f"data, then resume with --resume {run.path}"
    )
    fresh = tiny_model()
    assert restore(fresh, run)["epoch"] == 1
    for want, got in zip(good, fresh.get_weights()):
        np.testing.assert_array_equal(want, got)


def test_failed_save_leaves_previous_checkpoint_and_state_untouched(tmp_path, monkeypatch):
    run, model = run_directory(tmp_path), tiny_model()
    checkpoint = RunCheckpoint(run, monitor="loss")
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"loss": 0.5})

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", disk_full)
    with pytest.raises(OSError):
        checkpoint.on_epoch_end(1, {"loss": 0.4})
    assert read_state(run)["checkpoint"] == "epoch-0001.keras"
    assert sorted(os.listdir(run.checkpoint_dir)) == ["best.keras", "epoch-0001.keras", "state.json"]
    # The CSV row of the lost epoch goes when the run resumes.
    truncate_metrics(run.metrics_file, read_state(run)["epoch"])
    with open(run.metrics_file) as stream:
        assert [line.split(",")[0] for line in stream.read().splitlines()] == ["epoch", "0"]


def test_too_little_disk_space_is_an_error_before_training(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from kspec import builder
    from support import SPECS_DIR

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    spec = builder.load_spec(os.path.join(SPECS_DIR, "cnn_classifier.yaml"))
    with pytest.raises(SpecError) as caught:
        RunDirectory.create(spec, str(tmp_path / "run"), required_bytes=50 * 2**20)
    assert str(caught.value) == f"--out: only 1 MiB free at {tmp_path / 'run'}; checkpoints need about 50 MiB"
    assert not os.path.exists(tmp_path / "run" / "checkpoints" / "state.json")


def test_published_files_get_the_usual_permissions_not_tempfiles_0600(tmp_path):
    from kspec.training.run_directory import write_atomic

    umask = os.umask(0o022)
    try:
        write_atomic(str(tmp_path / "run.json"), "{}")
    finally:
        os.umask(umask)
    assert oct(os.stat(tmp_path / "run.json").st_mode & 0o777) == oct(0o644)
