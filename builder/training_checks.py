"""Validate stage, part 3: the `training:` and `data:` sections, against the Keras catalog (no Keras import).

Optimizers, learning-rate schedules, losses, metrics and callbacks are named like in Keras, in any
spelling (`adam`, `Adam`; `sparse_categorical_crossentropy`), alone or with their arguments.
"""

import difflib

from kspec.builder.checks import check_argument
from kspec.builder.document import mark_of
from kspec.builder.keras_catalog import load_table
from kspec.errors import Problem, SpecError
from kspec.registry import normalize_name

SUPERVISED = "supervised"
GENERATIVE_TRAINERS = ("vae", "gan", "aae", "cyclegan", "pix2pix")


def split_call(value):
    """`adam` -> ("adam", {}); `{adam: {learning_rate: 0.1}}` -> ("adam", {"learning_rate": 0.1})."""
    if isinstance(value, str):
        return value, {}
    (name, args), = value.items()
    return name, dict(args or {})


def _check_named(section, value, path, mark, problems, extra_names=()):
    """Checks a catalog name (and its arguments, when given) in `section` of the catalog."""
    name, args = split_call(value)
    entry = load_table()[section].get(normalize_name(name))
    if entry is None:
        if not args and name in extra_names:
            return
        known = sorted({e["name"] for e in load_table()[section].values()} | set(extra_names))
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        what = {"optimizers": "optimizer", "schedules": "learning-rate schedule", "losses": "loss", "metrics": "metric",
                "callbacks": "callback"}[section]
        problems.append(Problem(f"unknown {what} `{name}`{hint}", path, mark))
        return
    activations = load_table()["activations"]
    for arg, arg_value in args.items():
        spec = entry["arguments"].get(arg)
        if spec is None:
            close = difflib.get_close_matches(arg, list(entry["arguments"]), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(Problem(f"`{entry['name']}` has no argument `{arg}`{hint}", f"{path}.{name}.{arg}", mark))
            continue
        expected = check_argument(spec["type"], arg_value, activations)
        if expected:
            problems.append(Problem(f"expected {expected}. Received: {arg}={arg_value!r}", f"{path}.{name}.{arg}", mark))
    for arg, spec in entry["arguments"].items():
        if spec.get("required") and arg not in args:
            problems.append(Problem(f"`{entry['name']}` needs argument `{arg}`", f"{path}.{name}", mark))


def check_training(resolved):
    """Returns the problems of the spec's `training:` and `data:` sections (empty when fine or absent)."""
    problems = []
    training = resolved.training
    if training is not None:
        problems += _check_training_section(resolved, training)
    if resolved.data is not None:
        from kspec.data import parse_data_config

        try:
            parse_data_config(resolved.data)
        except SpecError as error:
            problems += error.problems
    return problems


def _check_training_section(resolved, training):
    problems = []

    def mark(key):
        return mark_of(training, key)

    trainer, options = split_call(training.get("trainer", SUPERVISED))
    known_trainers = (SUPERVISED, *GENERATIVE_TRAINERS)
    if trainer not in known_trainers:
        close = difflib.get_close_matches(trainer, known_trainers, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; one of: {', '.join(known_trainers)}"
        problems.append(Problem(f"unknown trainer `{trainer}`{hint}", "training.trainer", mark("trainer")))
    elif trainer != SUPERVISED:
        known = load_table()["trainers"][trainer]["arguments"]
        for option in options:
            if option not in known:
                close = difflib.get_close_matches(option, list(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; it takes: {', '.join(known)}"
                problems.append(Problem(f"trainer `{trainer}` has no option `{option}`{hint}",
                                        f"training.trainer.{trainer}.{option}", mark("trainer")))
    if "model" in training and training["model"] not in resolved.models:
        close = difflib.get_close_matches(str(training["model"]), list(resolved.models), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; models: {', '.join(resolved.models)}"
        problems.append(Problem(f"unknown model '{training['model']}'{hint}", "training.model", mark("model")))
    elif "model" not in training and trainer == SUPERVISED and len(resolved.models) > 1:
        problems.append(Problem(
            f"the spec has {len(resolved.models)} models ({', '.join(resolved.models)}); say which one to fit with "
            "`model:`", "training", getattr(training, "mark", None)))
    for role, name in (training.get("models") or {}).items():
        if name not in resolved.models:
            problems.append(Problem(f"unknown model '{name}' for role `{role}`", f"training.models.{role}",
                                    mark_of(training["models"], role)))
    if "optimizer" in training:
        _check_named("optimizers", training["optimizer"], "training.optimizer", mark("optimizer"), problems)
    for role, optimizer in (training.get("optimizers") or {}).items():
        _check_named("optimizers", optimizer, f"training.optimizers.{role}", mark_of(training["optimizers"], role),
                     problems)
    if "learning_rate_schedule" in training:
        _check_named("schedules", training["learning_rate_schedule"], "training.learning_rate_schedule",
                     mark("learning_rate_schedule"), problems)
    if "loss" in training:
        _check_named("losses", training["loss"], "training.loss", mark("loss"), problems, load_table()["loss_names"])
    for index, metric in enumerate(training.get("metrics") or []):
        _check_named("metrics", metric, f"training.metrics[{index}]", mark_of(training["metrics"], index), problems,
                     load_table()["metric_names"])
    for name, args in (training.get("callbacks") or {}).items():
        _check_named("callbacks", {name: args}, "training.callbacks", mark_of(training["callbacks"], name), problems)
    return problems
