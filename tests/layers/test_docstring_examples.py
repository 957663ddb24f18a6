"""Runs the `Example:` sections of kspec's layer modules, so the documented usage keeps working."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["sampling", "replica_seed"])
def test_docstring_examples_run(name):
    module = importlib.import_module(f"kspec.layers.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
