"""Runs trained once per test session and shared by the tests that only read them (sample, export, evaluate).

Training a spec through the CLI costs seconds even at its smallest; tests that need *a* trained run of a spec,
not one with their own settings, take it from `trained_run` instead of training their own. They must not
change the run directory: whatever they write goes to their own tmp_path.
"""

import os

import pytest
from support import SPECS_DIR, run_cli

QUICK = {
    "generative": ["--set", "training.epochs=1", "--set", "training.steps_per_epoch=2",
                   "--set", "training.samples.every=1", "--set", "training.samples.count=4"],
    "cnn_classifier": ["--set", "training.epochs=1", "--set", "data.args.limit=300"],
}


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """`trained_run(spec)`: the run directory of `specs/<spec>.yaml` trained for one quick epoch (QUICK)."""
    runs = {}

    def get(spec):
        if spec not in runs:
            run = tmp_path_factory.mktemp("shared-runs") / spec
            result = run_cli("train", os.path.join(SPECS_DIR, f"{spec}.yaml"), "--out", run,
                             *QUICK.get(spec, QUICK["generative"]))
            assert result.exit_code == 0, result.output
            runs[spec] = run
        return runs[spec]

    return get
