"""`kspec diff`: what changed between two specs (or run directories) after resolution, node by node.

Both sides are loaded as `kspec validate` loads them (extends merged, `--set` applied, blocks and repeats
expanded), so the diff shows the networks, not the text: nodes added and removed, changed layers, arguments
and inputs, changed static output shapes and parameter counts, and changed `training`/`data` values.
No TensorFlow is imported.

Example:
>>> import os, kspec
>>> unet = os.path.join(os.path.dirname(kspec.__file__), "specs", "unet.yaml")  # a spec shipped with kspec
>>> print(format_diff(diff_specs(load_side(unet), load_side(unet, ["params.depth=2"]))))
--- .../specs/unet.yaml
+++ .../specs/unet.yaml
~ model unet: parameters 481,796 -> 116,804
    - down2.conv2d: conv2d(filters: 64, kernel_size: 3, padding: same, activation: relu)  (None, 16, 16, 64)  18,496 parameters
...
    ~ bottom.conv2d_1: filters 128 -> 64; output (None, 8, 8, 128) -> (None, 16, 16, 64); parameters 147,584 -> 36,928
    ~ up1.upsample: from up2.double_conv.conv2d_1 -> bottom.conv2d_1
"""

import os
from dataclasses import dataclass, field

from kspec.builder.document import plain
from kspec.builder.graph import LayerCall
from kspec.builder.shapes import MODEL_OP, _text as shape_text


@dataclass
class ModelDiff:
    """Changes inside one model present on both sides."""

    name: str
    parameters: tuple = (None, None)
    inputs: list = field(default_factory=list)  # lines such as "image: (None, 28, 28, 1) -> (None, 32, 32, 1)"
    outputs: tuple | None = None
    added: list = field(default_factory=list)  # (node name, description)
    removed: list = field(default_factory=list)
    changed: list = field(default_factory=list)  # (node name, [what changed])

    def empty(self):
        return (self.parameters[0] == self.parameters[1] and not self.inputs and self.outputs is None
                and not self.added and not self.removed and not self.changed)


@dataclass
class SpecDiff:
    """Everything that differs between two resolved specs; `empty()` when they build the same networks."""

    left: str
    right: str
    models_added: list = field(default_factory=list)
    models_removed: list = field(default_factory=list)
    models: list = field(default_factory=list)  # ModelDiff of models on both sides that differ
    settings: list = field(default_factory=list)  # "training.epochs: 15 -> 5"

    def empty(self):
        return not (self.models_added or self.models_removed or self.models or self.settings)


def load_side(path, overrides=(), allow_imports=()):
    """Loads one side of a diff: a spec file, or a run directory (its `spec.yaml`)."""
    from kspec.builder import load_spec

    if os.path.isdir(path):
        path = os.path.join(path, "spec.yaml")
    return load_spec(path, overrides, allow_imports)


def diff_specs(left, right, left_label=None, right_label=None):
    """Compares two `ResolvedSpec`s (loaded with static shapes) and returns a `SpecDiff`."""
    result = SpecDiff(left_label or left.file, right_label or right.file)
    result.models_removed = [name for name in left.models if name not in right.models]
    result.models_added = [name for name in right.models if name not in left.models]
    for name in left.models:
        if name in right.models:
            model = _diff_model(name, left, right)
            if not model.empty():
                result.models.append(model)
    for section in ("training", "data"):
        before, after = (_flatten(plain(getattr(side, section) or {}), section) for side in (left, right))
        for key in sorted(set(before) | set(after), key=lambda k: (k not in before, k)):
            old, new = before.get(key, _MISSING), after.get(key, _MISSING)
            if old != new:
                result.settings.append(f"{key}: {_value(old)} -> {_value(new)}")
    return result


_MISSING = object()


