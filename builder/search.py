"""Validate stage, part 4: the `search:` section that `kspec tune` reads, checked without TensorFlow or Optuna.

    search:
      objective: {metric: val_accuracy, direction: maximize}   # any metric the runs log
      sampler: tpe          # tpe | random | grid
      pruner: median        # median | hyperband | none
      trials: 12            # the study's budget, shared by all its workers
      space:                # spec path (as for --set) -> values to try
        params.filters: {int: [16, 128], step: 16}
        training.optimizer.adam.learning_rate: {float: [1.0e-4, 1.0e-2], log: true}
        models.classifier.layers[dense].dense.activation: {choice: [relu, gelu]}

Beyond the schema's shapes, each range must hold more than one value, each path must name a value that is
in the spec, and the spec must stay valid with every bound and every choice put in its place.
"""

import copy
import difflib
import json
import math
from dataclasses import dataclass, field

from kspec.builder.document import MarkedDict, MarkedList, mark_of
from kspec.builder.keras_catalog import load_table, snake_name
from kspec.builder.loader import apply_override, split_override_path
from kspec.builder.training_checks import SUPERVISED, split_call
from kspec.errors import Problem, SpecError
from kspec.registry import normalize_name

DEFAULTS = {"sampler": "tpe", "pruner": "median", "trials": 20, "seed": 0}
_HIGHER_IS_BETTER = ("acc", "iou", "auc", "precision", "recall", "is_", "inception_score")


@dataclass(frozen=True)
class Dimension:
    """One searched value: the spec path and its range (`int`, `float`) or its `choice`s."""

    path: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple = ()

    def override(self, value):
        """The `--set` string that puts `value` at this path (JSON is YAML)."""
        return f"{self.path}={json.dumps(value)}"


@dataclass(frozen=True)
class Search:
    """The `search:` section with defaults filled in."""

    metric: str
    direction: str
    sampler: str
    pruner: str
    trials: int
    seed: int
    dimensions: tuple = field(default_factory=tuple)


def default_direction(metric):
    """`maximize` for accuracy-like names (as the checkpoint's `mode: auto`), else `minimize`."""
    return "maximize" if any(word in metric for word in _HIGHER_IS_BETTER) else "minimize"


def read_search(document):
    """The `search:` section of a schema-valid, checked document as a `Search`, or None without one."""
    section = document.get("search")
    if section is None:
        return None
    objective = section.get("objective", "val_loss")
    if isinstance(objective, str):
        objective = {"metric": objective}
    metric = objective["metric"]
    dimensions = []
    for path, space in section["space"].items():
        kind = next(k for k in ("int", "float", "choice") if k in space)
        if kind == "choice":
            dimensions.append(Dimension(path, kind, choices=tuple(space["choice"])))
        else:
            low, high = space[kind]
            dimensions.append(Dimension(path, kind, low, high, space.get("step"), bool(space.get("log", False))))
    return Search(metric, objective.get("direction", default_direction(metric)),
                  section.get("sampler", DEFAULTS["sampler"]), section.get("pruner", DEFAULTS["pruner"]),
                  section.get("trials", DEFAULTS["trials"]), section.get("seed", DEFAULTS["seed"]), tuple(dimensions))


def check_search(resolved, allow_imports=()):
    """Returns the problems of the spec's `search:` section (empty when fine or absent)."""
    document = resolved.document
    section = document.get("search") if document is not None else None
    if section is None:
        return []
    problems = []
    space = section["space"]
    for path, entry in space.items():
        where, mark = f"search.space[{path}]", mark_of(space, path, of_key=True)
        found = _check_space(entry, where, mark, problems) and _check_path(document, path, where, mark, problems)
        if found:
            _check_candidates(document, path, entry, where, mark, allow_imports, problems)
    if section.get("sampler") == "grid":
        for path, entry in space.items():
            if "float" in entry and "step" not in entry:
                problems.append(Problem("the grid sampler needs a finite set of values: give `step`, or use `choice`",
                                        f"search.space[{path}]", mark_of(space, path, of_key=True)))
    problems += _check_objective(resolved, section)
    return problems


