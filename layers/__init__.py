"""kspec's own Keras layers. Importing this package imports Keras and registers them."""

from kspec.layers.instance_normalization import InstanceNormalization
from kspec.layers.reflection_padding import ReflectionPadding2D
from kspec.layers.sampling import Sampling

__all__ = ["InstanceNormalization", "ReflectionPadding2D", "Sampling"]
