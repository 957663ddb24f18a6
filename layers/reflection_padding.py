"""Reflection padding for image-to-image generators."""

import keras

from kspec.layers.register import register_layer


@register_layer
class ReflectionPadding2D(keras.layers.Layer):
    """Pads the height and width of images with their own mirror image, edge pixel not repeated.

    Zero padding puts a dark frame around every feature map, which generators reproduce as border artifacts;
    CycleGAN's ResNet generator (Zhu et al. 2017, appendix 7.2) pads with reflections before every `valid`
    convolution instead. Row `-k` becomes row `k`, as `numpy.pad(..., mode="reflect")` does, so each side's
    padding must be smaller than the image along that axis.

    Args:
        padding: an integer (the same on all four sides), a pair `(height, width)` (each on both sides of its
            axis), or `((top, bottom), (left, right))`.
        data_format: `"channels_last"` (NHWC, the default) or `"channels_first"` (NCHW); default the Keras
            setting `keras.config.image_data_format()`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a rank-4 tensor of images.

    Returns:
        The images with `top + bottom` more rows and `left + right` more columns.

    Example:
    >>> import numpy as np
    >>> row = np.array([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1)
    >>> keras.ops.convert_to_numpy(ReflectionPadding2D((0, 2))(row)).ravel().tolist()
    [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _standardize_padding(padding)
        data_format = data_format or keras.config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError("Invalid value for argument `data_format`: expected 'channels_last' or 'channels_first'. "
                             f"Received: data_format={data_format!r}")
        self.data_format = data_format
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def _spatial_axes(self):
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def build(self, input_shape):
        # Reflection cannot reach further than the image: a side's padding must be below that axis's size.
        for axis, (before, after) in zip(self._spatial_axes(), self.padding):
            size = input_shape[axis]
            if size is not None and max(before, after) >= size:
                raise ValueError(
                    f"Invalid value for argument `padding`: reflection padding must be smaller than the image "
                    f"along each axis. Received: padding={self.padding} for an input of shape {tuple(input_shape)}"
                )
        super().build(input_shape)

    def call(self, inputs):
        widths = [[0, 0], [0, 0], [0, 0], [0, 0]]
        for axis, pair in zip(self._spatial_axes(), self.padding):
            widths[axis] = list(pair)
        return keras.ops.pad(inputs, widths, mode="reflect")

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (before, after) in zip(self._spatial_axes(), self.padding):
            if shape[axis] is not None:
                shape[axis] += before + after
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": [list(pair) for pair in self.padding], "data_format": self.data_format})
        return config


def _standardize_padding(padding):
    """`padding` as `((top, bottom), (left, right))` of non-negative integers."""

    def is_count(value):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if is_count(padding):
        return ((padding, padding), (padding, padding))
    if isinstance(padding, (list, tuple)) and len(padding) == 2:
        if all(is_count(p) for p in padding):
            return ((padding[0], padding[0]), (padding[1], padding[1]))
        if all(isinstance(p, (list, tuple)) and len(p) == 2 and all(is_count(v) for v in p) for p in padding):
            return (tuple(padding[0]), tuple(padding[1]))
    raise ValueError(
        "Invalid value for argument `padding`: expected a non-negative integer, a pair (height, width) or "
        f"((top, bottom), (left, right)). Received: padding={padding!r}"
    )
