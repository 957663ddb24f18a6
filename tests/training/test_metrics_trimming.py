"""Resuming drops the metrics.csv rows of epochs whose checkpoint was never committed, and keeps the others.

metrics.csv gets an epoch's row before that epoch's checkpoint and state.json are written, so a run killed
in between has a row past its committed epoch; the resumed run trains that epoch again and must not log it
twice.
"""

import csv
import os

import keras
import numpy as np
import pytest

from kspec.training.checkpoints import RunCheckpoint, read_state, restore, truncate_metrics
from kspec.training.run_directory import RunDirectory

HEADER = "epoch,loss,val_loss\n"


class Killed(BaseException):
    """Stands for the process being killed: no `except Exception` (or OSError) handler runs."""


def rows(count):
    return [f"{epoch},{1.0 / (epoch + 1)!r},{2.0 / (epoch + 3)!r}\n" for epoch in range(count)]


@pytest.mark.parametrize(
    "written, committed",
    [
        (5, 3),  # two epochs past the commit
        (12, 3),  # epochs 10 and 11 too: compared as numbers, "10" < "3" as text
        (3, 0),  # nothing committed: only the header stays
        (3, 3),  # nothing to trim
    ],
)
def test_rows_past_the_committed_epoch_go_and_the_others_stay_byte_for_byte(tmp_path, written, committed):
    path = tmp_path / "metrics.csv"
    path.write_text(HEADER + "".join(rows(written)))
    truncate_metrics(str(path), committed)
    assert path.read_text() == HEADER + "".join(rows(committed))


def tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def metrics_rows(run):
    with open(run.metrics_file, newline="") as stream:
        return list(csv.reader(stream))


def test_resume_after_a_crash_between_the_row_and_the_commit_logs_every_epoch_once(tmp_path, monkeypatch):
    run = RunDirectory(tmp_path / "run")
    os.makedirs(run.checkpoint_dir)
    model = tiny_model()
    checkpoint = RunCheckpoint(run, monitor="loss")
    checkpoint.set_model(model)
    for epoch in range(3):
        checkpoint.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    committed_rows = metrics_rows(run)
    # Epoch 4 logs its row, then the process dies (kill -9: nothing runs after) while saving its checkpoint:
    # state.json still names epoch 3.
    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save", lambda *args, **kwargs: (_ for _ in ()).throw(Killed()))
        with pytest.raises(Killed):
            checkpoint.on_epoch_end(3, {"loss": 0.2})
    assert [row[0] for row in metrics_rows(run)] == ["epoch", "0", "1", "2", "3"]
    assert read_state(run)["epoch"] == 3

    resumed = tiny_model()
    assert restore(resumed, run)["epoch"] == 3
    assert metrics_rows(run) == committed_rows
    checkpoint = RunCheckpoint(run, monitor="loss")
    checkpoint.set_model(resumed)
    checkpoint.on_epoch_end(3, {"loss": 0.125})
    assert metrics_rows(run) == committed_rows + [["3", "0.125"]]
    state = read_state(run)
    assert {key: state[key] for key in ("epoch", "checkpoint", "monitor", "best")} == {
        "epoch": 4, "checkpoint": "epoch-0004.keras", "monitor": "loss", "best": 0.125}
    np.testing.assert_array_equal(
        keras.saving.load_model(os.path.join(run.checkpoint_dir, "epoch-0004.keras")).get_weights()[0],
        resumed.get_weights()[0])
