"""`training.precision`: mixed bfloat16/float16 in the supervised path and every trainer.

Each case trains a tiny model two steps, then checks that inner layers compute in the reduced type while
model outputs (so losses, the VAE's KL term and the discriminator's logits) stay float32, that float16 uses
loss scaling, that the checkpoint reloads, and that training left Keras' global dtype policy as it was.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from support import SPECS_DIR, run_cli

QUICK = ["training.epochs=1", "training.steps_per_epoch=2"]
TINY = {
    "cnn_classifier": ["params.filters=4", "params.image_size=8", "data.args.size=8", "data.args.limit=64",
                       "training.callbacks={}", "training.batch_size=16"],
    "vae": ["params.base_filters=4", "params.image_size=8", "data.args.limit=64", "training.batch_size=16",
            "training.samples={count: 4}"],
    "ring_gan": ["params.hidden=8", "data.args.count=256", "training.batch_size=32"],
    "aae": ["params.hidden=8", "params.image_size=8", "data.args.limit=64", "training.batch_size=16",
            "training.samples={count: 4}"],
    # As tests/training/test_translation.py trains them: CycleGAN at 16x16, pix2pix's PatchGAN at 32x32.
    "cyclegan": ["data.args.limit=40", "training.samples.count=4", "params.filters=4", "params.image_size=16",
                 "params.residual_blocks=1"],
    "pix2pix": ["data.args.limit=40", "training.samples.count=4", "params.filters=4"],
}


def train_tiny(tmp_path, spec, precision):
    from kspec.training.train import train

    overrides = [*TINY[spec], *QUICK, f"training.precision={precision}"]
    return train(os.path.join(SPECS_DIR, f"{spec}.yaml"), overrides=overrides, out=str(tmp_path / spec), verbose=0)


def policies(model):
    """`{layer name: dtype policy name}` of a model's layers (nested models included)."""
    import keras

    names = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names.update(policies(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            names[layer.name] = layer.dtype_policy.name
    return names


def output_layers(model):
    return {tensor._keras_history.operation.name for tensor in model.outputs}


def check_models(models, precision):
    """Every output layer is float32, every other layer takes `precision`, outputs come back float32."""
    for model in models:
        names = policies(model)
        outputs = output_layers(model)
        assert {names[name] for name in outputs} == {"float32"}, model.name
        assert {policy for name, policy in names.items() if name not in outputs} == {precision}, model.name
        assert all(tensor.dtype == "float32" for tensor in model.outputs), model.name


def random_batch(model):
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(size=(3, *tensor.shape[1:])).astype("float32") for tensor in model.inputs]
    return arrays if len(arrays) > 1 else arrays[0]


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_supervised_mixed_precision_trains_reloads_and_predicts_float32(tmp_path, precision):
    import keras

    from kspec.training.supervised_run import load_supervised

    run = train_tiny(tmp_path, "cnn_classifier", precision)
    trained = load_supervised(run.path, command="predict")
    check_models([trained.model], precision)
    optimizer = trained.model.optimizer
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) is (precision == "mixed_float16")
    probabilities = keras.ops.convert_to_numpy(trained.model(random_batch(trained.model)))
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.slow
@pytest.mark.parametrize("spec, precision", [
    ("vae", "mixed_bfloat16"),
    ("ring_gan", "mixed_bfloat16"), ("ring_gan", "mixed_float16"),
    ("aae", "mixed_bfloat16"),
    ("cyclegan", "mixed_bfloat16"), ("pix2pix", "mixed_bfloat16"), ("pix2pix", "mixed_float16"),
])
def test_generative_trainers_train_in_mixed_precision_and_reload(tmp_path, spec, precision):
    import csv

    import keras

    from kspec.training.trainer_from_spec import load_trained

    run = train_tiny(tmp_path, spec, precision)
    with open(os.path.join(run.path, "metrics.csv"), newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 1 and all(np.isfinite(float(v)) for k, v in rows[0].items() if k != "epoch")

    trainer, models, _, _ = load_trained(run.path)
    check_models(models.values(), precision)
    optimizers = [value for name, value in vars(trainer).items()  # `optimizer`, `d_optimizer`, `g_optimizer`, ...
                  if name.endswith("optimizer") and isinstance(value, keras.optimizers.Optimizer)]
    assert optimizers and all(isinstance(o, keras.optimizers.LossScaleOptimizer) is (precision == "mixed_float16")
                              for o in optimizers)
    if precision == "mixed_bfloat16":  # under loss scaling, steps with overflowing gradients are skipped
        assert all(int(keras.ops.convert_to_numpy(o.iterations)) >= 2 for o in optimizers if o.built)
    for model in models.values():
        outputs = model(random_batch(model))
        for output in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            assert keras.backend.standardize_dtype(output.dtype) == "float32"
            assert np.isfinite(keras.ops.convert_to_numpy(output)).all()
    assert keras.config.dtype_policy().name == "float32"


SERVE = """
import sys
import numpy as np
import tensorflow as tf
serving = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
[spec] = serving.structured_input_signature[1].values()
[output] = serving(**{spec.name: tf.constant(np.zeros((2, 8, 8, 1), "float32"))}).values()
print(spec.dtype.name, output.dtype.name, output.shape)
"""


@pytest.mark.slow
def test_a_run_trained_with_cli_precision_exports_a_float32_serving_signature(tmp_path):
    overrides = [value for item in [*TINY["cnn_classifier"], *QUICK] for value in ("--set", item)]
    result = run_cli("train", os.path.join(SPECS_DIR, "cnn_classifier.yaml"), "--out", tmp_path / "run",
                     "--precision", "mixed_bfloat16", *overrides)
    assert result.exit_code == 0, result.output
    assert "precision: mixed_bfloat16" in (tmp_path / "run" / "spec.yaml").read_text()
    result = run_cli("export", tmp_path / "run", "-o", tmp_path / "exported")
    assert result.exit_code == 0, result.output
    printed = subprocess.run([sys.executable, "-c", SERVE, str(tmp_path / "exported")], capture_output=True,
                             text=True, check=True).stdout.split()
    assert printed == ["float32", "float32", "(2,", "10)"]


def test_float32_builds_plain_float32_layers(tmp_path):
    from kspec import builder

    spec = builder.load_spec(os.path.join(SPECS_DIR, "vae.yaml"), TINY["vae"])
    models = builder.build(spec)
    assert set(policies(models["encoder"]).values()) == {"float32"}


def test_precision_errors_are_one_line(tmp_path):
    result = run_cli("train", os.path.join(SPECS_DIR, "vae.yaml"), "--set", "training.precision=float8")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("--set training.precision=float8: training.precision: expected one of float32, "
                                     "mixed_bfloat16, mixed_float16. Received: precision='float8'")
    result = run_cli("train", "--resume", tmp_path, "--precision", "mixed_bfloat16")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("--precision: a resumed run keeps the precision it was trained in; "
                                     "drop --precision")
