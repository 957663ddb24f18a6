"""Pre-flight: the loaded data against the built models, after the data is read and before the run directory
is created, so that a mismatch costs one line and leaves nothing behind.

`kspec validate` checks a spec without its data; what it cannot know is checked here: the data's shapes and
channels against the model inputs (and the generated images against the data), the data's value range against
the last activation of a decoder or generator (a tanh generator on data scaled to [0, 1]), label counts
against a classifier's output units or a conditional GAN's `num_classes`, and forecasting windows against an
LSTM's input. Each problem is one line at the file:line of the model input (or output node) it concerns, with
a hint naming the param or data argument to change; all problems are reported together.

Each trainer registers one check function under its `training.trainer` name. It receives a `Preflight`,
whose methods do the common comparisons on models by role, and may add its own problems. A new trainer's
check is a few lines, for example for an image-to-image translation trainer:

    from kspec.training.preflight import PREFLIGHT_CHECKS

    @PREFLIGHT_CHECKS.register("pix2pix")
    def check_pix2pix(flight):
        flight.input_fits_data("generator")           # data images -> generator input
        flight.output_fits_data("generator")          # generated images have the data's shape
        flight.output_range_fits_data("generator")    # and its value range
        if flight.info.target_shape is None:
            flight.problem("pix2pix trains on image pairs but the data has no targets", path="data")

A trainer without a registered check is trained without pre-flight.
"""

import math
import re

import numpy as np

from kspec.builder.training_checks import SUPERVISED
from kspec.data.arguments import mark_of_value
from kspec.data.compatibility import check_model_input, check_model_output, format_shape
from kspec.errors import Problem, SpecError
from kspec.registry import Registry, normalize_name

PREFLIGHT_CHECKS = Registry("pre-flight check")

# Value ranges of activations that bound a model's output; others are unbounded on both sides.
ACTIVATION_RANGES = {
    "sigmoid": (0.0, 1.0), "hardsigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0),
    "hardtanh": (-1.0, 1.0), "softsign": (-1.0, 1.0), "relu": (0.0, math.inf), "relu6": (0.0, 6.0),
    "softplus": (0.0, math.inf), "exponential": (0.0, math.inf), "elu": (-1.0, math.inf),
}
# Layers that leave the values of their input unchanged (only move or drop them): the activation that bounds
# a model's output may sit before them (`dense` with sigmoid, then `reshape` to an image).
_VALUE_PRESERVING = {"reshape", "flatten", "permute", "dropout", "identity", "cropping1d", "cropping2d",
                     "cropping3d", "upsampling1d", "upsampling2d", "upsampling3d", "repeatvector"}
# The normalization that matches a bounded output, for hints.
_NORMALIZE_FOR = {(0.0, 1.0): "unit", (-1.0, 1.0): "symmetric"}
_DATA_RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}


def preflight(spec, config, models, arrays):
    """Runs the pre-flight check of `config.trainer`; raises one `SpecError` with every problem found.

    Args:
        spec: the resolved spec.
        config: its `TrainingConfig`.
        models: role -> built `keras.Model` (for supervised training: `{config.model: model}`).
        arrays: the loaded `ArraySplits` (arrays and `DataInfo`).
    """
    if config.trainer not in PREFLIGHT_CHECKS:
        return
    flight = Preflight(spec, config, models, arrays)
    PREFLIGHT_CHECKS.get(config.trainer)(flight)
    if flight.problems:
        raise SpecError(flight.problems)