def _check_space(entry, where, mark, problems):
    kinds = [k for k in ("int", "float", "choice") if k in entry]
    if len(kinds) != 1:
        problems.append(Problem("expected exactly one of `int: [low, high]`, `float: [low, high]` or `choice: [...]`. "
                                f"Received: {', '.join(kinds) or 'none'}", where, mark))
        return False
    kind = kinds[0]
    if kind == "choice":
        for option in ("step", "log"):
            if option in entry:
                problems.append(Problem(f"`{option}` applies to int and float ranges, not to `choice`", where, mark))
        if len(entry["choice"]) < 2:
            problems.append(Problem(f"a choice needs at least two values to search. Received: choice={entry['choice']}",
                                    where, mark))
            return False
        if len(set(map(json.dumps, entry["choice"]))) != len(entry["choice"]):
            problems.append(Problem(f"the choices repeat a value. Received: choice={entry['choice']}", where, mark))
            return False
        return True
    low, high = entry[kind]
    step, log = entry.get("step"), entry.get("log", False)
    if low > high:
        problems.append(Problem(f"the range is inverted: expected low < high. Received: {kind}=[{low}, {high}]",
                                where, mark))
        return False
    if low == high:
        problems.append(Problem(f"the range is empty: expected low < high. Received: {kind}=[{low}, {high}]; "
                                f"to fix the value, set it in the spec instead", where, mark))
        return False
    if kind == "int" and step is not None and step != int(step):
        problems.append(Problem(f"an int range needs an integer step. Received: step={step}", where, mark))
        return False
    if step is not None and log:
        problems.append(Problem("give `step` or `log: true`, not both", where, mark))
        return False
    if log and low <= 0:
        problems.append(Problem(f"a log range needs low > 0. Received: {kind}=[{low}, {high}]", where, mark))
        return False
    if step is not None:
        count = (high - low) / step
        if count < 1 or not math.isclose(count, round(count), rel_tol=0, abs_tol=1e-9):
            problems.append(Problem(f"high - low must be a positive multiple of step. Received: {kind}=[{low}, {high}], "
                                    f"step={step}", where, mark))
            return False
    return True


