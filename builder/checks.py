"""Validate stage, part 2: semantic checks of a resolved spec, without Keras.

Layer arguments are checked against the committed layer table (names, required arguments, types); the
graph of each model must be acyclic and every node must lead to an output.
"""

import difflib
import importlib
import inspect
import sys

from kspec.builder.document import mark_at
from kspec.builder.graph import LayerCall
from kspec.builder.keras_catalog import OBJECT_SECTIONS, load_table, lookup_entry, lookup_layer
from kspec.builder.applications import APPLICATION_OP, check_application
from kspec.builder.resolver import MODEL_OP
from kspec.errors import Problem, SpecError

_ENUMS = {
    "padding": ("valid", "same"),
    "padding_causal": ("valid", "same", "causal"),
    "data_format": ("channels_last", "channels_first", None),
    "merge_mode": ("sum", "mul", "concat", "ave", None),
}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ints(value, minimum=None):
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(_is_int(v) and (minimum is None or v >= minimum) for v in values)


_OR_NULL = "_or_null"
# type name -> (test, what was expected)
_TYPES = {
    "positive_int": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "positive_ints": (lambda v: _ints(v, 1), "a positive integer or a list of them"),
    "int": (_is_int, "an integer"),
    "int_or_null": (lambda v: v is None or _is_int(v), "an integer or null"),
    "int_or_ints": (lambda v: _ints(v), "an integer or a list of integers"),
    "ints": (lambda v: isinstance(v, list) and _ints(v), "a list of integers"),
    "shape": (lambda v: isinstance(v, list) and all(_is_int(d) and (d >= 1 or d == -1) for d in v),
              "a list of positive integers (one may be -1)"),
    "number": (_is_number, "a number"),
    "numbers": (lambda v: _is_number(v) or (isinstance(v, list) and bool(v) and all(_is_number(x) for x in v)),
                "a number or a list of numbers"),
    "probability": (lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "fraction": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "fraction_or_null": (lambda v: v is None or (_is_number(v) and 0 < v < 1), "a number in (0, 1) or null"),
    "positive_int_or_null": (lambda v: v is None or (_is_int(v) and v >= 1), "a positive integer or null"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str": (lambda v: isinstance(v, (str, dict)), "a string"),
    "str_or_null": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "positive_number": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "pooling": (lambda v: v in (None, "avg", "max"), "one of null, 'avg', 'max'"),
    "layer": (lambda v: isinstance(v, LayerCall), "one layer such as `{lstm: {units: 32}}`"),
    "any": (lambda v: True, "anything"),
}


def check_argument(arg_type, value, activations):
    """Returns what was expected when `value` does not fit `arg_type`, else None.

    A type named `<type>_or_null` that `_TYPES` does not list takes null or what `<type>` takes.
    """
    if arg_type.endswith(_OR_NULL) and arg_type not in _TYPES:
        if value is None:
            return None
        expected = check_argument(arg_type[:-len(_OR_NULL)], value, activations)
        return expected and f"{expected} or null"
    if arg_type in _ENUMS:
        allowed = _ENUMS[arg_type]
        if value in allowed and not isinstance(value, bool):
            return None
        return "one of " + ", ".join("null" if a is None else f"'{a}'" for a in allowed)
    if arg_type == "activation":
        if value is None or (isinstance(value, str) and value in activations):
            return None
        close = difflib.get_close_matches(str(value), activations, n=1)
        return "an activation name" + (f" such as '{close[0]}'" if close else " (see keras.activations)")
    test, expected = _TYPES.get(arg_type, _TYPES["any"])
    return None if test(value) else expected


_WHAT = {"optimizers": "optimizer", "schedules": "learning-rate schedule", "losses": "loss", "metrics": "metric",
         "callbacks": "callback", "initializers": "initializer", "regularizers": "regularizer",
         "constraints": "constraint"}


# Keras' own serialized form of an object, `{class_name: RandomNormal, config: {stddev: 0.02}}`.
_KERAS_FORM_KEYS = {"class_name", "config", "module", "registered_name"}


def is_keras_form(value):
    """Whether `value` is Keras' serialized form of an object (what `keras.initializers.get` and friends take)."""
    return (isinstance(value, dict) and isinstance(value.get("class_name"), str) and set(value) <= _KERAS_FORM_KEYS
            and isinstance(value.get("config", {}), (dict, type(None))))


def split_call(value):
    """`adam` -> ("adam", {}); `{adam: {learning_rate: 0.1}}` -> ("adam", {"learning_rate": 0.1}); Keras' form
    `{class_name: Adam, config: {learning_rate: 0.1}}` -> ("Adam", {"learning_rate": 0.1})."""
    if isinstance(value, str):
        return value, {}
    if is_keras_form(value):
        return value["class_name"], dict(value.get("config") or {})
    (name, args), = value.items()
    return name, dict(args or {})


def check_named_call(section, value, path, mark, extra_names=()):
    """Problems of a catalog name (and its arguments, when given) from `section` of the catalog.

    Args:
        section: "optimizers", "losses", "initializers", ... (see `keras_catalog.lookup_entry`).
        value: `name` or `{name: {argument: value}}`, as the schema's `named_call` allows.
        path: its spec path; mark: its position.
        extra_names: names accepted without arguments although the section has no entry for them.

    Returns:
        A list of `Problem`s (empty when the name and arguments fit).
    """
    what = _WHAT[section]
    if not (isinstance(value, str) or is_keras_form(value) or (
            isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), (dict, type(None))))):
        article = "an" if what[0] in "aeiou" else "a"
        return [Problem(f"expected {article} {what} name, or one name with a mapping of its arguments such as "
                        f"`{{{_EXAMPLES[section]}}}`. Received: {_show(value)}", path, mark)]
    name, args = split_call(value)
    entry = lookup_entry(section, str(name))
    if entry is None:
        if not args and name in extra_names:
            return []
        known = sorted({e["name"] for e in load_table()[section].values()} | set(extra_names))
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return [Problem(f"unknown {what} `{name}`{hint}", path, mark)]
    problems = []
    activations = load_table()["activations"]
    for arg, arg_value in args.items():
        spec = entry["arguments"].get(arg)
        if spec is None:
            close = difflib.get_close_matches(str(arg), list(entry["arguments"]), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(Problem(f"`{entry['name']}` has no argument `{arg}`{hint}", f"{path}.{name}.{arg}", mark))
            continue
        expected = check_argument(spec["type"], arg_value, activations)
        if expected:
            problems.append(Problem(f"expected {expected}. Received: {arg}={_show(arg_value)}", f"{path}.{name}.{arg}",
                                    mark))
    for arg, spec in entry["arguments"].items():
        if spec.get("required") and arg not in args:
            problems.append(Problem(f"`{entry['name']}` needs argument `{arg}`", f"{path}.{name}", mark))
    return problems


_EXAMPLES = {"initializers": "random_normal: {stddev: 0.02}", "regularizers": "l2: {l2: 0.0001}",
             "constraints": "max_norm: {max_value: 3}", "optimizers": "adam: {learning_rate: 0.001}",
             "schedules": "cosine_decay: {initial_learning_rate: 0.001, decay_steps: 1000}",
             "losses": "huber: {delta: 1.0}", "metrics": "top_k_categorical_accuracy: {k: 5}",
             "callbacks": "early_stopping: {patience: 5}"}


def _show(value):
    if isinstance(value, LayerCall):
        return f"{{{value.op}: ...}}"
    return repr(value) if isinstance(value, str) else str(value).replace("True", "true").replace("False", "false").replace("None", "null")


def check_layer(layer, node, problems, user_layers, complete=True):
    """Checks one layer's arguments (and nested layers) against the table or a user layer's signature; with
    `complete=False` (a `defaults:` entry) its required arguments may be missing."""
    where = node.where()
    if layer.op == MODEL_OP:
        return
    if layer.op == APPLICATION_OP:
        if len(node.inputs) != 1:
            problems.append(Problem(f"an `application:` backbone takes one image input. Received: {len(node.inputs)} "
                                    f"({', '.join(node.inputs)})", where, node.mark))
        problems.extend(check_application(layer, where, layer.mark, check_argument))
        return
    if "." in layer.op and lookup_layer(layer.op) is None:
        signature = user_layers.get(layer.op)
        if signature is None:
            return
        arguments = {name: {"type": "any", **({"required": True} if p.default is p.empty else {})}
                     for name, p in signature.items()}
        display = layer.op
    else:
        entry = lookup_layer(layer.op)
        arguments, display = entry["arguments"], entry["name"]
    activations = load_table()["activations"]
    misspelled = set()
    for name, value in layer.args.items():
        if name in layer.defaulted:
            continue  # from `defaults:`, checked once there
        mark = layer.arg_marks.get(name, layer.mark)
        if name == "name":
            problems.append(Problem(f"set the layer name with the node's `name:`, not as an argument of `{display}`",
                                    f"{where}", node.mark))
            continue
        if name not in arguments:
            close = difflib.get_close_matches(str(name), list(arguments), n=1)
            misspelled.update(close)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(Problem(f"`{display}` has no argument `{name}`{hint}", f"{layer.path}.{name}", mark))
            continue
        arg_type = arguments[name]["type"]
        if arg_type in OBJECT_SECTIONS:
            if value is not None:
                problems.extend(check_named_call(OBJECT_SECTIONS[arg_type], value, f"{layer.path}.{name}", mark))
            continue
        expected = check_argument(arg_type, value, activations)
        if expected:
            problems.append(Problem(f"expected {expected}. Received: {name}={_show(value)}", f"{layer.path}.{name}", mark))
        if isinstance(value, LayerCall):
            check_layer(value, node, problems, user_layers)
    for name, spec in arguments.items():
        if complete and spec.get("required") and name not in layer.args and name not in misspelled:
            problems.append(Problem(f"`{display}` needs argument `{name}`", layer.path, layer.mark))


class _DefaultsEntry:
    """Stands in for a node when a `defaults:` entry is checked like a layer (its arguments are optional)."""

    def __init__(self, call):
        self.call, self.mark = call, call.mark

    def where(self):
        return self.call.path


def topological_order(model):
    """Nodes of `model` in an order where every node follows its inputs; raises `SpecError` on a cycle."""
    by_name = {node.name: node for node in model.nodes}
    order, state = [], {}

    def visit(node, trail):
        if state.get(node.name) == "done":
            return
        if state.get(node.name) == "active":
            cycle = trail[trail.index(node.name):] + [node.name]
            raise SpecError(f"cycle in the graph: {' -> '.join(cycle)}", node.where(), node.mark)
        state[node.name] = "active"
        for name in node.inputs:
            if name in by_name:
                visit(by_name[name], trail + [node.name])
        state[node.name] = "done"
        order.append(node)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(model.nodes) + 1000))
    try:
        for node in model.nodes:
            visit(node, [])
    finally:
        sys.setrecursionlimit(limit)
    return order


