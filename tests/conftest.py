"""Fixtures shared by kspec's tests; plain helpers live in tests/support.py."""

import os

import pytest
from hypothesis import HealthCheck, settings
from support import SPECS_DIR, run_cli

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


# Runs trained once per test session and shared by the tests that only read them (sample, export, evaluate).
# Training a spec through the CLI costs seconds even at its smallest; tests that need *a* trained run of a
# spec, not one with settings of their own, take it from `trained_run`. They must not change the run
# directory: whatever they write goes to their own tmp_path.
QUICK_TRAINING = {
    "generative": ["--set", "training.epochs=1", "--set", "training.steps_per_epoch=2",
                   "--set", "training.samples.every=1", "--set", "training.samples.count=4"],
    "cnn_classifier": ["--set", "training.epochs=1", "--set", "data.args.limit=300"],
}


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """`trained_run(spec)`: the run directory of `specs/<spec>.yaml` trained for one quick epoch."""
    runs = {}

    def get(spec):
        if spec not in runs:
            run = tmp_path_factory.mktemp("shared-runs") / spec
            result = run_cli("train", os.path.join(SPECS_DIR, f"{spec}.yaml"), "--out", run,
                             *QUICK_TRAINING.get(spec, QUICK_TRAINING["generative"]))
            assert result.exit_code == 0, result.output
            runs[spec] = run
        return runs[spec]

    return get