def _diff_model(name, left, right):
    graphs, shapes = (left.models[name], right.models[name]), (left.shapes[name], right.shapes[name])
    result = ModelDiff(name, (shapes[0].total_parameters, shapes[1].total_parameters))
    inputs = [{i.name: i for i in graph.inputs} for graph in graphs]
    for input_name in dict.fromkeys([*inputs[0], *inputs[1]]):
        before, after = (side.get(input_name) for side in inputs)
        if before is None or after is None or (before.shape, before.dtype) != (after.shape, after.dtype):
            result.inputs.append(f"{input_name}: {_input_text(before)} -> {_input_text(after)}")
    if graphs[0].outputs != graphs[1].outputs:
        result.outputs = (graphs[0].outputs, graphs[1].outputs)
    nodes = [{node.name: node for node in graph.nodes} for graph in graphs]
    for node_name, node in nodes[0].items():
        if node_name not in nodes[1]:
            result.removed.append((node_name, _node_text(node, shapes[0])))
    for node_name, node in nodes[1].items():
        if node_name not in nodes[0]:
            result.added.append((node_name, _node_text(node, shapes[1])))
            continue
        changes = _node_changes(nodes[0][node_name], node, shapes)
        if changes:
            result.changed.append((node_name, changes))
    return result


def _node_changes(before, after, shapes):
    changes = []
    if before.layer.op != after.layer.op:
        changes.append(f"layer {_call_text(before.layer)} -> {_call_text(after.layer)}")
    else:
        for key in dict.fromkeys([*before.layer.args, *after.layer.args]):
            old, new = before.layer.args.get(key, _MISSING), after.layer.args.get(key, _MISSING)
            if _value(old) != _value(new):
                changes.append(f"{key} {_value(old)} -> {_value(new)}")
    if before.inputs != after.inputs:
        changes.append(f"from {', '.join(before.inputs)} -> {', '.join(after.inputs)}")
    old_shape, new_shape = shapes[0].shape(before.name), shapes[1].shape(after.name)
    if old_shape != new_shape:
        changes.append(f"output {_shape(old_shape)} -> {_shape(new_shape)}")
    old_count, new_count = shapes[0].parameters.get(before.name), shapes[1].parameters.get(after.name)
    if old_count != new_count:
        changes.append(f"parameters {_count(old_count)} -> {_count(new_count)}")
    return changes


def _node_text(node, shapes):
    return (f"{_call_text(node.layer)}  {_shape(shapes.shape(node.name))}  "
            f"{_count(shapes.parameters.get(node.name))} parameters")


def _call_text(call):
    if call.op == MODEL_OP:
        return f"{{model: {call.args['model']}}}"
    from kspec.builder.keras_catalog import lookup_layer

    entry = lookup_layer(call.op)
    name = entry["name"] if entry else call.op
    args = ", ".join(f"{k}: {_value(v)}" for k, v in call.args.items())
    return f"{name}({args})" if args else name


def _value(value):
    if value is _MISSING:
        return "(absent)"
    if isinstance(value, LayerCall):
        return "{" + _call_text(value) + "}"
    if isinstance(value, (dict, list)):
        value = plain(value)
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


def _shape(shape):
    return "?" if shape is None else shape_text(shape)


def _count(count):
    return "?" if count is None else f"{count:,}"


def _input_text(model_input):
    if model_input is None:
        return "(absent)"
    text = shape_text((None, *model_input.shape))
    return text if model_input.dtype == "float32" else f"{text} {model_input.dtype}"


def _flatten(value, prefix):
    if isinstance(value, dict) and value:
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}"))
        return flat
    return {prefix: value}


def format_diff(diff):
    """Readable text: `-`/`+` for removed/added models and nodes, `~` for changed ones, `=` when nothing changed."""
    lines = [f"--- {diff.left}", f"+++ {diff.right}"]
    if diff.empty():
        return "\n".join(lines + ["= same networks and settings"])
    lines += [f"- model {name}" for name in diff.models_removed]
    lines += [f"+ model {name}" for name in diff.models_added]
    for model in diff.models:
        before, after = model.parameters
        counts = f": parameters {_count(before)} -> {_count(after)}" if before != after else ""
        lines.append(f"~ model {model.name}{counts}")
        lines += [f"    ~ input {line}" for line in model.inputs]
        if model.outputs:
            lines.append(f"    ~ outputs {', '.join(model.outputs[0])} -> {', '.join(model.outputs[1])}")
        lines += [f"    - {name}: {text}" for name, text in model.removed]
        lines += [f"    + {name}: {text}" for name, text in model.added]
        lines += [f"    ~ {name}: {'; '.join(changes)}" for name, changes in model.changed]
    lines += [f"~ {line}" for line in diff.settings]
    return "\n".join(lines)
