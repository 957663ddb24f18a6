"""`kspec predict RUN --input PATH`: predictions on new inputs scaled as in training, with MC-dropout uncertainty."""

import csv
import io
import os

import numpy as np
import pytest
from support import run_cli


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def trained_probabilities(run, raw):
    """The run's best model on raw digits scaled as the `digits` source's `normalize: unit` does (0..16 -> 0..1)."""
    import keras

    import kspec  # noqa: F401

    return keras.saving.load_model(str(run / "checkpoints" / "best.keras")).predict(raw / 16.0, verbose=0)


def test_predictions_on_raw_inputs_equal_the_model_on_training_scaled_inputs(cnn_run, raw_digits):
    result = run_cli("predict", cnn_run, "--input", raw_digits)
    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout)
    assert list(rows[0]) == ["input", *(f"p_{d}" for d in range(10)), "predicted", "entropy"]
    expected = trained_probabilities(cnn_run, np.load(raw_digits)["x"])
    got = np.array([[float(row[f"p_{d}"]) for d in range(10)] for row in rows])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [row["predicted"] for row in rows] == [str(p) for p in expected.argmax(1)]
    assert [row["input"] for row in rows] == [str(i) for i in range(12)]


def test_mc_dropout_predictions_report_entropy_and_mutual_information_reproducibly(cnn_run, raw_digits, tmp_path):
    outputs = []
    for name, seed in (("a.npz", 0), ("b.npz", 0), ("c.npz", 1)):
        result = run_cli("predict", cnn_run, "--input", raw_digits, "-o", tmp_path / name, "--mc-samples", 8,
                         "--seed", seed, "--batch-size", 5)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip().splitlines()[-1] == f"wrote {tmp_path / name} (12 predictions)"
        outputs.append(np.load(tmp_path / name))
    first, again, other = outputs
    assert sorted(first.files) == ["class_names", "entropy", "mutual_information", "names", "predicted",
                                   "probabilities"]
    np.testing.assert_array_equal(first["probabilities"], again["probabilities"])  # same seed, same masks
    assert not np.array_equal(first["probabilities"], other["probabilities"])
    assert np.all(first["mutual_information"] > 0)  # the cnn has dropout: passes disagree a little
    assert np.all(first["mutual_information"] <= first["entropy"] + 1e-9)
    np.testing.assert_allclose(first["probabilities"].sum(1), 1.0, atol=1e-5)
    assert first["class_names"].tolist() == [str(d) for d in range(10)]


def test_image_directory_inputs_are_mapped_onto_the_runs_raw_range(cnn_run, raw_digits, tmp_path):
    from PIL import Image

    raw = np.load(raw_digits)["x"][:4]
    folder = tmp_path / "images"
    os.makedirs(folder / "more")
    for index, image in enumerate(raw):
        target = folder / ("more" if index >= 2 else "") / f"digit{index}.png"
        Image.fromarray(np.round(image[..., 0] / 16.0 * 255.0).astype("uint8")).save(target)
    result = run_cli("predict", cnn_run, "--input", folder)
    assert result.exit_code == 0, result.output
    rows = read_csv(result.stdout)
    assert [row["input"] for row in rows] == ["digit0.png", "digit1.png", "more/digit2.png", "more/digit3.png"]
    got = np.array([[float(row[f"p_{d}"]) for d in range(10)] for row in rows])
    np.testing.assert_allclose(got, trained_probabilities(cnn_run, raw), atol=2e-3)  # 8-bit rounding only


FORECAST_SPEC = """
kspec: 1
models:
  forecaster:
    inputs: {history: [6, 2]}
    layers:
      - lstm: {units: 4, dropout: 0.3}
      - {name: forecast, dense: {units: 2}}
data:
  source: csv
  args: {path: SERIES, columns: [load, temperature], window: 6, horizon: 2}
  normalize: standardize
  validation_split: 0.25
training: {loss: mse, epochs: 1, batch_size: 8}
"""


