"""A trained supervised run opened for use: the model of a chosen checkpoint, its spec and its data facts.

`kspec export`, `predict`, `cam` and `evaluate --calibration` all start here, so they choose checkpoints and
refuse other kinds of runs the same way.
"""

from dataclasses import dataclass

from kspec import builder
from kspec.errors import SpecError
from kspec.training.config import TrainingConfig
from kspec.training.run_directory import RunDirectory

CHECKPOINTS = ("best", "last")


@dataclass
class SupervisedRun:
    """What `load_supervised` returns.

    Attributes:
        run: the `RunDirectory`.
        spec: the run's resolved spec.
        config: its `TrainingConfig`.
        model: the trained `keras.Model` of `config.model`.
        checkpoint: path of the checkpoint `model` was loaded from.
    """

    run: RunDirectory
    spec: object
    config: TrainingConfig
    model: object
    checkpoint: str

    @property
    def graph(self):
        """The spec's graph of the trained model (input and output names)."""
        return self.spec.models[self.config.model]

    def data_facts(self):
        """The run's `DataFacts` (normalization, shapes, classes); see `kspec.training.data_facts`."""
        from kspec.training.data_facts import read_data_facts

        return read_data_facts(self.run, self.spec)


def checkpoint_path(run, which="best"):
    """The checkpoint file of a supervised run: `best` (falls back to the last when none is best) or `last`.

    Raises:
        SpecError: when no epoch finished.
    """
    from kspec.training.checkpoints import committed_checkpoint, read_state
    from kspec.training.supervised import best_checkpoint

    if which not in CHECKPOINTS:
        raise SpecError(f"expected one of {', '.join(CHECKPOINTS)}. Received: checkpoint={which!r}",
                        path="--checkpoint")
    state = read_state(run)
    if state is None:
        raise SpecError(f"{run.path} has no finished epoch; train it first", path="RUN_DIR")
    return best_checkpoint(run) if which == "best" else committed_checkpoint(run, state)


def open_run(run_dir):
    """`(RunDirectory, resolved spec, TrainingConfig)` of any run directory."""
    run = RunDirectory.open(run_dir)
    spec = builder.load_spec(run.spec_file)
    return run, spec, TrainingConfig.from_spec(spec)


def require_supervised(run, config, command):
    """Raises the one-line error for a generative run given to a command that needs a supervised one."""
    if config.trainer != "supervised":
        raise SpecError(f"{run.path} trained a `{config.trainer}` model; `kspec {command}` needs a supervised run "
                        "(a spec without `training.trainer`)", path="RUN_DIR")


def load_supervised(run_dir, checkpoint="best", *, command):
    """Opens a supervised run and loads its trained model.

    Args:
        run_dir: the run directory written by `kspec train`.
        checkpoint: `best` or `last`.
        command: the kspec command asking (`predict`, `cam`, ...), named in the error for other runs.

    Returns:
        A `SupervisedRun`.

    Raises:
        SpecError: for a directory that is not a run, a generative run, or a run without a finished epoch.
    """
    from kspec.training.checkpoints import load_keras_model

    run, spec, config = open_run(run_dir)
    require_supervised(run, config, command)
    path = checkpoint_path(run, checkpoint)
    return SupervisedRun(run, spec, config, load_keras_model(path), path)
