"""Tiny trained runs shared by the inspection tests: each is trained once per test session, in seconds."""

import os

import numpy as np
import pytest
from support import SPECS_DIR, run_cli


def train(root, spec, *overrides):
    run = root / spec
    arguments = []
    for override in overrides:
        arguments += ["--set", override]
    result = run_cli("train", os.path.join(SPECS_DIR, f"{spec}.yaml"), "--out", run, *arguments)
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture(scope="session")
def cnn_run(tmp_path_factory):
    """specs/cnn_classifier.yaml (conv, dropout, dense) on 240 digits for one epoch."""
    return train(tmp_path_factory.mktemp("runs"), "cnn_classifier", "data.args.limit=240", "training.epochs=1")


@pytest.fixture(scope="session")
def shapes_run(tmp_path_factory):
    """specs/shapes_cam.yaml (a GAP classifier) on 640 one-shape images for eight epochs (val accuracy ~0.9)."""
    return train(tmp_path_factory.mktemp("runs"), "shapes_cam", "data.args.count=640", "training.epochs=8")


@pytest.fixture(scope="session")
def vae_run(tmp_path_factory):
    """specs/vae.yaml on 200 digits for two steps."""
    return train(tmp_path_factory.mktemp("runs"), "vae", "data.args.limit=200", "training.epochs=1",
                 "training.steps_per_epoch=2", "training.samples.count=4")


@pytest.fixture(scope="session")
def raw_digits(tmp_path_factory):
    """`digits.npz`: 12 raw digits (pixel values 0..16) resized to 28x28 as the `digits` source does, and labels."""
    from kspec.data import read_source

    examples = read_source({"source": "digits", "args": {"size": 28, "limit": 12}})
    path = tmp_path_factory.mktemp("inputs") / "digits.npz"
    np.savez(path, x=examples.inputs, y=examples.targets)
    return path
