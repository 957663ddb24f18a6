"""Checkpoints that survive `kill -9`: every write is atomic and `state.json` is the commit point.

At the end of each epoch, in this order:
1. the epoch's row is appended to metrics.csv (flushed and fsynced);
2. the model (weights and optimizer state) is saved to `epoch-NNNN.keras` through a temporary file;
3. `best.keras` is replaced the same way when the monitored value improved;
4. `state.json` is replaced atomically, naming the new checkpoint: from here on the epoch counts as done.
A kill before step 4 loses only that epoch: resume reads `state.json`, drops metrics rows of later epochs,
loads the named checkpoint and trains on from the next epoch.
"""

import csv
import glob
import json
import math
import os

import keras

from kspec.builder.save import WEIGHTS_SUFFIX, save_model_atomic
from kspec.errors import SpecError
from kspec.training.run_directory import write_atomic

STATE = "state.json"


def read_state(run):
    """The committed state of a run, or None when no epoch finished."""
    path = os.path.join(run.checkpoint_dir, STATE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def restore(model, run):
    """Loads the last committed checkpoint into `model` (built and compiled); returns the epochs already done."""
    state = read_state(run)
    if state is None:
        return 0
    path = os.path.join(run.checkpoint_dir, state["checkpoint"])
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(path)
    truncate_metrics(run.metrics_file, state["epoch"])
    return state["epoch"]


def truncate_metrics(path, epochs_done):
    """Keeps the header and the rows of committed epochs, dropping rows of an epoch whose checkpoint was lost."""
    if not os.path.exists(path):
        return
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) < epochs_done]
    if len(kept) != len(rows):
        write_atomic(path, "".join(",".join(row) + "\n" for row in kept))


class RunCheckpoint(keras.callbacks.Callback):
    """Writes metrics.csv, the epoch checkpoint, best.keras and state.json at each epoch end (see module doc).

    Args:
        run: the `RunDirectory`.
        monitor: the logged value that decides `best.keras` (default `val_loss`, else `loss`).
        mode: `min`, `max` or `auto` (max for accuracy-like names).
        weights_only: save `.weights.h5` (weights and optimizer state) instead of whole `.keras` models; for
            trainer models that are rebuilt from the spec.
    """

    def __init__(self, run, monitor="val_loss", mode="auto", weights_only=False):
        super().__init__()
        self.run = run
        self.suffix = WEIGHTS_SUFFIX if weights_only else ".keras"
        self.monitor = monitor
        self.mode = mode
        state = read_state(run) or {}
        self.best = state.get("best")
        self.columns = None
        self.failure = None

    def _better(self, value, best):
        mode = self.mode
        if mode == "auto":
            higher = ("acc", "iou", "auc", "precision", "recall", "is_", "inception_score")
            mode = "max" if any(word in self.monitor for word in higher) else "min"
        return best is None or (value > best if mode == "max" else value < best)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failure = f"loss became {float(loss)} at epoch {self.current_epoch + 1}, batch {batch + 1}"
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.failure:
            return  # never checkpoint a model whose weights may already be NaN
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if any(not math.isfinite(v) for k, v in logs.items() if "loss" in k):
            self.failure = f"a loss became non-finite in epoch {epoch + 1}: {logs}"
            self.model.stop_training = True
            return
        self._append_metrics(epoch, logs)
        name = f"epoch-{epoch + 1:04d}{self.suffix}"
        save_model_atomic(self.model, os.path.join(self.run.checkpoint_dir, name))
        # A metric computed only every few epochs (FID) is absent from the others: no best decision then.
        monitor = self.monitor if self.monitor in logs else None
        best = self.best
        if monitor is not None and self._better(logs[monitor], best):
            best = logs[monitor]
            save_model_atomic(self.model, os.path.join(self.run.checkpoint_dir, f"best{self.suffix}"))
        state = {"epoch": epoch + 1, "checkpoint": name, "monitor": monitor, "best": best}
        write_atomic(os.path.join(self.run.checkpoint_dir, STATE), json.dumps(state, indent=2) + "\n")
        self.best = best
        for old in glob.glob(os.path.join(self.run.checkpoint_dir, "epoch-*")):
            if os.path.basename(old) != name:
                os.remove(old)

    def _append_metrics(self, epoch, logs):
        path = self.run.metrics_file
        if self.columns is None:
            if os.path.exists(path) and os.path.getsize(path) > 0:
                with open(path, newline="", encoding="utf-8") as stream:
                    self.columns = next(csv.reader(stream))[1:]
            else:
                self.columns = sorted(logs)
                write_atomic(path, ",".join(["epoch", *self.columns]) + "\n")
        row = [str(epoch)] + [repr(logs[c]) if c in logs else "" for c in self.columns]
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(",".join(row) + "\n")
            stream.flush()
            os.fsync(stream.fileno())


def raise_if_failed(checkpoint):
    """After fit: a non-finite loss becomes a clear error pointing at the last good checkpoint."""
    if checkpoint.failure is None:
        return
    state = read_state(checkpoint.run)
    kept = (f"the last good checkpoint is {os.path.join(checkpoint.run.checkpoint_dir, state['checkpoint'])} "
            f"(epoch {state['epoch']})") if state else "no epoch had finished, so there is no checkpoint"
    raise SpecError(f"{checkpoint.failure}; training stopped and {kept}. Lower the learning rate or check the data, "
                    f"then resume with --resume {checkpoint.run.path}", path="training")
