"""Runs the `Example:` sections of the trainer modules, so the documented usage keeps working."""

import doctest
import importlib

import pytest

MODULES = ["build", "gan_losses", "vae_losses", "priors", "gradients", "batches", "interpolation", "sample_grid", "vae", "gan", "aae",
           "cyclegan", "pix2pix", "image_pool", "linear_decay", "translation_losses", "translation_grid"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"kspec.trainers.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