class Preflight:
    """What a pre-flight check compares, and the comparisons trainers share.

    Attributes:
        spec, config: the resolved spec and its `TrainingConfig`.
        models: role -> built `keras.Model`.
        names: role -> name of the model in the spec (`training.models`, else the role itself).
        arrays, info: the loaded `ArraySplits` and its `DataInfo`.
        problems: the `Problem`s found so far.
    """

    def __init__(self, spec, config, models, arrays):
        self.spec = spec
        self.config = config
        self.models = models
        self.names = {role: (config.models or {}).get(role, role) for role in models}
        self.arrays = arrays
        self.info = arrays.info
        self.problems = []

    def problem(self, message, path="", mark=None):
        """Adds one problem (a line of the final error)."""
        self.problems.append(Problem(message, path, mark))

    # -- shapes ------------------------------------------------------------------------------------------------

    def input_fits_data(self, role, index=0):
        """The data's inputs fit input `index` of the model of `role`."""
        graph, model = self._graph(role), self.models.get(role)
        if graph is None or index >= len(graph.inputs):
            return
        spec_input = graph.inputs[index]
        expected = tuple(model.inputs[index].shape[1:])
        try:
            check_model_input(self.info, expected, model=f"models.{graph.name}", input_name=spec_input.name)
        except SpecError as error:
            hint = self._hint(self._input_params(graph, spec_input, self._differing(expected, self.info.input_shape)),
                              self._data_arguments(expected, self.info.input_shape))
            self.problem(error.problems[0].message + hint, spec_input.path, spec_input.mark)

    def inputs_match_data_count(self, role, count=1):
        """The model of `role` has as many inputs as the data gives per example; returns whether it has."""
        graph, model = self._graph(role), self.models.get(role)
        if graph is None or len(model.inputs) == count:
            return True
        self.problem(f"the data gives {count} input{'s' if count > 1 else ''} per example but this model has "
                     f"{len(model.inputs)} ({', '.join(i.name for i in graph.inputs)})",
                     graph.path or f"models.{graph.name}", graph.mark)
        return False

    def output_fits_targets(self, role):
        """The output of the model of `role` fits the data's targets (labels, masks, forecasts, images)."""
        graph, model = self._graph(role), self.models.get(role)
        if graph is None or len(model.outputs) != 1:
            return
        node = graph.node(graph.outputs[0])
        try:
            check_model_output(self.info, tuple(model.outputs[0].shape[1:]), model=f"models.{graph.name}",
                               output_name=graph.outputs[0])
        except SpecError as error:
            hint = self._hint(self._node_params(graph, node), self._target_arguments())
            self.problem(error.problems[0].message + hint, node.path if node else graph.path,
                         node.mark if node else graph.mark)

    def output_fits_data(self, role, output=-1):
        """The model of `role` (a decoder or generator) makes examples of the data's input shape."""
        graph, model = self._graph(role), self.models.get(role)
        if graph is None:
            return
        made, data = tuple(model.outputs[output].shape[1:]), tuple(self.info.input_shape)
        if _fits(data, made):
            return
        node = graph.node(graph.outputs[output])
        hint = self._hint(self._made_shape_params(graph, made, data), self._data_arguments(made, data))
        self.problem(f"the {role} makes {_describe(made, self.info)} but the data has {_describe(data, self.info)}"
                     f"{hint}", node.path if node else graph.path, node.mark if node else graph.mark)

    def output_feeds_input(self, source_role, target_role, output=-1, index=0):
        """Output `output` of one role's model has the shape input `index` of another's expects (codes, latents)."""
        source, target = self._graph(source_role), self._graph(target_role)
        if source is None or target is None:
            return
        made = tuple(self.models[source_role].outputs[output].shape[1:])
        expected = tuple(self.models[target_role].inputs[index].shape[1:])
        if _fits(made, expected):
            return
        spec_input = target.inputs[index]
        params = self._input_params(target, spec_input, range(len(expected)))
        produced = source.outputs[output]
        self.problem(f"expects shape {format_shape(expected)} but the {source_role}'s output `{produced}` has shape "
                     f"{format_shape(made)}{self._hint(params, ())}", spec_input.path, spec_input.mark)

    # -- values ------------------------------------------------------------------------------------------------

    def output_range_fits_data(self, role, output=-1):
        """The last activation of the model of `role` can make the data's values, and no others it never has.

        A sigmoid cannot make data in [-1, 1]; a tanh on data in [0, 1] spends half its range on values the
        data never has (a discriminator tells them apart at once, and sample grids show them clipped).
        """
        graph = self._graph(role)
        if graph is None:
            return
        node, activation = _final_activation(graph, graph.outputs[output])
        if activation not in ACTIVATION_RANGES:
            return
        low, high = ACTIVATION_RANGES[activation]
        data_low, data_high, described = self.data_range()
        unreachable = data_low < low - 1e-6 or data_high > high + 1e-6
        wider = math.isfinite(low) and math.isfinite(high) and described and (low, high) != (data_low, data_high)
        if not (unreachable or wider):
            return
        fix = _NORMALIZE_FOR.get((low, high))
        hint = f"; set data.normalize: {fix}" if fix else ""
        matching = {"unit": "sigmoid", "symmetric": "tanh"}.get(self.info.normalization.method)
        hint += f"{' or' if hint else ';'} end the {role} with activation: {matching}" if matching else ""
        self.problem(f"the {role} ends in {activation} (values in {_interval(low, high)}) but the data is in "
                     f"{_interval(data_low, data_high)}{described}{hint}", node.path, node.mark)

    def reconstruction_fits_data(self, option_path, reconstruction):
        """`reconstruction: bce` (binary cross-entropy) needs data in [0, 1]."""
        if reconstruction != "bce":
            return
        data_low, data_high, described = self.data_range()
        if data_low >= -1e-6 and data_high <= 1 + 1e-6:
            return
        self.problem(f"reconstruction `bce` needs data in [0, 1] but the data is in {_interval(data_low, data_high)}"
                     f"{described}; set data.normalize: unit, or reconstruction: mse", option_path,
                     self.option_mark("reconstruction"))

    def data_range(self):
        """`(low, high, description)` of the training inputs: the normalization's range, else min and max."""
        method = self.info.normalization.method
        if method in _DATA_RANGES:
            return (*_DATA_RANGES[method], f" (data.normalize: {method})")
        inputs = self.arrays.train.inputs
        return float(np.min(inputs)), float(np.max(inputs)), f" (data.normalize: {method})"

    def _graph(self, role):
        """The spec's graph of the model playing `role`; None for a role this trainer was not given."""
        return self.spec.models.get(self.names[role]) if role in self.names else None

    # -- helpers -----------------------------------------------------------------------------------------------

    def option_mark(self, name):
        """Where trainer option `name` is written (else `training.trainer`), for problems about it."""
        trainer = (self.spec.training or {}).get("trainer")
        options = trainer.get(self.config.trainer) if isinstance(trainer, dict) else None
        mark = mark_of_value(options, name) if isinstance(options, dict) and name in options else None
        return mark or mark_of_value(self.spec.training or {}, "trainer")

    def _differing(self, expected, actual):
        if len(expected) != len(actual):
            return range(len(expected))
        return [i for i, (e, a) in enumerate(zip(expected, actual)) if e is not None and e != a]

    def _input_params(self, graph, spec_input, dimensions):
        """Spec params written in the given dimensions of an input's shape (`params.image_size`)."""
        document = (self.spec.document or {}).get("models", {}).get(graph.name, {})
        written = (document.get("inputs") or {}).get(spec_input.name)
        if isinstance(written, dict):
            written = written.get("shape")
        if not isinstance(written, list):
            return []
        return self._params_in(graph, document, [written[d] for d in dimensions if d < len(written)])

    def _made_shape_params(self, graph, made, data):
        """Params that size what a model makes: those written in its layers that also size a model input of
        the spec in the differing dimensions (`image_size` for height and width, `channels` for channels)."""
        document = (self.spec.document or {}).get("models", {}).get(graph.name, {})
        in_layers = set(self._params_in(graph, document, [document.get("layers")]))
        dimensions = self._differing(made, data)
        sizing = []
        for other in self.spec.models.values():
            for spec_input in other.inputs:
                sizing += [p for p in self._input_params(other, spec_input, dimensions) if p not in sizing]
        return [p for p in sizing if p in in_layers]

    def _node_params(self, graph, node):
        """Spec params written in a node of a model's top-level `layers:` (`units: "${classes}"`)."""
        document = (self.spec.document or {}).get("models", {}).get(graph.name, {})
        written = next((item for item in document.get("layers") or []
                        if isinstance(item, dict) and node is not None and item.get("name") == node.name), None)
        return self._params_in(graph, document, [written])

    def _params_in(self, graph, document, values):
        """`params.NAME` (or `models.M.params.NAME`) for each param named in the `${}` of `values` (nested)."""
        model_params = document.get("params") or {}
        found = []

        def visit(value):
            if isinstance(value, dict):
                for item in value.values():
                    visit(item)
            elif isinstance(value, list):
                for item in value:
                    visit(item)
            elif isinstance(value, str):
                for expression in re.findall(r"\$\{([^}]*)\}", value):
                    for name in re.findall(r"[A-Za-z_]\w*", expression):
                        where = (f"models.{graph.name}.params.{name}" if name in model_params
                                 else f"params.{name}" if name in self.spec.params else None)
                        if where and where not in found:
                            found.append(where)

        visit(values)
        return found

    def _data_arguments(self, expected, actual):
        """The `data.args` of this source that change the differing part of the data's shape."""
        takes = set(self.info.source_arguments)
        wanted = []
        if self.info.task == "forecasting":
            wanted = ["window", "columns"]
        elif len(expected) == 3 and len(actual) == 3:
            if tuple(expected[:2]) != tuple(actual[:2]):
                wanted.append("size")
            if expected[2] != actual[2]:
                wanted += ["color_mode", "channels"]
        else:
            wanted = ["size"]
        return [f"data.args.{name}" for name in wanted if name in takes]

    def _target_arguments(self):
        """The `data.args` of this source that change the targets' shape."""
        wanted = {"forecasting": ("horizon",), "segmentation": ("size", "num_classes")}.get(self.info.task, ())
        return [f"data.args.{name}" for name in wanted if name in self.info.source_arguments]

    @staticmethod
    def _hint(params, arguments):
        places = [*params, *arguments]
        if not places:
            return ""
        return f"; change {', '.join(places[:-1])}{' or ' if len(places) > 1 else ''}{places[-1]} so they agree"


