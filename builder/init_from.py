"""`init_from:`: initial weights of a model (or a `{model: ...}` node) from an earlier run or a saved file.

Weights are matched by layer name, the names kspec gives nodes (a model used as a layer contributes its own
layers as `model.layer`), so an autoencoder's encoder initializes a classifier whose first layers are written
the same way:

    models:
      classifier:
        init_from: {run: runs/ae, model: encoder, exclude: [head]}

- `run:` a run directory: a supervised run's model (and the models it uses as layers) from its `best` or
  `last` checkpoint, or a generative run's models (encoder, generator, ...);
- `file:` a `.keras` model (matched by name like a run), or a `.weights.h5` file saved by Keras from the same
  architecture (loaded whole by Keras, which checks the structure itself).

A layer whose weights have other shapes than the source's is an error naming both, unless `strict: false`
(then it keeps its initialization and the report lists it). Reads files; imports Keras (build stage).
"""

import fnmatch
import os
from dataclasses import dataclass, field

from kspec.errors import SpecError, first_line


@dataclass
class InitReport:
    """What `init_from` did to one model, for `kspec summary` and the run log.

    Attributes:
        model: the model that was initialized; source: where from (`runs/ae (encoder, best)`).
        matched: layer names whose weights were loaded.
        unmatched: layers with weights that the source lacks (they keep their initialization).
        mismatched: `(layer, shapes here, shapes in the source)` skipped under `strict: false`.
        excluded: layers left alone by `exclude:` patterns.
    """

    model: str
    source: str
    matched: list = field(default_factory=list)
    unmatched: list = field(default_factory=list)
    mismatched: list = field(default_factory=list)
    excluded: list = field(default_factory=list)

    def lines(self):
        """The report as text lines."""
        lines = [f"init_from {self.source} -> model `{self.model}`: {len(self.matched)} layers loaded"
                 + (f" ({', '.join(self.matched)})" if self.matched else "")]
        if self.unmatched:
            lines.append(f"  not in the source (initialized as usual): {', '.join(self.unmatched)}")
        if self.excluded:
            lines.append(f"  excluded: {', '.join(self.excluded)}")
        for name, here, there in self.mismatched:
            lines.append(f"  skipped, other shapes: {name} {_shapes(here)} here, {_shapes(there)} in the source")
        return lines


def named_layers(model, prefix=""):
    """`{name: layer}` of the layers of `model` that hold weights; a nested model's layers are `model.layer`."""
    import keras

    found = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        if isinstance(layer, keras.Model):
            found.update(named_layers(layer, f"{prefix}{layer.name}."))
        else:
            found[prefix + layer.name] = layer
    return found


def load_init_from(model, init, default_name):
    """Loads `init` (an `InitFrom`) into the built `model` and returns an `InitReport`.

    Args:
        model: the `keras.Model` to initialize.
        init: the resolved `init_from:`.
        default_name: the source model to take when `init.model` is not given (the model's own name).

    Raises:
        SpecError: at `init_from:` when the source is missing, lacks the model, matches no layer, or (with
            `strict: true`) has a layer of other shapes.
    """
    name = init.model or default_name
    if init.file is not None and init.file.endswith(".weights.h5"):
        return _load_whole(model, init, name)
    sources, described = _source_models(init)
    if name not in sources:
        raise SpecError(f"{init.source} has no model `{name}` (it has: {', '.join(sources)}); name one with "
                        "`init_from.model`", init.path, init.mark)
    source = named_layers(sources[name])
    report = InitReport(model.name, f"{described} (model `{name}`)")
    for layer_name, layer in named_layers(model).items():
        if any(fnmatch.fnmatchcase(layer_name, pattern) for pattern in init.exclude):
            report.excluded.append(layer_name)
        elif layer_name not in source:
            report.unmatched.append(layer_name)
        else:
            here = [tuple(w.shape) for w in layer.weights]
            there = [tuple(w.shape) for w in source[layer_name].weights]
            if here != there:
                if init.strict:
                    raise SpecError(f"layer `{layer_name}` has weights of shapes {_shapes(here)} here but "
                                    f"{_shapes(there)} in {described} (model `{name}`); make the layers agree, "
                                    "list it in `exclude:`, or set `strict: false` to skip it", init.path, init.mark)
                report.mismatched.append((layer_name, here, there))
                continue
            layer.set_weights(source[layer_name].get_weights())
            report.matched.append(layer_name)
    if not report.matched:
        raise SpecError(f"no layer of model `{model.name}` has a namesake with weights in {described} (model "
                        f"`{name}`: {', '.join(source) or 'no layers with weights'}); name the nodes as there",
                        init.path, init.mark)
    return report


def _load_whole(model, init, name):
    path = _existing(init.file, init)
    try:
        model.load_weights(path)
    except (ValueError, KeyError, OSError) as error:
        raise SpecError(f"{path} does not fit model `{model.name}` ({first_line(error)}); a .weights.h5 file "
                        "loads whole into the same architecture; use a .keras file or a run to match by name",
                        init.path, init.mark) from None
    report = InitReport(model.name, path)
    report.matched = list(named_layers(model))
    return report


def _source_models(init):
    """`({model name: keras.Model}, description)` of a run or a `.keras` file."""
    from kspec.training.checkpoints import load_keras_model

    if init.file is not None:
        model = load_keras_model(_existing(init.file, init))
        return _with_nested(model), init.file
    from kspec.training.supervised_run import checkpoint_path, open_run

    if not os.path.isdir(init.run):
        raise SpecError(f"run directory {init.run} does not exist (paths are relative to the working directory "
                        f"{os.getcwd()}); train it first or correct the path", init.path, init.mark)
    try:
        run, spec, config = open_run(init.run)
        described = f"{init.run} ({init.checkpoint} checkpoint)"
        if config.trainer == "supervised":
            return _with_nested(load_keras_model(checkpoint_path(run, init.checkpoint))), described
        from kspec.training.generative import load_trained

        _, models, _, _ = load_trained(init.run, init.checkpoint)
        return dict(models), described
    except SpecError as error:
        raise SpecError(f"cannot initialize from {init.run}: {error.problems[0].message}", init.path,
                        init.mark) from None


def _with_nested(model):
    import keras

    found = {model.name: model}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.update(_with_nested(layer))
    return found


def _existing(path, init):
    if not os.path.isfile(path):
        raise SpecError(f"{path} does not exist (paths are relative to the working directory {os.getcwd()}); "
                        "correct `init_from.file`", init.path, init.mark)
    return path


def _shapes(shapes):
    return "[" + ", ".join(str(tuple(shape)) for shape in shapes) + "]"