def check_graph(model, problems):
    try:
        order = topological_order(model)
    except SpecError as error:
        problems.extend(error.problems)
        return
    used = set(model.outputs)
    for node in reversed(order):
        if node.name in used:
            used.update(node.inputs)
    for node in order:
        if node.name not in used:
            problems.append(Problem(
                f"node `{node.name}` does not lead to any output of model `{model.name}`; "
                "connect it, list it in `outputs:`, or remove it",
                node.where(), node.mark))
    inputs_used = {name for node in model.nodes for name in node.inputs} | set(model.outputs)
    for model_input in model.inputs:
        if model_input.name not in inputs_used:
            problems.append(Problem(f"model input `{model_input.name}` is not used by any layer",
                                    model_input.path, model_input.mark))


def user_layer_signatures(resolved, allowed_imports):
    """Imports the spec's `imports:` that the user allowed; returns {"module.Class": signature parameters}."""
    problems, signatures = [], {}
    listed = resolved.imports
    mark = mark_at(resolved.document, ("imports",)) if resolved.document is not None else None
    wanted = {node.layer.op for model in resolved.models.values() for node in model.nodes if "." in node.layer.op}
    for module_name in listed:
        if module_name not in allowed_imports:
            problems.append(Problem(
                f"spec imports user layers from `{module_name}`; nothing is imported unless you allow it: "
                f"pass --allow-import {module_name}", "imports", mark))
            continue
        try:
            module = _import_beside_spec(module_name, resolved.file)
        except Exception as error:  # noqa: BLE001 (the user's module: report any failure as a spec problem)
            problems.append(Problem(f"cannot import `{module_name}`: {type(error).__name__}: {error}", "imports", mark))
            continue
        for op in wanted:
            if op.rsplit(".", 1)[0] == module_name:
                cls = getattr(module, op.rsplit(".", 1)[1], None)
                if not isinstance(cls, type):
                    problems.append(Problem(f"module `{module_name}` has no layer class `{op.rsplit('.', 1)[1]}`",
                                            "imports", mark))
                    continue
                params = dict(list(inspect.signature(cls.__init__).parameters.items())[1:])
                signatures[op] = {n: p for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    return signatures, problems


def model_order(resolved):
    """Model names ordered so that a model used as a layer (`{model: encoder}`) comes before its users."""
    order, state = [], {}

    def visit(name, trail):
        if state.get(name) == "done":
            return
        model = resolved.models[name]
        if state.get(name) == "active":
            cycle = " -> ".join(trail[trail.index(name):] + [name])
            raise SpecError(f"models use each other in a cycle: {cycle}", model.path, model.mark)
        state[name] = "active"
        for node in model.nodes:
            if node.layer.op == MODEL_OP:
                visit(node.layer.args["model"], trail + [name])
        state[name] = "done"
        order.append(name)

    for name in resolved.models:
        visit(name, [])
    return order


def _import_beside_spec(module_name, spec_file):
    """Imports a user module, finding it next to the spec file as well as on the usual path."""
    import os

    directory = os.path.dirname(os.path.abspath(spec_file))
    added = directory not in sys.path
    if added:
        sys.path.insert(0, directory)
    try:
        return importlib.import_module(module_name)
    finally:
        if added:
            sys.path.remove(directory)


def check_resolved(resolved, allowed_imports=()):
    """Returns the semantic problems of a resolved spec (empty when it is fine)."""
    signatures, problems = user_layer_signatures(resolved, set(allowed_imports))
    dtypes = load_table()["dtypes"]
    for model in resolved.models.values():
        for model_input in model.inputs:
            if model_input.dtype not in dtypes:
                path = ("models", model.name, "inputs", model_input.name, "dtype")
                close = difflib.get_close_matches(str(model_input.dtype), dtypes, n=1)
                hint = f" such as '{close[0]}'" if close else f": {', '.join(dtypes)}"
                problems.append(Problem(f"expected a Keras dtype{hint}. Received: dtype={_show(model_input.dtype)}",
                                        f"{model_input.path}.dtype", mark_at(resolved.document, path)))
        for node in model.nodes:
            check_layer(node.layer, node, problems, signatures)
        check_graph(model, problems)
    for call in resolved.defaults:
        check_layer(call, _DefaultsEntry(call), problems, signatures, complete=False)
    try:
        model_order(resolved)
    except SpecError as error:
        problems.extend(error.problems)
    return problems
