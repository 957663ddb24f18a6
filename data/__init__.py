"""Training data for kspec specs: the `data:` section turned into `tf.data` pipelines.

Importing this package registers every data source in `kspec.registry.DATA_SOURCES` without importing
TensorFlow; TensorFlow is imported when datasets are built.

Example:
>>> import kspec.data
>>> splits = kspec.data.load_data({"source": "digits", "args": {"size": 28}, "normalize": "symmetric"},
...                               batch_size=32, seed=0)
>>> print(splits.describe().splitlines()[0])
data `digits`: classification, 1438 training / 359 validation examples, batches of 32
"""

# Source modules register themselves on import.
from kspec.data import csv_series, digit_domains, digits, image_directory, keras_datasets, npz, ring, shapes, sine_series  # noqa: F401
from kspec.data.arguments import SourceArguments
from kspec.data.compatibility import check_keras_model, check_model_input, check_model_output
from kspec.data.config import DataConfig, parse_data_config
from kspec.data.domains import Domains
from kspec.data.examples import Examples, Series
from kspec.data.normalization import Normalization
from kspec.data.pipeline import (NAIVE_MAE, ArraySplits, DataInfo, DataSplits, batch_arrays, load_arrays, load_data,
                                 read_source)
from kspec.data.ring import ModeCoverage, mode_coverage, ring_modes, sample_ring
from kspec.data.windows import make_windows, naive_forecast_mae

__all__ = [
    "load_data", "load_arrays", "batch_arrays", "read_source", "parse_data_config", "DataSplits", "ArraySplits",
    "DataInfo", "DataConfig", "Examples", "Series", "Domains", "Normalization", "SourceArguments", "NAIVE_MAE",
    "check_model_input", "check_model_output", "check_keras_model",
    "mode_coverage", "ModeCoverage", "ring_modes", "sample_ring", "make_windows", "naive_forecast_mae",
]
