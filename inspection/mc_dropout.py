"""Monte Carlo dropout (Gal & Ghahramani 2016): several stochastic passes of a trained model, dropout left on.

Gal & Ghahramani show that a network trained with dropout, run with dropout still active, draws from an
approximate posterior predictive; the spread of T such passes estimates the model's uncertainty. Only the
dropout layers may be stochastic: BatchNormalization must keep its moving statistics (in training mode it
would normalize each batch by its own statistics and update the moving averages), and every other layer
stays in inference mode too. So the model is not called with `training=True`; instead its functional graph is
rebuilt (`keras.models.clone_model`, same layer objects and weights) with each dropout layer wrapped in
`DropoutAlwaysOn`, which calls it with `training=True` whatever the caller asks.

The T passes are vectorized: a batch of B examples is tiled T times and run as one batch of T*B rows (each
row draws its own dropout mask), as many samples per call as the memory budget allows.
"""

import math

import keras
from keras import ops

# Layers whose `training=True` behaviour is random masking of their inputs and nothing else.
_DROPOUT_CLASSES = (keras.layers.Dropout, keras.layers.GaussianDropout, keras.layers.AlphaDropout)


def is_dropout(layer):
    """True for dropout layers (spatial, Gaussian and alpha dropout included) and recurrent layers with dropout.

    A recurrent layer's `training` flag switches only its `dropout` and `recurrent_dropout` masks, so such a
    layer counts as dropout; one without dropout rates does not.

    Example:
    >>> is_dropout(keras.layers.Dropout(0.5)), is_dropout(keras.layers.BatchNormalization())
    (True, False)
    """
    if isinstance(layer, _DROPOUT_CLASSES):
        return layer.rate > 0
    if isinstance(layer, keras.layers.Bidirectional):
        return is_dropout(layer.forward_layer) or is_dropout(layer.backward_layer)
    if isinstance(layer, keras.layers.RNN):
        cell = getattr(layer, "cell", None)
        return bool(getattr(cell, "dropout", 0) or getattr(cell, "recurrent_dropout", 0))
    return False


def dropout_layers(model):
    """The dropout layers of `model` and of the models nested in it, in graph order.

    Example:
    >>> inputs = keras.Input((3,))
    >>> model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dropout(0.1, name="drop")(inputs)))
    >>> [layer.name for layer in dropout_layers(model)]
    ['drop']
    """
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += dropout_layers(layer)
        elif is_dropout(layer):
            found.append(layer)
    return found


@keras.saving.register_keras_serializable(package="kspec")
class DropoutAlwaysOn(keras.layers.Layer):
    """Calls a dropout layer with `training=True` on every call, so the model around it can run in inference mode.

    Its `call` takes no `training` argument, so a functional model never passes its own `training` flag down:
    the wrapped layer drops units even in `model(x, training=False)` and `model.predict(x)`.

    Args:
        layer: the dropout layer (shared, not copied: its seed state advances with every call).
        **kwargs: base `keras.layers.Layer` arguments.

    Example:
    >>> import numpy as np
    >>> always = DropoutAlwaysOn(keras.layers.Dropout(0.5, seed=0))
    >>> float(np.mean(keras.ops.convert_to_numpy(always(np.ones((1, 1000)))) == 0)) > 0.3
    True
    """

    def __init__(self, layer, **kwargs):
        kwargs.setdefault("name", f"{layer.name}_always_on")
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs, **kwargs):
        return self.layer(inputs, training=True, **kwargs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


def with_dropout_active(model):
    """A model computing what `model` computes, with its dropout layers (nested ones too) always active.

    Every other layer is the same object as in `model` (weights shared, not copied) and follows the
    `training` flag of the call, so `copy(x, training=False)` keeps BatchNormalization in inference mode.

    Args:
        model: a functional `keras.Model`, such as kspec builds from a spec.

    Returns:
        A functional `keras.Model` with `model`'s inputs and outputs.

    Example:
    >>> import numpy as np
    >>> inputs = keras.Input((100,))
    >>> model = keras.Model(inputs, keras.layers.Dropout(0.5, seed=1)(inputs))
    >>> x = np.ones((1, 100), "float32")
    >>> bool(np.all(model.predict_on_batch(x) == 1)), bool(np.any(with_dropout_active(model).predict_on_batch(x) == 0))
    (True, True)
    """
    def replace(layer):
        return DropoutAlwaysOn(layer) if is_dropout(layer) else layer

    return keras.models.clone_model(model, clone_function=replace, recursive=True)


@keras.saving.register_keras_serializable(package="kspec")
class RepeatBatch(keras.layers.Layer):
    """Tiles a batch `samples` times along the batch axis: `(B, ...)` -> `(samples * B, ...)`, sample-major."""

    def __init__(self, samples, **kwargs):
        super().__init__(**kwargs)
        self.samples = samples

    def call(self, inputs):
        return ops.tile(inputs, [self.samples] + [1] * (len(inputs.shape) - 1))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] * self.samples
        return (batch, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "samples": self.samples}