def _check_path(document, path, where, mark, problems):
    """The path must name a plain value that is in the spec: a typo would otherwise search nothing."""
    node, walked, parts = document, [], split_override_path(path)
    for key in parts:
        shown = ".".join(str(k) for k in walked) or "the spec"
        if isinstance(key, tuple):  # [name]
            names = [item.get("name") for item in node if isinstance(item, dict)] if isinstance(node, list) else []
            if key[1] not in names:
                close = difflib.get_close_matches(key[1], [n for n in names if isinstance(n, str)], n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(Problem(f"no list item named `{key[1]}` in {shown}{hint}", where, mark))
                return False
            key = names.index(key[1])
        if isinstance(key, int):
            if not isinstance(node, list) or not -len(node) <= key < len(node):
                problems.append(Problem(f"index {key} is out of range or {shown} is not a list", where, mark))
                return False
        elif not isinstance(node, dict) or key not in node:
            keys = [str(k) for k in node] if isinstance(node, dict) else []
            close = difflib.get_close_matches(str(key), keys, n=1)
            if close:
                hint = f" (did you mean '{close[0]}'?)"
            elif len(walked) == len(parts) - 1 and isinstance(node, dict):
                hint = "; a search changes values written in the spec: write it there first"
            else:
                hint = ""
            problems.append(Problem(f"unknown search path: `{key}` is not in {shown}{hint}", where, mark))
            return False
        walked.append(key)
        node = node[key]
    if walked and walked[0] == "search":
        problems.append(Problem("the search cannot tune its own section", where, mark))
        return False
    if isinstance(node, (dict, list)):
        problems.append(Problem(f"the path names a {'mapping' if isinstance(node, dict) else 'list'}; name one value "
                                "inside it", where, mark))
        return False
    return True


def _candidates(entry):
    if "choice" in entry:
        return [(value, "a choice") for value in entry["choice"]]
    kind = "int" if "int" in entry else "float"
    low, high = entry[kind]
    return [(low, "the low end"), (high, "the high end")]


def _shallow_copy(node):
    if isinstance(node, MarkedDict):
        copied = MarkedDict(node, mark=node.mark)
        copied.key_marks, copied.value_marks = dict(node.key_marks), dict(node.value_marks)
        return copied
    if isinstance(node, MarkedList):
        copied = MarkedList(node, mark=node.mark)
        copied.item_marks = list(node.item_marks)
        return copied
    return copy.copy(node)


def _copy_along(document, parts):
    """A copy of `document` sharing everything but the containers on the path `parts` (checked to exist), so
    that setting the value at the path leaves `document` as it was; much cheaper than a deep copy."""
    root = node = _shallow_copy(document)
    for key in parts[:-1]:
        if isinstance(key, tuple):  # [name]
            key = next(i for i, item in enumerate(node) if isinstance(item, dict) and item.get("name") == key[1])
        node[key] = _shallow_copy(node[key])
        node = node[key]
    return root


_STUB_MODELS = {"m": {"inputs": {"x": [1]}, "layers": [{"flatten": None}]}}


def _schema_view(candidate, section):
    """The candidate for the structural schema check: only the changed value can be wrong, so the sections
    not on its path (models and blocks, the costly ones to check) are left out or replaced by a minimal model."""
    view = {key: value for key, value in candidate.items() if key == section or key not in ("models", "blocks")}
    view.setdefault("models", _STUB_MODELS)
    return view


def _check_candidates(document, path, entry, where, mark, allow_imports, problems):
    """Puts each bound or choice in place and validates the spec: a search must not try invalid specs."""
    from kspec.builder.checks import check_resolved
    from kspec.builder.resolver import resolve
    from kspec.builder.schema import check_schema
    from kspec.builder.training_checks import check_training

    for value, which in _candidates(entry):
        candidate = _copy_along(document, split_override_path(path))
        candidate.pop("search")
        apply_override(candidate, f"{path}={json.dumps(value)}")
        found = check_schema(_schema_view(candidate, split_override_path(path)[0]))
        if not found:
            try:
                resolved = resolve(candidate, "<search>")
                found = check_resolved(resolved, allow_imports) + check_training(resolved)
            except SpecError as error:
                found = error.problems
        if found:
            first = found[0]
            inner = f"{first.path}: {first.message}" if first.path else first.message
            problems.append(Problem(f"with {json.dumps(value)} ({which}) the spec is invalid: {inner}", where, mark))
            return


def logged_metric_names(resolved):
    """The metric names a supervised run logs per epoch, without `val_`; None where kspec cannot tell."""
    training = resolved.training or {}
    trainer, _ = split_call(training.get("trainer", SUPERVISED))
    if trainer != SUPERVISED:
        return None
    names = {"loss"}
    for metric in training.get("metrics") or []:
        name, args = split_call(metric)
        entry = load_table()["metrics"].get(normalize_name(name))
        if isinstance(metric, str) or entry is None:
            names.add(name)  # Keras logs a metric given by name under that name
        else:
            names.add(args.get("name") or snake_name(entry["class"]))
    if "reduce_lr_on_plateau" in (training.get("callbacks") or {}) or "learning_rate_schedule" in training:
        names.add("learning_rate")
    return names


def _score_names(evaluation):
    """The labels of the generative scores `training.evaluation` logs (`fd_digits`, ...)."""
    import os

    from kspec.metrics.extractors import score_name
    from kspec.training.evaluation import DEFAULT_METRICS

    extractor = evaluation.get("extractor") or {}
    if "inception" in extractor:
        name = "inception"
    else:  # as `make_extractor` names it
        name = extractor.get("name") or os.path.basename(os.path.normpath(str(extractor.get("run", "")))).replace(".", "_")
    return {score_name(metric, name) for metric in evaluation.get("metrics", DEFAULT_METRICS)}


def _check_objective(resolved, section):
    objective = section.get("objective", "val_loss")
    metric = objective if isinstance(objective, str) else objective["metric"]
    mark = mark_of(section, "objective")
    evaluation = (resolved.training or {}).get("evaluation")
    scored = _score_names(evaluation) if evaluation else set()
    if metric in scored:
        return []
    if metric.startswith(("fd_", "is_", "kid_")) or metric in ("fid", "inception_score", "kid"):
        if not evaluation:
            return [Problem(f"`{metric}` is a generative score, but the spec computes none; add "
                            "`training.evaluation` (see docs/metrics.md)", "search.objective", mark)]
        close = difflib.get_close_matches(metric, sorted(scored), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; it computes {', '.join(sorted(scored))}"
        return [Problem(f"the runs never report `{metric}`{hint}", "search.objective", mark)]
    names = logged_metric_names(resolved)
    if names is None:
        return []  # a generative trainer's own losses: checked against the first trial's metrics.csv
    if metric.removeprefix("val_") not in names:
        known = sorted(names | {f"val_{n}" for n in names})
        close = difflib.get_close_matches(metric, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; the runs log {', '.join(known)}"
        return [Problem(f"the runs never report `{metric}`{hint}", "search.objective", mark)]
    return []
