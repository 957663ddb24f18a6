"""Every `Example:` in kspec.data's docstrings runs and prints what it says."""

import doctest
import importlib

import pytest

MODULES = ["kspec.data", "kspec.data.arguments", "kspec.data.config", "kspec.data.examples", "kspec.data.normalization",
           "kspec.data.windows", "kspec.data.pipeline", "kspec.data.images", "kspec.data.digits", "kspec.data.shapes",
           "kspec.data.sine_series", "kspec.data.ring", "kspec.data.npz", "kspec.data.image_directory",
           "kspec.data.csv_series", "kspec.data.keras_datasets", "kspec.data.compatibility", "kspec.data.domains",
           "kspec.data.digit_domains"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