@keras.saving.register_keras_serializable(package="kspec")
class SplitSamples(keras.layers.Layer):
    """Undoes `RepeatBatch` on an output: `(samples * B, ...)` -> `(B, samples, ...)`."""

    def __init__(self, samples, **kwargs):
        super().__init__(**kwargs)
        self.samples = samples

    def call(self, inputs):
        rest = tuple(inputs.shape[1:])
        stacked = ops.reshape(inputs, (self.samples, -1, *rest))
        return ops.moveaxis(stacked, 0, 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0] // self.samples if input_shape[0] else None, self.samples, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "samples": self.samples}


def monte_carlo_model(model, samples):
    """A model running `samples` dropout-active passes of `model` in one batch.

    Args:
        model: a functional `keras.Model`.
        samples: passes per call, at least 1.

    Returns:
        A `keras.Model` with `model`'s inputs whose every output gains a samples axis: `(B, ...)` becomes
        `(B, samples, ...)`.

    Example:
    >>> import numpy as np
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))
    >>> monte_carlo_model(model, 3).predict_on_batch(np.ones((2, 4))).shape
    (2, 3, 4)
    """
    if not isinstance(samples, int) or samples < 1:
        raise ValueError("Invalid value for argument `samples`: expected an integer >= 1. "
                         f"Received: samples={samples!r}")
    active = with_dropout_active(model)
    inputs = [keras.Input(shape=tuple(t.shape)[1:], dtype=t.dtype, name=_input_name(t)) for t in model.inputs]
    tiled = [RepeatBatch(samples)(x) for x in inputs]
    outputs = active(tiled if len(tiled) > 1 else tiled[0])
    outputs = [SplitSamples(samples)(y) for y in _as_list(outputs)]
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
                       name=f"{model.name}_mc{samples}")


@keras.saving.register_keras_serializable(package="kspec")
class SampleMoments(keras.layers.Layer):
    """Mean and (population) standard deviation over the samples axis 1: `(B, T, ...)` -> two `(B, ...)`."""

    def call(self, inputs):
        mean = ops.mean(inputs, axis=1)
        return mean, ops.sqrt(ops.mean(ops.square(inputs - ops.expand_dims(mean, 1)), axis=1))

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0], *input_shape[2:])
        return shape, shape


def moments_model(model, samples, output_names):
    """A model returning, per output of `model`, the mean and standard deviation of `samples` MC-dropout passes.

    This is what `kspec export RUN --mc-samples N` serves: dropout active inside the graph, one batched call.

    Args:
        model: a functional `keras.Model`.
        samples: passes per call.
        output_names: one name per output of `model`.

    Returns:
        A `keras.Model` with `model`'s inputs and a dict output `{NAME_mean, NAME_stddev}` per output name.

    Example:
    >>> import numpy as np
    >>> inputs = keras.Input((2,))
    >>> model = keras.Model(inputs, keras.layers.Dense(1, name="y")(inputs))
    >>> moments = moments_model(model, 4, ["y"])(np.ones((3, 2)))
    >>> sorted(moments), float(np.max(moments["y_stddev"]))  # no dropout: every pass agrees
    (['y_mean', 'y_stddev'], 0.0)
    """
    passes = monte_carlo_model(model, samples)
    outputs = {}
    for name, stacked in zip(output_names, _as_list(passes.outputs)):
        outputs[f"{name}_mean"], outputs[f"{name}_stddev"] = SampleMoments(name=f"{name}_moments")(stacked)
    return keras.Model(passes.inputs if len(passes.inputs) > 1 else passes.inputs[0], outputs,
                       name=f"{model.name}_mc_moments")


