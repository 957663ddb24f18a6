"""`kspec tune SPEC`: one worker of a hyperparameter study over the values named in the spec's `search:`.

Every trial is an ordinary kspec run (`kspec.training.train.train` with the trial's values as `--set`
overrides) in `OUT/trial-NNNN/`, holding its resolved spec; the study (values, objectives, states) lives in a
database that any number of workers share. A worker runs trials until the budget of finished (complete or
pruned) trials is reached, then writes the report (`tune.report`).
"""

import csv
import difflib
import math
import os
import time

from kspec import builder
from kspec.builder.document import plain
from kspec.builder.search import read_search
from kspec.errors import SpecError
from kspec.tune.report import _SURPLUS, best_trial, format_table, plot_objective, trial_rows, write_best_spec, \
    write_trials_csv
from kspec.tune.study import claim, heartbeat, open_storage, open_study, optuna_quietly, recover_dead_trials, \
    storage_url

MAX_CONSECUTIVE_FAILURES = 3  # trials failing one after another stop the worker: the spec or data is wrong


def study_spec_hash(document):
    """sha256 of the spec a study belongs to: everything but `search.trials`, so a budget can be raised."""
    from kspec.training.run_directory import spec_hash

    document = plain(document)
    document.get("search", {}).pop("trials", None)
    return spec_hash(document)


def grid_values(search):
    """Every value of each dimension, for the grid sampler (ranges have a `step` there; checked by validate)."""
    grid = {}
    for dimension in search.dimensions:
        if dimension.kind == "choice":
            grid[dimension.path] = list(dimension.choices)
            continue
        step = dimension.step or 1
        count = int(round((dimension.high - dimension.low) / step)) + 1
        values = [dimension.low + index * step for index in range(count)]
        grid[dimension.path] = [int(v) for v in values] if dimension.kind == "int" else values
    return grid


def _suggest(trial, dimension):
    if dimension.kind == "choice":
        return trial.suggest_categorical(dimension.path, list(dimension.choices))
    if dimension.kind == "int":
        return trial.suggest_int(dimension.path, int(dimension.low), int(dimension.high),
                                 step=int(dimension.step or 1), log=dimension.log)
    return trial.suggest_float(dimension.path, float(dimension.low), float(dimension.high), step=dimension.step,
                               log=dimension.log)


