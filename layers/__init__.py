"""kspec's own Keras layers. Importing this package imports Keras and registers them."""

from kspec.layers.preprocess_input import PreprocessInput
from kspec.layers.sampling import Sampling

__all__ = ["PreprocessInput", "Sampling"]
