"""Runs the `Example:` sections of the trainer modules, so the documented usage keeps working."""

import doctest
import importlib

import pytest

MODULES = ["build", "gan_losses", "vae_losses", "priors", "gradients", "batches", "interpolation", "sample_grid", "vae", "gan", "aae",
           "diff_augment", "spectral_norm"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"kspec.trainers.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