def objective_value(run_path, metric, direction, trial_number):
    """The best value of `metric` over the run's epochs (metrics.csv), the way checkpoints/best keeps it."""
    path = os.path.join(run_path, "metrics.csv")
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    columns = [c for c in (rows[0] if rows else {}) if c != "epoch"]
    if metric not in columns:
        close = difflib.get_close_matches(metric, columns, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise SpecError(f"trial {trial_number}'s run logs {', '.join(columns) or 'nothing'} but not `{metric}`{hint}; "
                        f"see {os.path.relpath(path)}", path="search.objective")
    values = [float(row[metric]) for row in rows if row.get(metric) not in (None, "")]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        raise SpecError(f"trial {trial_number}'s run never computed `{metric}` in {len(rows)} epochs (a score computed "
                        f"every few epochs?); see {os.path.relpath(path)}", path="search.objective")
    return (max if direction == "maximize" else min)(values), len(rows)


class Worker:
    """Runs trials of one study until its budget is reached (see the module docstring)."""

    def __init__(self, spec_path, search, study, out, *, overrides=(), allow_imports=(), budget, echo=print):
        self.spec_path, self.search, self.study, self.out = spec_path, search, study, out
        self.overrides, self.allow_imports, self.budget, self.echo = list(overrides), allow_imports, budget, echo
        self.optuna = optuna_quietly()

    def counted(self, trials):
        states = (self.optuna.trial.TrialState.COMPLETE, self.optuna.trial.TrialState.PRUNED)
        return [t for t in trials if t.state in states]

    def run(self):
        """Runs trials until the budget is reached; returns how many this worker ran."""
        TrialState = self.optuna.trial.TrialState
        ran, failures = 0, 0
        while True:
            for number in recover_dead_trials(self.study):
                self.echo(f"trial {number} was interrupted (its worker is gone): failed, and queued to run again")
            trials = self.study.get_trials(deepcopy=False)
            finished = len(self.counted(trials))
            if finished >= self.budget:
                return ran
            waiting = any(t.state == TrialState.WAITING for t in trials)
            running = sum(t.state == TrialState.RUNNING for t in trials)
            if not waiting and finished + running >= self.budget:
                self.echo(f"the last {running} trial(s) of the budget are running in other workers")
                return ran
            trial = self.study.ask()
            if self._surplus(trial):
                return ran
            failed = self.run_trial(trial)
            ran += 1
            failures = failures + 1 if failed else 0
            if failures >= MAX_CONSECUTIVE_FAILURES:
                raise SpecError(f"{failures} trials in a row failed, the last with: {failed}", path="search")

    def _surplus(self, trial):
        """A trial asked for while another worker filled the budget is closed unrun (and hidden in reports).

        Optuna numbers trials atomically, so workers agree on which trials fall within the budget: the first
        `budget` trials that did not fail.
        """
        TrialState = self.optuna.trial.TrialState
        before = [t for t in self.study.get_trials(deepcopy=False)
                  if t.number < trial.number and t.state != TrialState.FAIL]
        if len(before) < self.budget:
            return False
        trial.set_user_attr(_SURPLUS, True)
        self.study.tell(trial, state=TrialState.FAIL)
        return True

    def run_trial(self, trial):
        """Trains one trial and tells Optuna how it ended; returns the error line of a failed trial, else None."""
        import keras

        from kspec.training.train import train
        from kspec.tune.pruning import PruningCallback

        TrialState = self.optuna.trial.TrialState
        values = {dimension.path: _suggest(trial, dimension) for dimension in self.search.dimensions}
        run_path = os.path.abspath(os.path.join(self.out, f"trial-{trial.number:04d}"))
        claim(trial)
        trial.set_user_attr("run", run_path)
        pruning = PruningCallback(trial, self.search.metric)
        overrides = self.overrides + [d.override(values[d.path]) for d in self.search.dimensions]
        shown = "  ".join(f"{path.split('.')[-1]}={_shown(value)}" for path, value in values.items())
        start = time.monotonic()
        try:
            with heartbeat(self.study, trial):
                train(self.spec_path, overrides=overrides, allow_imports=self.allow_imports, out=run_path,
                      verbose=0, callbacks=[pruning])
            best, epochs = objective_value(run_path, self.search.metric, self.search.direction, trial.number)
        except SpecError as error:
            line = str(error).splitlines()[0]
            trial.set_user_attr("error", line)
            trial.set_user_attr("seconds", time.monotonic() - start)
            self.study.tell(trial, state=TrialState.FAIL)
            if error.problems[0].path == "search.objective":
                raise  # no trial can succeed: stop the study's workers here, with the reason
            self.echo(f"trial {trial.number:>3}  {shown}  failed: {line}")
            return line
        except BaseException:
            self.study.tell(trial, state=TrialState.FAIL)  # a kspec bug or Ctrl-C: not left running
            raise
        finally:
            keras.backend.clear_session()  # trials build new models: free the last one's graph
        seconds = time.monotonic() - start
        trial.set_user_attr("seconds", seconds)
        trial.set_user_attr("epochs", epochs)
        if pruning.pruned_at is not None:
            self.study.tell(trial, state=TrialState.PRUNED)
            outcome = f"pruned after epoch {pruning.pruned_at}"
        else:
            self.study.tell(trial, best)
            outcome = "complete"
        self.echo(f"trial {trial.number:>3}  {shown}  {self.search.metric} {_shown(best)}  {outcome}  "
                  f"{epochs} epochs  {seconds:.0f} s")
        return None


def _shown(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def tune(spec_path, *, overrides=(), allow_imports=(), out=None, storage=None, study_name=None, echo=print):
    """Runs one worker of the study of `spec_path`'s `search:` section; returns the report's paths.

    Args:
        spec_path: the spec file; its `search:` section names the values, objective and budget.
        overrides: `--set` values applied to the spec (and so to every trial).
        allow_imports: modules the spec may import user layers from.
        out: directory of the study's trial runs and report (default `runs/<spec>-tune`).
        storage: database URL of the study (default SQLite `OUT/study.db`); `postgresql://...` for workers
            on several machines.
        study_name: the study's name in the database (default: the spec file's name).
        echo: where progress lines go.

    Returns:
        A dict: `table` (text), `best` (the best trial, or None), `best_spec`, `plot`, `csv` (paths).

    Example:
        kspec tune specs/cnn_classifier.yaml --set search.trials=4 --out runs/cnn-tune
    """
    spec = builder.load_spec(spec_path, overrides, allow_imports)
    search = read_search(spec.document)
    if search is None:
        raise SpecError("the spec has no `search:` section naming what to tune; see `kspec init classifier` for "
                        "an example", path="search")
    if spec.data is None:
        raise SpecError("the spec has no `data:` section saying what to train on", path="data")
    from kspec.training.config import TrainingConfig

    stem = os.path.splitext(os.path.basename(spec_path))[0]
    out = out or os.path.join("runs", f"{stem}-tune")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise SpecError(f"cannot make the study directory {out}: {error.strerror}", path="--out") from None
    grid = grid_values(search) if search.sampler == "grid" else None
    budget = search.trials if grid is None else min(search.trials, math.prod(len(v) for v in grid.values()))
    url = storage_url(storage, out)
    study = open_study(open_storage(url), study_name or stem, search, study_spec_hash(spec.document), spec_path,
                       TrainingConfig.from_spec(spec).epochs, grid)
    done = len([t for t in study.get_trials(deepcopy=False) if t.state.name in ("COMPLETE", "PRUNED")])
    echo(f"study `{study.study_name}`: {done} of {budget} trials done; {search.metric} to {search.direction}, "
         f"{search.sampler} sampler, {search.pruner} pruner; trial runs in {os.path.relpath(out)}/")
    Worker(spec_path, search, study, out, overrides=overrides, allow_imports=allow_imports, budget=budget,
           echo=echo).run()
    rows = trial_rows(study, search)
    return {
        "table": format_table(rows, search),
        "best": best_trial(study),
        "best_spec": write_best_spec(study, search, out),
        "plot": plot_objective(study, search, out) if rows else None,
        "csv": write_trials_csv(rows, search, out),
        "metric": search.metric,
    }
