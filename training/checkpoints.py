"""Checkpoints that survive `kill -9`: every write is atomic and `state.json` is the commit point.

At the end of each epoch, in this order:
1. the epoch's row is appended to metrics.csv (flushed and fsynced);
2. the model (weights and optimizer state) is saved to `epoch-NNNN.keras` through a temporary file;
3. `best.keras` is replaced the same way when the monitored value improved;
4. `state.json` is replaced atomically, naming the new checkpoint: from here on the epoch counts as done.
A kill before step 4 loses only that epoch: resume reads `state.json`, drops metrics rows of later epochs,
loads the named checkpoint and trains on from the next epoch.

`state.json` also holds what a resumed run needs to continue exactly as the uninterrupted one would: the
states of the models' random seed generators (dropout masks, sampled latents) and the counters of the
`EarlyStopping` and `ReduceLROnPlateau` callbacks. The data order is a function of the epoch
(`DataSplits.training_stream`), and the learning rate is an optimizer variable saved with the checkpoint.

A save that fails (disk full) stops training with the previous checkpoint and `state.json` untouched.
A `state.json` that is not kspec's (damaged, hand-edited, naming a file outside the run) is refused with one
line; nothing is loaded from outside `checkpoints/`.
"""

import csv
import errno
import glob
import json
import math
import os
import re
import shutil
import zipfile

import keras

from kspec.builder.save import WEIGHTS_SUFFIX, save_model_atomic
from kspec.errors import Mark, SpecError, first_line
from kspec.training.run_directory import write_atomic

