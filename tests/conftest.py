"""Fixtures shared by kspec's tests; plain helpers live in tests/support.py."""

import os

import pytest
from hypothesis import HealthCheck, settings

# Quiet TensorFlow's C++ logging in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Hypothesis profiles. `ci` (the default) is reproducible: the examples are derived from each test's name
# rather than drawn at random (derandomize), no example database carries failures from one run into the next,
# and no per-example deadline turns a slow moment of a shared machine into a failure. `long` explores: random
# seeds, many examples, for campaigns run by hand or from benchmarks/, e.g.
#     KSPEC_HYPOTHESIS_PROFILE=long python -m pytest tests/builder/test_fuzz.py
settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("long", derandomize=False, database=None, deadline=None, max_examples=10_000,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile(os.environ.get("KSPEC_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def write_spec(tmp_path):
    """Writes spec text to a file in tmp_path and returns its path."""

    def write(text, name="spec.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write
