"""kspec's own Keras layers. Importing this package imports Keras and registers them."""

from kspec.layers.instance_normalization import InstanceNormalization
from kspec.layers.preprocess_input import PreprocessInput
from kspec.layers.reflection_padding import ReflectionPadding2D
from kspec.layers.sampling import Sampling

__all__ = ["InstanceNormalization", "PreprocessInput", "ReflectionPadding2D", "Sampling"]