STATE = "state.json"
CHECKPOINT_NAME = re.compile(r"epoch-\d{4,}(\.keras|\.weights\.h5)")
# Callback attributes that `on_train_begin` resets and a resumed run must get back (Keras 3 names).
RESUMABLE_CALLBACKS = {
    "EarlyStopping": ("wait", "best", "best_epoch", "stopped_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
}
# What loading a damaged or foreign checkpoint raises (Keras, h5py, zipfile); anything else is a kspec bug.
LOAD_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def checkpoint_bytes(parameter_count):
    """Free space a run needs for its checkpoints, with a margin.

    At the peak, while `best` is being replaced, four model files exist at once: the last epoch's, the new
    epoch's, the old `best` and the temporary copy of the new one. Each holds the weights and (Adam) two
    optimizer slots per weight, 4 bytes each.
    """
    return int(parameter_count * 4 * 3 * 4 * 1.1) + 2**20


def read_state(run):
    """The committed state of a run, checked, or None when no epoch finished.

    The checkpoint it names is a plain file name (no path); `committed_checkpoint` checks the file itself
    before anything loads it.

    Raises:
        SpecError: naming `state.json` when it is not a state kspec wrote (damaged, hand-edited).
    """
    path = os.path.join(run.checkpoint_dir, STATE)
    if not os.path.lexists(path):
        return None

    def refuse(problem):
        return SpecError(f"{problem}; kspec writes this file itself: restore it from a backup of the run, or "
                         "delete it to train the run again from epoch 0 with --resume", mark=Mark(path))

    if not os.path.isfile(path) or os.path.getsize(path) > 2**20:
        raise refuse("expected a regular file of at most 1 MiB")
    try:
        with open(path, encoding="utf-8") as stream:
            state = json.load(stream)
    except (OSError, ValueError) as error:
        raise refuse(f"expected JSON. Received: text that is not JSON ({error})") from None
    if not isinstance(state, dict):
        raise refuse("expected a JSON object")
    epoch, name = state.get("epoch"), state.get("checkpoint")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        raise refuse(f"expected `epoch` to be a positive integer. Received: epoch={epoch!r}")
    if not isinstance(name, str) or not CHECKPOINT_NAME.fullmatch(name):
        raise refuse(f"expected `checkpoint` to name a checkpoint file of this run such as epoch-0003.keras. "
                     f"Received: checkpoint={name!r}")
    problem = _extra_state_problem(state)
    if problem:
        raise refuse(problem)
    return state


def committed_checkpoint(run, state):
    """The path of the checkpoint `state` names, checked by `checkpoint_file` (errors point at state.json)."""
    return checkpoint_file(run, state["checkpoint"], mark=Mark(os.path.join(run.checkpoint_dir, STATE)))


def _extra_state_problem(state):
    """What is wrong with the optional fields of a state (random and callback state), or None."""
    def integer(value):
        return isinstance(value, int) and not isinstance(value, bool)

    def number(value):
        return value is None or integer(value) or isinstance(value, float)

    def counters(name, values):
        return (name in RESUMABLE_CALLBACKS and isinstance(values, dict)
                and all(key in RESUMABLE_CALLBACKS[name] and number(value) for key, value in values.items()))

    seeds = state.get("seed_states", [])
    if not isinstance(seeds, list) or not all(isinstance(p, list) and len(p) == 2 and all(map(integer, p))
                                              for p in seeds):
        return f"expected `seed_states` to be a list of [seed, counter] integer pairs. Received: {seeds!r:.80}"
    callbacks = state.get("callbacks", {})
    if not isinstance(callbacks, dict) or not all(counters(name, values) for name, values in callbacks.items()):
        return (f"expected `callbacks` to map {' or '.join(RESUMABLE_CALLBACKS)} to their counters. "
                f"Received: {callbacks!r:.80}")
    if not number(state.get("best")):
        return f"expected `best` to be a number or null. Received: best={state.get('best')!r:.80}"
    return None


def checkpoint_file(run, name, mark=None):
    """The path of checkpoint `name` of `run`, refused unless it is a regular file inside `checkpoints/`.

    A symbolic link that leaves the directory is refused like `../` in the name: kspec loads nothing from
    outside the run.
    """
    directory = os.path.realpath(run.checkpoint_dir)
    path = os.path.join(run.checkpoint_dir, name)
    real = os.path.realpath(path)
    if os.path.dirname(real) != directory:
        raise SpecError(f"checkpoint {name!r} points outside the run's checkpoints/ ({real}); refusing to load it",
                        mark=mark or Mark(path))
    if not os.path.isfile(real):
        problem = "does not exist" if not os.path.lexists(real) else "is not a regular file"
        raise SpecError(f"checkpoint {path} {problem}; the run cannot continue from it: restore it from a backup, "
                        f"or delete {os.path.join(run.checkpoint_dir, STATE)} to train again from epoch 0",
                        mark=mark)
    return path


def load_checkpoint(model, path):
    """`model.load_weights(path)` (weights and optimizer state); a file that does not fit is a `SpecError`.

    Keras skips the saved slots of an optimizer that is not built yet, as `fit`'s is before its first step; the
    trainers with several optimizers build them in `compile`.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    try:
        model.load_weights(path)
    except LOAD_ERRORS as error:
        raise SpecError(f"cannot load this checkpoint ({first_line(error)}); it is damaged, or was written by "
                        "another model than the run's spec.yaml describes", mark=Mark(path)) from None


def load_keras_model(path):
    """`keras.saving.load_model(path)` in safe mode; a damaged file or one holding Python code is a `SpecError`."""
    import kspec.layers  # noqa: F401  (registers kspec's layers for loading)

    if not zipfile.is_zipfile(path):  # Keras reports such a file as "File not found"
        raise SpecError("cannot load this model file (it is not a zip archive, as .keras files are); it is damaged "
                        "or not a .keras model written by kspec", mark=Mark(path))
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except LOAD_ERRORS + (TypeError,) as error:
        # Safe mode's other refusals (a TFSMLayer, a vocabulary file outside the archive) keep Keras' own words.
        if "Lambda" in str(error):
            raise SpecError("holds a Lambda layer (Python code), which kspec never loads (Keras safe mode); use a "
                            "checkpoint written by kspec", mark=Mark(path)) from None
        raise SpecError(f"cannot load this model file ({first_line(error)}); it is damaged or not a .keras model "
                        "written by kspec", mark=Mark(path)) from None


def restore(model, run):
    """Loads the last committed checkpoint and random state into `model` (built and compiled).

    Returns:
        The state (None when no epoch was committed: then metrics rows of the lost epochs are dropped too).
    """
    state = read_state(run)
    truncate_metrics(run.metrics_file, state["epoch"] if state else 0)
    if state is None:
        return None
    load_checkpoint(model, committed_checkpoint(run, state))
    variables = seed_state_variables(model)
    saved = state.get("seed_states") or []
    if len(saved) == len(variables):
        for variable, value in zip(variables, saved):
            variable.assign(value)
    return state


def fit_from_state(model, data, config, state, epochs=None, **fit_arguments):
    """`model.fit` from the epoch after `state` (None: from the start) up to `epochs` (default: the run's) on
    the data's training stream.

    Every epoch has the same number of steps, and the stream starts at the first batch of the first epoch
    to train, so a resumed run sees the same batches as an uninterrupted one.
    """
    initial_epoch = state["epoch"] if state else 0
    epochs = epochs or config.epochs
    if initial_epoch >= epochs or (state or {}).get("stopped_early"):
        return
    steps = config.steps_per_epoch or data.batches_per_epoch
    model.fit(data.training_stream(start_batch=initial_epoch * steps), epochs=epochs,
              initial_epoch=initial_epoch, steps_per_epoch=steps, shuffle=False, **fit_arguments)


def seed_state_variables(model):
    """The state variables of `model`'s `keras.random.SeedGenerator`s (dropout, sampling), in a fixed order.

    Keras counts them in `model.variables` but not in `model.weights`, so checkpoints do not hold them.
    """
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def truncate_metrics(path, epochs_done):
    """Keeps the header and the rows of committed epochs, dropping rows of an epoch whose checkpoint was lost."""
    if not os.path.exists(path):
        return
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            rows = list(csv.reader(stream))
    except (UnicodeDecodeError, csv.Error) as error:
        raise SpecError(f"expected the CSV that kspec writes. Received: a file that is not ({error}); restore it "
                        "from a backup of the run, or delete it (the rows of earlier epochs are then lost)",
                        mark=Mark(path)) from None
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) < epochs_done]
    if len(kept) != len(rows):
        write_atomic(path, "".join(",".join(row) + "\n" for row in kept))


class RunCheckpoint(keras.callbacks.Callback):
    """Writes metrics.csv, the epoch checkpoint, best.keras and state.json at each epoch end (see module doc).

    Put it after the other callbacks: it records what they added to the logs (learning_rate) and their state.

    Args:
        run: the `RunDirectory`.
        monitor: the logged value that decides `best.keras` (default `val_loss`, else `loss`).
        mode: `min`, `max` or `auto` (max for accuracy-like names).
        weights_only: save `.weights.h5` (weights and optimizer state) instead of whole `.keras` models; for
            trainer models that are rebuilt from the spec.
        callbacks: the run's other callbacks; the state of `EarlyStopping` and `ReduceLROnPlateau` among them
            is saved at each epoch and restored when a resumed run begins.
        state: the state the run resumes from (from `restore`), or None.
    """

    def __init__(self, run, monitor="val_loss", mode="auto", weights_only=False, callbacks=(), state=None):
        super().__init__()
        self.run = run
        self.suffix = WEIGHTS_SUFFIX if weights_only else ".keras"
        self.monitor = monitor
        self.mode = mode
        self.callbacks = [c for c in callbacks if type(c).__name__ in RESUMABLE_CALLBACKS]
        self.resumed = state or {}
        self.best = self.resumed.get("best")
        self.columns = None
        self.failure = None
        self.advice = None

    def _better(self, value, best):
        mode = self.mode
        if mode == "auto":
            higher = ("acc", "iou", "auc", "precision", "recall", "is_", "inception_score")
            mode = "max" if any(word in self.monitor for word in higher) else "min"
        return best is None or (value > best if mode == "max" else value < best)

    def on_train_begin(self, logs=None):
        # The other callbacks reset their counters in their own on_train_begin, which ran before this one.
        saved = self.resumed.get("callbacks") or {}
        for callback in self.callbacks:
            for name, value in saved.get(type(callback).__name__, {}).items():
                setattr(callback, name, value)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._stop(f"loss became {float(loss)} at epoch {self.current_epoch + 1}, batch {batch + 1}",
                       "Lower the learning rate or check the data")

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.failure:
            return  # never checkpoint a model whose weights may already be NaN
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if any(not math.isfinite(v) for k, v in logs.items() if "loss" in k):
            self._stop(f"a loss became non-finite in epoch {epoch + 1}: {logs}", "Lower the learning rate or "
                       "check the data")
            return
        try:
            self._append_metrics(epoch, logs)
            self._commit(epoch, logs)
        except OSError as error:
            self._stop(f"saving epoch {epoch + 1} into the run directory failed ({error.strerror or error})",
                       "Free disk space (or fix the file system)")
            # The lost epoch's metrics row goes now if it can; a resume drops it anyway.
            state = read_state(self.run)
            try:
                truncate_metrics(self.run.metrics_file, state["epoch"] if state else 0)
            except OSError:
                pass

    def _commit(self, epoch, logs):
        name = f"epoch-{epoch + 1:04d}{self.suffix}"
        self._check_free_space()
        save_model_atomic(self.model, os.path.join(self.run.checkpoint_dir, name))
        # A metric computed only every few epochs (FID) is absent from the others: no best decision then.
        monitor = self.monitor if self.monitor in logs else None
        best = self.best
        if monitor is not None and self._better(logs[monitor], best):
            best = logs[monitor]
            save_model_atomic(self.model, os.path.join(self.run.checkpoint_dir, f"best{self.suffix}"))
        state = {
            "epoch": epoch + 1, "checkpoint": name, "monitor": monitor, "best": best,
            "stopped_early": bool(self.model.stop_training),  # by EarlyStopping, whose on_epoch_end ran first
            "seed_states": [[int(x) for x in keras.ops.convert_to_numpy(v)] for v in seed_state_variables(self.model)],
            "callbacks": {type(c).__name__: {name: _plain(getattr(c, name, None))
                                             for name in RESUMABLE_CALLBACKS[type(c).__name__]}
                          for c in self.callbacks},
        }
        write_atomic(os.path.join(self.run.checkpoint_dir, STATE), json.dumps(state, indent=2) + "\n")
        self.best = best
        for old in glob.glob(os.path.join(self.run.checkpoint_dir, "epoch-*")):
            if os.path.basename(old) != name:
                os.remove(old)

    def _check_free_space(self):
        """Fails before writing when the new epoch file and a new `best` (each as large as the last epoch file)
        would not fit: a write that runs out of space midway is handled too, but this one says how much."""
        last = glob.glob(os.path.join(self.run.checkpoint_dir, "epoch-*"))
        if not last:
            return
        needed = int(2 * os.path.getsize(last[0]) * 1.1)
        free = shutil.disk_usage(self.run.checkpoint_dir).free
        if free < needed:
            raise OSError(errno.ENOSPC, f"only {free / 2**20:.1f} MiB free at {self.run.checkpoint_dir}; the "
                                        f"checkpoints of an epoch need about {needed / 2**20:.1f} MiB")

    def _stop(self, failure, advice):
        self.failure, self.advice = failure, advice
        self.model.stop_training = True

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
    """After fit: a failure (non-finite loss, failed save) becomes a clear error naming the last good checkpoint."""
    if checkpoint.failure is None:
        return
    state = read_state(checkpoint.run)
    kept = (f"the last good checkpoint is {os.path.join(checkpoint.run.checkpoint_dir, state['checkpoint'])} "
            f"(epoch {state['epoch']})") if state else "no epoch had finished, so there is no checkpoint"
    raise SpecError(f"{checkpoint.failure}; training stopped and {kept}. {checkpoint.advice}, then resume with "
                    f"--resume {checkpoint.run.path}", path="training")


def _plain(value):
    """A callback attribute as JSON: NumPy and Keras scalars become floats and ints."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return float(value)
