"""The one entry point of `kspec train`: picks the trainer named in the spec and runs it in a run directory."""

from kspec import builder
from kspec.errors import SpecError
from kspec.training.config import TrainingConfig
from kspec.training.run_directory import RunDirectory


def train(spec_path=None, *, overrides=(), allow_imports=(), out=None, resume=None, verbose="auto", callbacks=()):
    """Trains a spec (or resumes a run) and returns the `RunDirectory`.

    Args:
        spec_path: the spec file; not needed with `resume` (the run keeps its resolved spec).
        overrides: `--set` values, applied before training (not allowed with `resume`).
        allow_imports: modules the spec may import user layers from.
        out: run directory of a new run.
        resume: path of a run directory to continue.
        verbose: Keras' fit verbosity ("auto" shows a progress bar, 0 nothing).
        callbacks: extra Keras callbacks, called after the run's own at each epoch end, so the epoch is
            already committed (metrics.csv, checkpoint) when they see it; `kspec tune` prunes trials this way.

    The run directory is locked for the whole call (see `kspec.training.run_directory`).
    """
    run = None
    try:
        if resume is not None:
            if overrides:
                raise SpecError("a resumed run keeps its own spec; drop --set (or start a new run)", path="--set")
            # Locked before anything is read: a second `--resume` of a live run is refused at once.
            run = RunDirectory.open_for_training(resume)
            spec = builder.load_spec(run.spec_file, allow_imports=allow_imports)
        else:
            if spec_path is None:
                raise SpecError("give a SPEC to train, or --resume RUN_DIR", path="SPEC")
            spec = builder.load_spec(spec_path, overrides, allow_imports)
            # Created only after the data checks; an --out that exists already is locked now.
            run = RunDirectory.reserve(spec, out)
        if spec.data is None:
            raise SpecError("the spec has no `data:` section saying what to train on", path="data")
        config = TrainingConfig.from_spec(spec)
        if config.trainer == "supervised":
            from kspec.training.supervised import train as train_with
        else:
            from kspec.training.generative import train as train_with
        return train_with(spec, run, resume=resume is not None, verbose=verbose, callbacks=callbacks)
    finally:
        if run is not None:
            run.release()


def resume_progress(run_dir):
    """(epochs done, epochs planned) of a run directory, read without TensorFlow: resuming a run whose
    epochs are all done would only reload it, so `kspec train --resume` says it is complete instead."""
    from kspec.training.checkpoints import read_state

    run = RunDirectory.open(run_dir)
    config = TrainingConfig.from_spec(builder.load_spec(run.spec_file))
    state = read_state(run)
    return (state["epoch"] if state else 0), config.epochs
