"""Fixtures shared by kspec's tests; plain helpers live in tests/support.py."""

import os

import pytest

# Quiet TensorFlow's C++ logging in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def write_spec(tmp_path):
    """Writes spec text to a file in tmp_path and returns its path."""

    def write(text, name="spec.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write