def _fits(actual, expected):
    return len(actual) == len(expected) and all(e is None or a is None or a == e for a, e in zip(actual, expected))


def _describe(shape, info):
    if len(shape) == 3 and info.task != "forecasting":
        channels = "channel" if shape[2] == 1 else "channels"
        return f"{shape[0]}x{shape[1]} images with {shape[2]} {channels}"
    return f"examples of shape {format_shape(shape)}"


def _interval(low, high):
    def show(value):
        return f"{value:g}" if math.isfinite(value) else ("-inf" if value < 0 else "inf")

    return f"[{show(low)}, {show(high)}]"


def _final_activation(graph, name):
    """`(node, activation)` that bounds output `name`: the node's own activation, looking back through reshapes."""
    node = graph.node(name)
    while node is not None:
        op = normalize_name(node.layer.op.rsplit(".", 1)[-1])
        activation = node.layer.args.get("activation")
        if op == "activation":
            return node, normalize_name(str(activation))
        if op in ACTIVATION_RANGES:  # layers named after their activation: `softmax:`, `relu:`
            return node, op
        if isinstance(activation, str):
            return node, normalize_name(activation)
        if op not in _VALUE_PRESERVING or len(node.inputs) != 1:
            return node, None
        node = graph.node(node.inputs[0])
    return None, None