def activations_per_example(model):
    """Floats one example produces across all layer outputs of `model` (nested models included)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += activations_per_example(layer)
            continue
        try:
            outputs = _as_list(layer.output)
        except (AttributeError, ValueError):  # a layer called at several nodes has no single output: skipped
            outputs = []
        total += sum(math.prod(d or 1 for d in tuple(tensor.shape)[1:]) for tensor in outputs)
    return max(total, 1)


def samples_per_call(model, samples, batch_size, memory_bytes=2**30):
    """How many of `samples` passes fit in one call of a batch of `batch_size` within `memory_bytes`.

    The estimate counts every layer output once in float32 for each of the `samples * batch_size` rows, and
    twice that for the framework's working copies.

    Example:
    >>> inputs = keras.Input((1000,))
    >>> model = keras.Model(inputs, keras.layers.Dense(1000)(inputs))
    >>> samples_per_call(model, 100, 32), samples_per_call(model, 100, 32, memory_bytes=2**20)
    (100, 2)
    """
    row_bytes = 2 * 4 * activations_per_example(model)
    rows = max(1, memory_bytes // row_bytes)
    return max(1, min(samples, rows // max(batch_size, 1)))


def monte_carlo_predict(model, inputs, samples, *, batch_size=32, memory_bytes=2**30, progress=False):
    """Runs `samples` MC-dropout passes of `model` over `inputs`, batched and vectorized.

    Each batch of `batch_size` examples is tiled into one call of `k * batch_size` rows (k samples at once,
    as many as `memory_bytes` allows; `samples_per_call`), in ceil(samples / k) calls.

    Args:
        model: a functional `keras.Model`.
        inputs: a NumPy array (or a list, one per model input) with the examples along the first axis.
        samples: passes per example, at least 1.
        batch_size: examples per call.
        memory_bytes: budget for the activations of one call.
        progress: show a `keras.utils.Progbar` over the batches (when there is more than one).

    Returns:
        A list with one NumPy array per model output, shaped `(n, samples, ...)`.

    Example:
    >>> import numpy as np
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))
    >>> [a.shape for a in monte_carlo_predict(model, np.ones((5, 4)), 3, batch_size=2)]
    [(5, 3, 4)]
    """
    import numpy as np

    arrays = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    count = len(arrays[0])
    per_call = samples_per_call(model, samples, batch_size, memory_bytes)
    calls = math.ceil(samples / per_call)
    per_call = math.ceil(samples / calls)  # balanced: never more than calls - 1 passes thrown away
    passes = monte_carlo_model(model, per_call)
    batches = range(0, count, batch_size)
    bar = keras.utils.Progbar(len(batches), unit_name="batch") if progress and len(batches) > 1 else None
    results = None
    for number, start in enumerate(batches, 1):
        batch = [a[start:start + batch_size] for a in arrays]
        batch = batch if len(batch) > 1 else batch[0]
        drawn = [_as_list(passes.predict_on_batch(batch)) for _ in range(calls)]
        outputs = [np.concatenate([d[i] for d in drawn], axis=1)[:, :samples] for i in range(len(drawn[0]))]
        results = [[o] for o in outputs] if results is None else [r + [o] for r, o in zip(results, outputs)]
        if bar is not None:
            bar.update(number)
    if results is None:
        return [np.zeros((0, samples, *tuple(t.shape)[1:]), "float32") for t in model.outputs]
    return [np.concatenate(parts) for parts in results]


def _input_name(tensor):
    name = getattr(tensor, "name", None)
    return name.split(":")[0] if name else None


def _as_list(values):
    return list(values) if isinstance(values, (list, tuple)) else [values]
