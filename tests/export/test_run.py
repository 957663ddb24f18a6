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


# What `export_run` hands to `export_model` (which test_keras_model.py covers): the model of the run that was
# asked for, its names in the spec, and the run's record. A spy stands in for the exporter, so no export is written.

@pytest.fixture
def handed(monkeypatch):
    import kspec.export.run

    calls = []

    def spy(model, output, **options):
        calls.append({"model": model, "output": output, **options})
        return output

    monkeypatch.setattr(kspec.export.run, "export_model", spy)
    return calls


def same_weights(model, expected):
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), expected.get_weights(), strict=True))


def test_a_supervised_run_hands_its_checkpoint_names_and_record_to_the_exporter(cnn_run, handed, tmp_path):
    import keras

    from kspec.export.run import export_run

    assert export_run(cnn_run, tmp_path / "e") == tmp_path / "e"
    record = json.loads((cnn_run / "run.json").read_text())
    (call,) = handed
    assert (call["format"], call["extra_signatures"]) == ("saved_model", {})
    assert (call["input_names"], call["output_names"]) == (["image"], ["class_probabilities"])
    assert call["metadata"] == {"kspec_version": record["versions"]["kspec"], "spec_hash": record["spec_hash"],
                                "spec": record["spec"], "model": "classifier", "run": str(cnn_run),
                                "checkpoint": "best.keras"}
    assert same_weights(call["model"], keras.saving.load_model(str(cnn_run / "checkpoints" / "best.keras")))
    export_run(cnn_run, tmp_path / "e", checkpoint="last", export_format="onnx")
    assert (handed[1]["metadata"]["checkpoint"], handed[1]["format"]) == ("epoch-0001.keras", "onnx")


AUTOENCODER = """kspec: 1
models:
  encoder:
    inputs: {image: [8, 8, 1]}
    layers:
      - flatten:
      - {name: code, dense: {units: 3}}
  decoder:
    inputs: {code: [3]}
    layers:
      - dense: {units: 64, activation: sigmoid}
      - {name: reconstruction, reshape: {target_shape: [8, 8, 1]}}
  autoencoder:
    inputs: {image: [8, 8, 1]}
    layers:
      - model: encoder
      - model: decoder
data: {source: digits, args: {size: 8, target: images, limit: 40}}
training: {model: autoencoder, loss: mse, epochs: 1}
"""


@pytest.fixture(scope="module")
def autoencoder_run(tmp_path_factory):
    spec = tmp_path_factory.mktemp("spec") / "autoencoder.yaml"
    spec.write_text(AUTOENCODER)
    run = tmp_path_factory.mktemp("runs") / "autoencoder"
    assert run_cli("train", spec, "--out", run).exit_code == 0
    return run


def test_another_model_of_a_supervised_spec_is_exported_with_the_trained_weights(autoencoder_run, handed, tmp_path):
    import keras

    from kspec.export.run import export_run

    export_run(autoencoder_run, tmp_path / "e", model_name="encoder")
    (call,) = handed
    assert (call["input_names"], call["output_names"], call["metadata"]["model"]) == (["image"], ["code"], "encoder")
    trained = keras.saving.load_model(str(autoencoder_run / "checkpoints" / "best.keras"))
    assert same_weights(call["model"], trained.get_layer("encoder"))


def test_an_unknown_model_of_a_supervised_run_names_the_ones_it_has(autoencoder_run, handed, tmp_path):
    from kspec.errors import SpecError
    from kspec.export.run import export_run

    with pytest.raises(SpecError) as error:
        export_run(autoencoder_run, tmp_path / "e", model_name="coder")
    assert str(error.value) == "--model: no model `coder` in the run's spec; it has: encoder, decoder, autoencoder"
    assert handed == []


@pytest.fixture(scope="module")
def gan_run(trained_run):
    """specs/ring_gan.yaml: a GAN keeping a moving average of its generator."""
    return trained_run("ring_gan")


def test_a_gan_run_exports_the_moving_average_of_its_generator_or_the_role_asked_for(gan_run, handed, tmp_path,
                                                                                      monkeypatch):
    from kspec.export.run import export_run
    from kspec.training import trainer_from_spec

    trainer, models, _, _ = trainer_from_spec.load_trained(str(gan_run), "best")
    loaded = []
    load_trained = trainer_from_spec.load_trained
    monkeypatch.setattr(trainer_from_spec, "load_trained",
                        lambda run, checkpoint="last": loaded.append(checkpoint) or load_trained(run, checkpoint))
    export_run(gan_run, tmp_path / "e")
    export_run(gan_run, tmp_path / "e", model_name="discriminator", checkpoint="last")
    assert loaded == ["best", "last"]  # the checkpoint asked for (one epoch: best and last hold the same weights)
    sampler, critic = handed
    assert same_weights(sampler["model"], trainer.ema_generator)
    assert not same_weights(trainer.ema_generator, models["generator"])  # the average lags the trained weights
    assert {k: sampler["metadata"][k] for k in ("model", "role", "checkpoint")} == {
        "model": "generator", "role": "generator", "checkpoint": "best"}
    assert (sampler["input_names"], sampler["output_names"]) == (["z"], list(models["generator"].output_names))
    assert {k: critic["metadata"][k] for k in ("model", "role", "checkpoint")} == {
        "model": "discriminator", "role": "discriminator", "checkpoint": "last"}
    assert critic["model"] is not trainer.ema_generator
    assert same_weights(critic["model"], models["discriminator"])


def test_a_gan_run_refuses_an_unknown_role_and_mc_samples(gan_run, handed, tmp_path):
    from kspec.errors import SpecError
    from kspec.export.run import export_run

    with pytest.raises(SpecError) as error:
        export_run(gan_run, tmp_path / "e", model_name="critic")
    assert str(error.value) == "--model: no model `critic` in this run; it has: generator, discriminator"
    with pytest.raises(SpecError) as error:
        export_run(gan_run, tmp_path / "e", mc_samples=4)
    assert str(error.value) == f"--mc-samples: {gan_run} trained a `gan` model; --mc-samples needs a supervised run"
    assert handed == []


def test_a_vae_run_exports_its_decoder(trained_run, handed, tmp_path):
    from kspec.export.run import export_run
    from kspec.training.trainer_from_spec import load_trained

    run = trained_run("vae")
    export_run(run, tmp_path / "e")
    (call,) = handed
    _, models, _, _ = load_trained(str(run), "best")
    assert {k: call["metadata"][k] for k in ("model", "role")} == {"model": "decoder", "role": "decoder"}
    assert same_weights(call["model"], models["decoder"])  # a VAE keeps no moving average