# -- the checks of kspec's trainers ------------------------------------------------------------------------------


@PREFLIGHT_CHECKS.register(SUPERVISED)
def check_supervised(flight):
    """One model, fit on `(inputs, targets)`: input shape, output against targets, reconstruction range."""
    role = flight.config.model
    if not flight.info.has_targets:
        hint = "; set data.args.target: labels (or images)" if "target" in flight.info.source_arguments else ""
        flight.problem(f"supervised training fits the model to targets but the data has none (task "
                       f"{flight.info.task}){hint}, or name a generative trainer in training.trainer", "data",
                       mark_of_value(flight.spec.data, "source"))
        return
    if not flight.inputs_match_data_count(role):
        return
    flight.input_fits_data(role)
    flight.output_fits_targets(role)
    if flight.info.task == "reconstruction":
        flight.output_range_fits_data(role)


def _check_autoencoder(flight):
    """Encoder takes the data; its code feeds the decoder, which makes data-shaped values in the data's range."""
    flight.input_fits_data("encoder")
    flight.output_feeds_input("encoder", "decoder")
    flight.output_fits_data("decoder")
    flight.output_range_fits_data("decoder")
    reconstruction = flight.config.trainer_options.get("reconstruction", "bce")  # both trainers' default
    flight.reconstruction_fits_data(f"training.trainer.{flight.config.trainer}.reconstruction", reconstruction)


@PREFLIGHT_CHECKS.register("vae")
def check_vae(flight):
    """The autoencoder checks; the sampled `z` is the encoder's last output."""
    _check_autoencoder(flight)


@PREFLIGHT_CHECKS.register("aae")
def check_aae(flight):
    """The autoencoder checks, and the codes also feed the latent discriminator."""
    _check_autoencoder(flight)
    flight.output_feeds_input("encoder", "latent_discriminator" if "latent_discriminator" in flight.models
                              else "discriminator")


@PREFLIGHT_CHECKS.register("gan")
def check_gan(flight):
    """Discriminator takes the data, the generator makes it (shape and range); labels of a conditional GAN."""
    flight.input_fits_data("discriminator")
    flight.output_fits_data("generator")
    flight.output_range_fits_data("generator")
    num_classes = flight.config.trainer_options.get("num_classes")
    if num_classes is None:
        return
    info, path = flight.info, "training.trainer.gan.num_classes"
    mark = flight.option_mark("num_classes")
    if info.task != "classification":
        hint = "; set data.args.target: labels" if "target" in info.source_arguments else ""
        flight.problem(f"a conditional GAN (num_classes: {num_classes}) trains on (image, label) pairs but the data "
                       f"has no class labels (task {info.task}){hint}, or drop num_classes", path, mark)
    elif info.num_classes > num_classes:
        flight.problem(f"the data has {info.num_classes} classes but num_classes is {num_classes}; set num_classes: "
                       f"{info.num_classes}", path, mark)
