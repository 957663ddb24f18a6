"""Reports a trial's objective to Optuna after every epoch, and stops the run when the pruner says so."""

import math

import keras


class PruningCallback(keras.callbacks.Callback):
    """Passes the objective of each epoch to `trial` and ends training when Optuna prunes the trial.

    It runs after the run's own checkpoint callback (see `kspec.training.train.train`), so a pruned run keeps
    its last epoch like any finished run. It stops training through `model.stop_training` rather than an
    exception, so `fit` ends normally; the caller reads `pruned_at` and tells Optuna.

    Args:
        trial: an `optuna.Trial`.
        metric: the logged value that is the objective (`val_loss`, `fd_digits`, ...). Epochs that do not
            log it (a score computed every few epochs) are not reported.
    """

    def __init__(self, trial, metric):
        super().__init__()
        self.trial = trial
        self.metric = metric
        self.pruned_at = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return  # not scored this epoch, or a diverged run that its checkpoint callback stops already
        self.trial.report(float(value), step=epoch + 1)
        if self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.model.stop_training = True
