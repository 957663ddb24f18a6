"""`best.keras` holds the model of the best epoch so far, in the direction the monitored value improves.

Each run fits a tiny model for a few one-step epochs; a scripted callback placed before the checkpoint
callback stamps the weights of epoch k with the value k and logs a scripted monitored value, so the weights
in best.keras name the epoch they came from. The values improve, worsen, then improve again (and, for the
mode that reads them the other way round, the opposite), so a best chosen in the wrong direction, one
replaced by every epoch, or one never replaced after the first all give the wrong epoch.
"""

import os

import keras
import numpy as np
import pytest

from kspec.training.checkpoints import RunCheckpoint, read_state, restore
from kspec.training.run_directory import RunDirectory

# Monitored value per epoch: improves (1), worsens (2), improves past the first best (3), worsens (4).
LOWER_IS_BETTER = [0.9, 0.5, 0.7, 0.2, 0.4]
HIGHER_IS_BETTER = [0.1, 0.5, 0.3, 0.8, 0.6]


class ScriptedEpochs(keras.callbacks.Callback):
    """At the end of epoch k: weights all equal to k + 1, and `monitor` logged as `values[k]`."""

    def __init__(self, monitor, values):
        super().__init__()
        self.monitor, self.values = monitor, values

    def on_epoch_end(self, epoch, logs=None):
        self.model.set_weights([np.full_like(w, epoch + 1.0) for w in self.model.get_weights()])
        logs[self.monitor] = self.values[epoch]


def tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def stamp(path):
    """The epoch (1-based) whose stamped weights the checkpoint at `path` holds."""
    weights = keras.saving.load_model(path).get_weights()
    values = {float(v) for w in weights for v in np.ravel(w)}
    assert len(values) == 1, f"weights of several epochs mixed in {path}: {values}"
    return int(values.pop())


def fit(run, monitor, values, mode="auto", initial_epoch=0):
    model = tiny_model()
    state = restore(model, run) if initial_epoch else None  # what `kspec train --resume` hands the checkpoint
    if initial_epoch:
        assert state["epoch"] == initial_epoch
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    checkpoint = RunCheckpoint(run, monitor=monitor, mode=mode, state=state)
    model.fit(x, y, batch_size=4, epochs=len(values), initial_epoch=initial_epoch, verbose=0, shuffle=False,
              callbacks=[ScriptedEpochs(monitor, values), checkpoint])
    return model


@pytest.fixture
def run(tmp_path):
    run = RunDirectory(tmp_path / "run")
    os.makedirs(run.checkpoint_dir)
    return run


def best_epoch(values, higher_is_better):
    """1-based epoch of the best value; the first of equals (a later equal value is no improvement)."""
    best = (max if higher_is_better else min)(values)
    return values.index(best) + 1


@pytest.mark.parametrize(
    "monitor, mode, values, higher_is_better",
    [
        ("val_loss", "min", LOWER_IS_BETTER, False),
        ("val_score", "max", HIGHER_IS_BETTER, True),
        ("val_loss", "auto", LOWER_IS_BETTER, False),  # a loss: lower is better
        ("val_accuracy", "auto", HIGHER_IS_BETTER, True),  # accuracy-like names: higher is better
        ("val_score", "min", HIGHER_IS_BETTER, False),  # the mode, not the values' shape, decides
        ("val_score", "max", LOWER_IS_BETTER, True),
    ],
)
def test_best_checkpoint_after_each_epoch_is_the_best_epoch_so_far(run, monitor, mode, values, higher_is_better):
    best = []

    class Record(keras.callbacks.Callback):  # after RunCheckpoint: best.keras as it stands after this epoch
        def on_epoch_end(self, epoch, logs=None):
            best.append(stamp(os.path.join(run.checkpoint_dir, "best.keras")))

    model = tiny_model()
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=len(values), verbose=0, shuffle=False,
              callbacks=[ScriptedEpochs(monitor, values), RunCheckpoint(run, monitor, mode), Record()])
    assert best == [best_epoch(values[: k + 1], higher_is_better) for k in range(len(values))]
    final = read_state(run)
    assert final["monitor"] == monitor
    assert final["best"] == pytest.approx(values[best_epoch(values, higher_is_better) - 1])
    assert stamp(os.path.join(run.checkpoint_dir, final["checkpoint"])) == len(values)


@pytest.mark.parametrize("mode, values, higher_is_better",
                         [("min", LOWER_IS_BETTER, False), ("max", HIGHER_IS_BETTER, True)])
def test_a_resumed_run_keeps_the_best_of_the_epochs_before_the_interruption(run, mode, values, higher_is_better):
    fit(run, "val_score", values[:2], mode)  # the first run ends after the improving epochs 1 and 2
    assert stamp(os.path.join(run.checkpoint_dir, "best.keras")) == 2
    # Resumed: epoch 3 is worse than epoch 2 (best.keras stays), epoch 4 better than both (it replaces it).
    fit(run, "val_score", values[:3], mode, initial_epoch=2)
    assert stamp(os.path.join(run.checkpoint_dir, "best.keras")) == 2
    fit(run, "val_score", values, mode, initial_epoch=3)
    assert stamp(os.path.join(run.checkpoint_dir, "best.keras")) == best_epoch(values, higher_is_better) == 4


def test_an_equal_value_is_not_an_improvement(run):
    fit(run, "val_loss", [0.5, 0.5, 0.5], "min")
    assert stamp(os.path.join(run.checkpoint_dir, "best.keras")) == 1


def test_epochs_without_the_monitored_value_leave_the_best_alone(run):
    # A metric computed every few epochs (FID) is missing from the others' logs: no decision is made then.
    class DropMonitorOnOddEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch % 2:
                logs.pop("fid")

    model = tiny_model()
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=4, verbose=0, shuffle=False,
              callbacks=[ScriptedEpochs("fid", [9.0, 1.0, 5.0, 0.5]), DropMonitorOnOddEpochs(),
                         RunCheckpoint(run, "fid", "min")])
    # Epochs 2 and 4 (values 1.0 and 0.5) logged no fid; of epochs 1 and 3, epoch 3 (5.0) is the better.
    assert stamp(os.path.join(run.checkpoint_dir, "best.keras")) == 3
    assert read_state(run)["best"] == 5.0