def test_forecaster_predicts_every_window_of_a_csv_in_the_targets_units(tmp_path, write_spec):
    steps = np.arange(60)
    with open(tmp_path / "series.csv", "w") as stream:
        stream.write("time,load,temperature\n")
        for t in steps:
            stream.write(f"{t},{100 + 10 * np.sin(t / 4):.4f},{20 + np.cos(t / 5):.4f}\n")
    run = tmp_path / "run"
    spec = write_spec(FORECAST_SPEC.replace("SERIES", str(tmp_path / "series.csv")))
    assert run_cli("train", spec, "--out", run).exit_code == 0
    result = run_cli("predict", run, "--input", tmp_path / "series.csv", "-o", tmp_path / "p.csv", "--mc-samples", 20)
    assert result.exit_code == 0, result.output
    rows = read_csv((tmp_path / "p.csv").read_text())
    assert list(rows[0]) == ["input", "mean_0", "mean_1", "stddev_0", "stddev_1"]
    assert len(rows) == 60 - 6 + 1 and rows[0]["input"] == "lines 2-7" and rows[-1]["input"] == "lines 56-61"
    # The LSTM drops each of its 2 input features with p = 0.3 per pass: 20 passes all keeping both: 0.49 ** 20.
    assert all(float(row["stddev_0"]) > 0 for row in rows)

    import keras

    from kspec.training.data_facts import DataFacts

    facts = DataFacts.from_json((run / "data.json").read_text())
    assert facts.task == "forecasting" and facts.normalization.method == "standardize"
    plain = read_csv(run_cli("predict", run, "--input", tmp_path / "series.csv").stdout)
    values = np.loadtxt(tmp_path / "series.csv", delimiter=",", skiprows=1)[:, 1:]
    windows = np.stack([values[s:s + 6] for s in range(55)]).astype("float32")
    model = keras.saving.load_model(str(run / "checkpoints" / "best.keras"))
    expected = facts.target_normalization.invert(model.predict(facts.normalization.apply(windows), verbose=0))
    got = np.array([[float(row["mean_0"]), float(row["mean_1"])] for row in plain])
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert 80 < got.mean() < 120  # back in the load column's units, not standardized


def test_predict_refuses_a_generative_run(vae_run, raw_digits):
    result = run_cli("predict", vae_run, "--input", raw_digits)
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"RUN_DIR: {vae_run} trained a `vae` model; `kspec predict` needs a supervised "
                                     "run (a spec without `training.trainer`)")


@pytest.mark.parametrize("arrays, suffix, message", [
    ({"x": np.zeros((3, 8, 8))}, ".npz", "--input: expected examples of shape (28, 28, 1), the run's inputs. "
                                         "Received: x of shape (3, 8, 8)"),
    ({"x": np.zeros((3, 28, 28, 3))}, ".npz", "--input: expected examples of shape (28, 28, 1), the run's inputs. "
                                              "Received: x of shape (3, 28, 28, 3)"),
    ({"a": np.zeros(3), "b": np.zeros(3)}, ".npz", "--input: expected an array named 'x'. Received: arrays 'a', 'b'"),
    (None, ".csv", "--input: expected images (a directory) or a .npz file for inputs of shape (28, 28, 1); CSV "
                   "holds time series or feature vectors"),
    (None, ".txt", "--input: expected a .npz file, a .csv file or a directory of images. Received: a file ending "
                   "in .txt"),
])
def test_wrong_inputs_are_one_line_naming_the_file(cnn_run, tmp_path, arrays, suffix, message):
    path = tmp_path / f"inputs{suffix}"
    if arrays is None:
        path.write_text("a,b\n1,2\n")
    else:
        np.savez(path, **arrays)
    result = run_cli("predict", cnn_run, "--input", path)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{path}: {message}"


def test_output_must_be_csv_or_npz(cnn_run, raw_digits, tmp_path):
    result = run_cli("predict", cnn_run, "--input", raw_digits, "-o", tmp_path / "p.json")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("--output: expected a file name ending in .csv or .npz. "
                                     f"Received: {tmp_path / 'p.json'}")
    assert not os.path.exists(tmp_path / "p.json")
