"""Validate stage, part 3: the `training:` and `data:` sections, against the Keras catalog (no Keras import).

Optimizers, learning-rate schedules, losses, metrics and callbacks are named like in Keras, in any
spelling (`adam`, `Adam`; `sparse_categorical_crossentropy`), alone or with their arguments.
"""

import difflib

from kspec.builder.checks import check_argument, check_named_call, split_call
from kspec.builder.document import mark_at, mark_of
from kspec.builder.keras_catalog import load_table
from kspec.builder.resolver import MODEL_OP, contains_expression
from kspec.builder.schema import check_resolved_value
from kspec.errors import Problem, SpecError

SUPERVISED = "supervised"
GENERATIVE_TRAINERS = ("vae", "gan", "aae", "cyclegan", "pix2pix")


def check_training(resolved):
    """Returns the problems of the spec's `training:` and `data:` sections (empty when fine or absent)."""
    problems = _check_resolved_types(resolved)
    if problems:
        return problems  # the checks below rely on the types
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


def _check_resolved_types(resolved):
    """The resolved `training:` and `data:` against the schema that their literal values passed before `${}`."""
    problems = []
    for section in ("training", "data"):
        value = getattr(resolved, section)
        if value is not None and contains_expression(resolved.document[section]):
            problems += check_resolved_value(resolved.document, (section,), value, f"#/properties/{section}")
    return problems


# Trainers whose discriminator feeds adversarial losses that take logits; its role names (see trainers/build.py).
_ADVERSARIAL = ("gan", "aae")
_DISCRIMINATOR_ROLES = ("discriminator", "latent_discriminator")
_SQUASHING = ("sigmoid", "hard_sigmoid", "softmax")


def _check_logits(resolved, training, trainer):
    """A discriminator must end in logits: the adversarial losses apply the sigmoid themselves."""
    roles = training.get("models") or {role: role for role in resolved.models}
    problems = []
    for role in _DISCRIMINATOR_ROLES:
        name = roles.get(role)
        if name in resolved.models:
            node = _squashing_output(resolved, resolved.models[name], set())
            if node is not None:
                activation = node.layer.args["activation"]
                problems.append(Problem(
                    f"the {role} ends in `{activation}`, but the `{trainer}` trainer's adversarial losses take "
                    f"logits and apply the sigmoid themselves; remove the `{activation}` here",
                    node.where(), node.mark))
    return problems


def _squashing_output(resolved, model, seen):
    """The output node of `model` (or of a model it ends in) that applies a sigmoid or softmax, else None."""
    seen.add(model.name)
    for output in model.outputs:
        node = model.node(output)
        if node is None:
            continue
        inner = node.layer.args.get("model") if node.layer.op == MODEL_OP else None
        if inner in resolved.models and inner not in seen:
            found = _squashing_output(resolved, resolved.models[inner], seen)
            if found is not None:
                return found
        elif node.layer.args.get("activation") in _SQUASHING:
            return node
    return None


def _check_training_section(resolved, training):
    problems = []

    def mark(key):
        return mark_of(training, key)

    trainer, options = split_call(training.get("trainer", SUPERVISED))
    known_trainers = (SUPERVISED, *GENERATIVE_TRAINERS)
    if trainer not in known_trainers:
        close = difflib.get_close_matches(str(trainer), known_trainers, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; one of: {', '.join(known_trainers)}"
        problems.append(Problem(f"unknown trainer `{trainer}`{hint}", "training.trainer", mark("trainer")))
    elif trainer != SUPERVISED:
        known = load_table()["trainers"][trainer]["arguments"]
        activations = load_table()["activations"]
        for option, value in options.items():
            path = f"training.trainer.{trainer}.{option}"
            if option not in known:
                close = difflib.get_close_matches(str(option), list(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; it takes: {', '.join(known)}"
                problems.append(Problem(f"trainer `{trainer}` has no option `{option}`{hint}", path, mark("trainer")))
                continue
            where = mark_at(resolved.document, ("training", "trainer", trainer, option))
            expected = check_argument(known[option]["type"], value, activations)
            if expected:
                problems.append(Problem(f"expected {expected}. Received: {option}={value!r}", path, where))
                continue
            choices = known[option].get("choices")
            # A prior with options is a mapping `{name: gaussian_mixture, components: 10}`.
            chosen = value.get("name") if isinstance(value, dict) else value
            if choices and isinstance(value, dict) and "name" not in value:
                problems.append(Problem(f"a mapping for `{option}` needs `name:`, one of: {', '.join(choices)}",
                                        path, where))
            elif choices and chosen not in choices:
                close = difflib.get_close_matches(str(chosen), choices, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append(Problem(f"unknown {option} `{chosen}` for trainer `{trainer}`{hint}; one of: "
                                        f"{', '.join(choices)}", path, where))
    if trainer in _ADVERSARIAL:
        problems += _check_logits(resolved, training, trainer)
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
        problems += check_named_call("optimizers", training["optimizer"], "training.optimizer", mark("optimizer"))
    for role, optimizer in (training.get("optimizers") or {}).items():
        problems += check_named_call("optimizers", optimizer, f"training.optimizers.{role}",
                                     mark_of(training["optimizers"], role))
    if "learning_rate_schedule" in training:
        problems += check_named_call("schedules", training["learning_rate_schedule"], "training.learning_rate_schedule",
                                     mark("learning_rate_schedule"))
    if "loss" in training:
        problems += check_named_call("losses", training["loss"], "training.loss", mark("loss"), load_table()["loss_names"])
    for index, metric in enumerate(training.get("metrics") or []):
        problems += check_named_call("metrics", metric, f"training.metrics[{index}]", mark_of(training["metrics"], index),
                                     load_table()["metric_names"])
    for name, args in (training.get("callbacks") or {}).items():
        problems += check_named_call("callbacks", {name: args}, "training.callbacks", mark_of(training["callbacks"], name))
    return problems
