"""`kspec validate` checks the training: section against the Keras catalog, without importing Keras."""

import os

import pytest
from support import SPECS_DIR, run_cli

CNN = os.path.join(SPECS_DIR, "cnn_classifier.yaml")
VAE = os.path.join(SPECS_DIR, "vae.yaml")


@pytest.mark.parametrize(
    "spec, override, message",
    [
        (CNN, "training.optimizer={adamm: {learning_rate: 0.1}}", "training.optimizer: unknown optimizer `adamm` (did you mean 'adam'?)"),
        (CNN, "training.optimizer={adam: {learning_rat: 0.1}}", "training.optimizer.adam.learning_rat: `adam` has no argument `learning_rat` (did you mean 'learning_rate'?)"),
        (CNN, "training.optimizer={sgd: {momentum: fast}}", "training.optimizer.sgd.momentum: expected a number. Received: momentum='fast'"),
        (CNN, "training.loss=sparse_categorical_crossentropyy", "training.loss: unknown loss `sparse_categorical_crossentropyy` (did you mean 'sparse_categorical_crossentropy'?)"),
        (CNN, "training.metrics=[acuracy]", "training.metrics[0]: unknown metric `acuracy` (did you mean 'accuracy'?)"),
        (CNN, "training.model=clasifier", "training.model: unknown model 'clasifier' (did you mean 'classifier'?)"),
        (CNN, "training.callbacks={early_stopping: {patience: soon}}", "training.callbacks.early_stopping.patience: expected an integer. Received: patience='soon'"),
        (VAE, "training.trainer={vae: {betta: 2}}", "training.trainer.vae.betta: trainer `vae` has no option `betta` (did you mean 'beta'?)"),
        (VAE, "training.trainer=vea", "training.trainer: unknown trainer `vea` (did you mean 'vae'?)"),
    ],
)
def test_training_section_problems_are_one_line(spec, override, message):
    result = run_cli("validate", spec, "--set", override)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(message), lines[0]
