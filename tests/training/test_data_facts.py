"""RUN/data.json: written when a supervised run starts, read back, recomputed for runs that lack it."""

import os

from support import SPECS_DIR, run_cli

from kspec.data.normalization import Normalization
from kspec.training.data_facts import DataFacts, read_data_facts
from kspec.training.run_directory import RunDirectory


def test_facts_round_trip_through_json():
    facts = DataFacts("csv", "forecasting", (48, 2), "float32", None, None,
                      Normalization("standardize", (1.0, 2.0), (3.0, 4.0)),
                      Normalization("standardize", (1.0,), (3.0,)))
    assert DataFacts.from_json(facts.to_json()) == facts


def test_training_writes_the_facts_that_recomputing_them_gives(tmp_path):
    run = tmp_path / "run"
    result = run_cli("train", os.path.join(SPECS_DIR, "cnn_classifier.yaml"), "--out", run, "--set",
                     "data.args.limit=60", "--set", "training.epochs=1", "--set", "params.filters=2")
    assert result.exit_code == 0, result.output
    written = read_data_facts(RunDirectory(run))
    assert written.source == "digits" and written.input_shape == (28, 28, 1) and written.num_classes == 10
    assert written.normalization == Normalization("unit", (0.0,), (16.0,))
    assert written.class_names == tuple(str(d) for d in range(10))
    os.remove(run / "data.json")  # a run from before data.json existed
    assert read_data_facts(RunDirectory(run)) == written
