"""`kspec export RUN_DIR`: the trained model, named as in the spec, served by plain TensorFlow."""

import json
import os
import subprocess
import sys

import numpy as np
from support import SPECS_DIR, run_cli

PLAIN_TF = """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
x = np.load(sys.argv[2])
out = loaded.signatures["serving_default"](image=tf.constant(x))
assert "kspec" not in sys.modules
np.save(sys.argv[3], out["class_probabilities"].numpy())
"""


def test_export_of_a_trained_run_serves_the_best_checkpoint_in_plain_tensorflow(tmp_path, trained_run):
    run, export = trained_run("cnn_classifier"), tmp_path / "export"
    result = run_cli("export", run, "-o", export)
    assert result.exit_code == 0, result.output
    record = json.loads((export / "kspec.json").read_text())
    assert record["spec_hash"] == json.loads((run / "run.json").read_text())["spec_hash"]
    assert record["model"] == "classifier" and record["checkpoint"] == "best.keras"

    import keras

    import kspec  # noqa: F401

    x = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    expected = keras.saving.load_model(str(run / "checkpoints" / "best.keras")).predict(x, verbose=0)
    subprocess.run([sys.executable, "-c", PLAIN_TF, str(export), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                   check=True, capture_output=True, cwd=tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, atol=1e-5)


def test_export_of_a_run_without_epochs_says_to_train_first(tmp_path):
    run = tmp_path / "run"
    os.makedirs(run / "checkpoints")
    (run / "spec.yaml").write_text(open(os.path.join(SPECS_DIR, "cnn_classifier.yaml")).read())
    result = run_cli("export", run, "-o", tmp_path / "export")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"RUN_DIR: {run} has no finished epoch to export; train it first"
