"""A `keras.applications` family's `preprocess_input` as a layer, so it is saved and exported with the model."""

import keras

from kspec.layers.register import register_layer


@register_layer
class PreprocessInput(keras.layers.Layer):
    """Maps pixels in [0, 255] to what a pretrained backbone expects: `out[..., c] = scale[c] * x[..., order[c]]
    + offset[c]`.

    Every `keras.applications` family's `preprocess_input` is such a per-channel affine map (`tf`: to [-1, 1];
    `torch`: ImageNet mean and standard deviation; `caffe`: RGB to BGR minus the ImageNet mean); the catalog
    holds each family's numbers (`applications.preprocessing`), and `application: {preprocess: true}` puts
    this layer in front of the backbone.

    Args:
        order: for each output channel, the input channel it reads (e.g. `[2, 1, 0]` for RGB to BGR).
        scale: one factor per output channel.
        offset: one term per output channel.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Example:
    >>> import numpy as np
    >>> layer = PreprocessInput(order=[0, 1, 2], scale=[1 / 127.5] * 3, offset=[-1.0] * 3)
    >>> keras.ops.convert_to_numpy(layer(np.full((1, 1, 1, 3), 255.0))).round(6).tolist()
    [[[[1.0, 1.0, 1.0]]]]
    """

    def __init__(self, order, scale, offset, **kwargs):
        super().__init__(**kwargs)
        if sorted(order) != list(range(len(order))):
            raise ValueError(f"Invalid value for argument `order`: expected a permutation of the channel indices. "
                             f"Received: order={order!r}")
        if not len(scale) == len(offset) == len(order):
            raise ValueError(f"Arguments `order`, `scale` and `offset` must have one entry per channel. Received: "
                             f"{len(order)}, {len(scale)} and {len(offset)} entries")
        self.order, self.scale, self.offset = [int(i) for i in order], [float(v) for v in scale], [float(v) for v in offset]

    def call(self, inputs):
        inputs = keras.ops.cast(inputs, self.compute_dtype)
        if self.order != list(range(len(self.order))):
            inputs = keras.ops.take(inputs, self.order, axis=-1)
        return inputs * keras.ops.convert_to_tensor(self.scale, self.compute_dtype) + keras.ops.convert_to_tensor(
            self.offset, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"order": self.order, "scale": self.scale, "offset": self.offset})
        return config
