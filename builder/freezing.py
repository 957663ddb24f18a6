"""`training.freeze` / `unfreeze` (and a stage's): which layers of a built model train, by node-name pattern.

A pattern is matched (`fnmatch`, case-sensitive) against layer paths: a node's name (`backbone`, `head`; the
layers of a block call are `call.layer`), and for a model used as a layer (an `application:` backbone, named
after its node; a `{model: encoder}` node, named after the model) its inner layers as `name.layer`
(`backbone.block_16_project`, `encoder.code`); a pattern naming a model covers all of it. `freeze` patterns
apply first, then `unfreeze` ones, on top of the state the model has (its `trainable:` settings, or the stage
before). Keras semantics follow: a frozen layer's weights do not train, and a frozen BatchNormalization
normalizes with its moving statistics (inference mode), which also stop moving.

Example (a model whose node `body` is a model used as a layer):
>>> import keras
>>> image = keras.Input((3,))
>>> body = keras.Sequential([keras.layers.Dense(2, name="a"), keras.layers.Dense(2, name="b")], name="body")
>>> model = keras.Model(image, keras.layers.Dense(1, name="head")(body(image)))
>>> apply_patterns(model, freeze=["body"], unfreeze=["body.b"])
>>> sorted({weight.path.split("/")[-2] for weight in model.trainable_weights})
['b', 'head']
"""

import fnmatch

from kspec.builder.document import mark_at
from kspec.errors import Problem, SpecError


def layer_paths(model, prefix=""):
    """`[(path, layer, parents)]` of every layer that is not itself a model, in order, with the model nodes
    (`(path, model)`) above it inside `model`."""
    import keras

    found = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        path = prefix + layer.name
        if isinstance(layer, keras.Model):
            found += [(p, leaf, [(path, layer), *parents]) for p, leaf, parents in layer_paths(layer, path + ".")]
        else:
            found.append((path, layer, []))
    return found


def _effective(layer, parents, model):
    return model.trainable and layer.trainable and all(parent.trainable for _, parent in parents)


def apply_patterns(model, freeze=(), unfreeze=(), where=None, document=None):
    """Freezes, then unfreezes, the layers of `model` whose path or enclosing node matches a pattern.

    Args:
        model: a built `keras.Model`.
        freeze, unfreeze: lists of patterns.
        where: the spec path of the section holding the lists (`training`, `training.stages[1]`), for errors.
        document: the loaded document, for the errors' line and column.

    Raises:
        SpecError: one problem per pattern that matches no layer, listing some layer paths.
    """
    leaves = layer_paths(model)
    wanted = {id(layer): _effective(layer, parents, model) for _, layer, parents in leaves}
    problems = []
    for key, patterns, value in (("freeze", freeze, False), ("unfreeze", unfreeze, True)):
        for index, pattern in enumerate(patterns):
            hits = [layer for path, layer, parents in leaves
                    if fnmatch.fnmatchcase(path, pattern) or any(fnmatch.fnmatchcase(p, pattern) for p, _ in parents)]
            if not hits:
                problems.append(_no_match(model, pattern, where, key, index, document))
            for layer in hits:
                wanted[id(layer)] = value
    if problems:
        raise SpecError(problems)
    _set(model, leaves, wanted)


def _set(model, leaves, wanted):
    # Keras propagates `trainable` down from a model to all its layers, and a frozen model hides the weights of
    # its layers whatever their own flag: open every container, set each layer, then close the containers
    # whose layers are all frozen.
    model.trainable = True
    containers = {id(parent): parent for _, _, parents in leaves for _, parent in parents}
    for container in containers.values():
        container.trainable = True
    for _, layer, _ in leaves:
        layer.trainable = wanted[id(layer)]
    for container in containers.values():
        inside = [wanted[id(layer)] for _, layer, parents in leaves if any(p is container for _, p in parents)]
        if not any(inside):
            container.trainable = False


def _no_match(model, pattern, where, key, index, document):
    nodes = sorted(layer.name for layer in model.layers if type(layer).__name__ != "InputLayer")
    shown = ", ".join(nodes[:12]) + (", ..." if len(nodes) > 12 else "")
    path = (*(where or "training").replace("]", "").replace("[", ".").split("."), key, index)
    path = tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in path)
    mark = mark_at(document, path) if document is not None else None
    return Problem(f"pattern {pattern!r} matches no layer of model `{model.name}` (its nodes: {shown}; inner "
                   "layers of a model node are `node.layer`)", f"{where or 'training'}.{key}[{index}]", mark)


def trainable_counts(model):
    """`{top-level layer name: (parameters, trainable parameters)}` of a built model."""
    import numpy as np

    def count(weights):
        return int(sum(np.prod(w.shape) for w in weights))

    return {layer.name: (count(layer.weights), count(layer.trainable_weights)) for layer in model.layers}


def apply_training_patterns(model, resolved, stage=None):
    """Applies `training.freeze`/`unfreeze`, then those of `training.stages` up to index `stage` (each stage
    on top of the one before), to the trained `model`.

    Args:
        model: the built model that training fits.
        resolved: the `ResolvedSpec`.
        stage: the stage index, or None for the first stage (or a spec without stages).
    """
    training = resolved.training or {}
    apply_patterns(model, training.get("freeze") or (), training.get("unfreeze") or (), "training", resolved.document)
    stages = training.get("stages") or []
    for index in range(0, (stage or 0) + 1 if stages else 0):
        apply_patterns(model, stages[index].get("freeze") or (), stages[index].get("unfreeze") or (),
                       f"training.stages[{index}]", resolved.document)
