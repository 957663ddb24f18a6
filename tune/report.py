"""What `kspec tune` leaves beside the trials: a table of them (printed and `trials.csv`), the best trial's
spec as a file `kspec train` runs as is (`best.yaml`), and the objective per trial (`objective.png`)."""

import csv
import io
import os

import yaml

from kspec.training.run_directory import write_atomic

_SURPLUS = "kspec_surplus"


def shown_trials(study):
    """The study's trials but those a worker asked for after the budget was filled (never run)."""
    return [trial for trial in study.get_trials(deepcopy=False) if not trial.user_attrs.get(_SURPLUS)]


def _short_names(paths):
    """`training.optimizer.adam.learning_rate` -> `learning_rate`, unless two paths end alike."""
    last = [path.split(".")[-1] for path in paths]
    return [name if last.count(name) == 1 else path for name, path in zip(last, paths)]


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def trial_rows(study, search):
    """One dict per trial: number, state, objective, searched values, epochs, seconds, run directory."""
    trials = shown_trials(study)
    # A trial whose worker died is run again as a new trial that names it last in its retry history.
    retried_as = {t.system_attrs["retry_history"][-1]: t.number for t in trials if t.system_attrs.get("retry_history")}
    rows = []
    for trial in trials:
        state = trial.state.name.lower()
        if trial.number in retried_as:
            state += f" (retried as {retried_as[trial.number]})"
        row = {"trial": trial.number, "state": state, search.metric: trial.value}
        row.update({dimension.path: trial.params.get(dimension.path) for dimension in search.dimensions})
        row["epochs"] = trial.user_attrs.get("epochs")
        row["seconds"] = trial.user_attrs.get("seconds")
        row["run"] = trial.user_attrs.get("run")
        rows.append(row)
    return rows


def format_table(rows, search):
    """The rows as an aligned text table (the run directory column last, relative to the working directory)."""
    paths = [dimension.path for dimension in search.dimensions]
    keys = ["trial", "state", search.metric, *paths, "epochs", "seconds", "run"]
    headers = ["trial", "state", search.metric, *_short_names(paths), "epochs", "seconds", "run"]
    cells = []
    for row in rows:
        cells.append(["" if row[key] is None else
                      os.path.relpath(row[key]) if key == "run" else
                      f"{row[key]:.0f}" if key == "seconds" else _format_value(row[key]) for key in keys])
    widths = [max(len(text) for text in column) for column in zip(headers, *cells)]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip() for line in [headers, *cells]]
    return "\n".join(lines)


def best_trial(study):
    """The best finished trial, or None before the first one finishes."""
    try:
        return study.best_trial
    except ValueError:
        return None


def write_best_spec(study, search, out):
    """Writes the best trial's resolved spec without its `search:` section to `out/best.yaml`; returns the path.

    The run directory keeps the resolved spec (extends merged, overrides applied), so the file runs as is:
    `kspec train out/best.yaml`.
    """
    best = best_trial(study)
    if best is None:
        return None
    with open(os.path.join(best.user_attrs["run"], "spec.yaml"), encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    document.pop("search", None)
    values = ", ".join(f"{path}={_format_value(value)}" for path, value in best.params.items())
    header = (f"# Best trial ({best.number}) of the study `{study.study_name}`: {search.metric} = "
              f"{_format_value(best.value)}\n# with {values}. Train it: kspec train THIS.yaml\n")
    path = os.path.join(out, "best.yaml")
    write_atomic(path, header + yaml.safe_dump(document, sort_keys=False, default_flow_style=None))
    return path


def write_trials_csv(rows, search, out):
    """All rows as CSV (`trials.csv`); returns the path."""
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=list(rows[0]) if rows else ["trial"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = os.path.join(out, "trials.csv")
    write_atomic(path, stream.getvalue())
    return path


def plot_objective(study, search, out):
    """Draws the objective of each finished or pruned trial and the best so far (`objective.png`); returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

    maximize = search.direction == "maximize"
    figure, axes = pyplot.subplots(figsize=(7, 4), dpi=100)
    best, steps = None, []
    for state, marker, colour in (("COMPLETE", "o", "tab:blue"), ("PRUNED", "x", "tab:gray")):
        points = [(t.number, t.value) for t in shown_trials(study) if t.state.name == state and t.value is not None]
        if points:
            axes.scatter(*zip(*points), marker=marker, color=colour, label=state.lower(), zorder=3)
    for trial in shown_trials(study):
        if trial.state.name == "COMPLETE" and trial.value is not None:
            if best is None or (trial.value > best if maximize else trial.value < best):
                best = trial.value
            steps.append((trial.number, best))
    if steps:
        axes.step(*zip(*steps), where="post", color="tab:orange", label="best so far")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("trial")
    axes.set_ylabel(search.metric)
    axes.set_title(f"{study.study_name}: {search.metric} ({search.direction})")
    axes.grid(alpha=0.3)
    axes.legend()
    path = os.path.join(out, "objective.png")
    temporary = os.path.join(out, f".objective.{os.getpid()}.png")
    figure.savefig(temporary)
    pyplot.close(figure)
    os.replace(temporary, path)
    return path
