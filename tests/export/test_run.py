"""kspec.export.run (`kspec export RUN_DIR`): the trained model, named as in the spec, served by plain TensorFlow."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
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


@pytest.fixture(scope="module")
def cnn_run(trained_run):
    """specs/cnn_classifier.yaml (with dropout) trained for one epoch on 300 digits, shared by the session."""
    return trained_run("cnn_classifier")


def test_export_of_a_trained_run_serves_the_best_checkpoint_in_plain_tensorflow(cnn_run, tmp_path):
    run, export = cnn_run, tmp_path / "export"
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
    assert result.stderr.strip() == f"RUN_DIR: {run} has no finished epoch; train it first"


MC_IN_PLAIN_TF = """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
x = tf.constant(np.load(sys.argv[2]))
first, second = (loaded.signatures["mc_dropout"](image=x) for _ in range(2))
plain = [loaded.signatures["serving_default"](image=x)["class_probabilities"].numpy() for _ in range(2)]
assert "kspec" not in sys.modules
print(json.dumps({
    "signatures": sorted(loaded.signatures),
    "outputs": sorted(first),
    "shape": first["class_probabilities_mean"].shape.as_list(),
    "sums": first["class_probabilities_mean"].numpy().sum(axis=1).tolist(),
    "min_stddev": float(first["class_probabilities_stddev"].numpy().min()),
    "max_stddev": float(first["class_probabilities_stddev"].numpy().max()),
    "calls_differ": bool(np.any(first["class_probabilities_mean"].numpy()
                                != second["class_probabilities_mean"].numpy())),
    "largest_gap_to_plain": float(np.abs(first["class_probabilities_mean"].numpy() - plain[0]).max()),
    "plain_is_deterministic": bool(np.array_equal(plain[0], plain[1])),
}))
"""


def test_mc_dropout_signature_serves_mean_and_deviation_in_plain_tensorflow(cnn_run, tmp_path):
    export = tmp_path / "export"
    result = run_cli("export", cnn_run, "-o", export, "--mc-samples", 40)
    assert result.exit_code == 0, result.output
    record = json.loads((export / "kspec.json").read_text())
    assert record["mc_samples"] == 40 and record["export"]["signatures"] == ["mc_dropout", "serving_default"]
    x = np.random.default_rng(0).uniform(size=(5, 28, 28, 1)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    printed = subprocess.run([sys.executable, "-c", MC_IN_PLAIN_TF, str(export), str(tmp_path / "x.npy")],
                             capture_output=True, text=True, check=True, cwd=tmp_path,
                             env={**os.environ, "PYTHONPATH": ""}).stdout
    report = json.loads(printed.strip().splitlines()[-1])
    assert report["signatures"] == ["mc_dropout", "serving_default"]
    assert report["outputs"] == ["class_probabilities_mean", "class_probabilities_stddev"]
    assert report["shape"] == [5, 10]
    np.testing.assert_allclose(report["sums"], 1.0, atol=1e-5)  # a mean of probability vectors
    assert report["min_stddev"] >= 0 and report["max_stddev"] > 0  # dropout active inside the graph
    assert report["calls_differ"] and report["plain_is_deterministic"]
    assert report["largest_gap_to_plain"] < 0.5


NO_DROPOUT_SPEC = """
kspec: 1
models:
  classifier:
    inputs: {image: [8, 8, 1]}
    layers:
      - flatten:
      - {name: probabilities, dense: {units: 10, activation: softmax}}
data: {source: digits, args: {limit: 40}}
training: {loss: sparse_categorical_crossentropy, epochs: 1}
"""


def test_mc_samples_are_refused_where_they_cannot_apply(cnn_run, tmp_path, write_spec):
    result = run_cli("export", cnn_run, "-o", tmp_path / "e", "--mc-samples", 5, "--format", "onnx")
    assert result.exit_code == 1
    assert result.stderr.strip() == "--mc-samples: the MC-dropout signature needs a SavedModel. Received: --format onnx"
    plain = tmp_path / "plain"
    assert run_cli("train", write_spec(NO_DROPOUT_SPEC), "--out", plain).exit_code == 0
    result = run_cli("export", plain, "-o", tmp_path / "e", "--mc-samples", 5)
    assert result.exit_code == 1
    assert result.stderr.strip() == ("--mc-samples: model `classifier` has no dropout layer, so every MC-dropout pass "
                                     "would be the same; drop --mc-samples")
    assert not os.path.exists(tmp_path / "e")
