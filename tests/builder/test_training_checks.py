"""`kspec validate` checks the training: section against the Keras catalog, without importing Keras."""

import os

import pytest
from support import SPECS_DIR, run_cli

CNN = os.path.join(SPECS_DIR, "cnn_classifier.yaml")
VAE = os.path.join(SPECS_DIR, "vae.yaml")
DCGAN = os.path.join(SPECS_DIR, "dcgan.yaml")
AAE = os.path.join(SPECS_DIR, "aae.yaml")


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
        (DCGAN, "training.trainer={9: {}}", "training.trainer: unknown trainer `9`; one of: supervised, vae, gan, aae, cyclegan, pix2pix"),
        (DCGAN, "training.trainer={gan: {n_critic: 0}}", "training.trainer.gan.n_critic: expected a positive integer. Received: n_critic=0"),
        (DCGAN, "training.trainer={gan: {ema_decay: 1.5}}", "training.trainer.gan.ema_decay: expected a number in (0, 1) or null. Received: ema_decay=1.5"),
        (VAE, "training.trainer={vae: {beta: high}}", "training.trainer.vae.beta: expected a number. Received: beta='high'"),
        (VAE, "training.trainer={vae: {reconstruction: bse}}", "training.trainer.vae.reconstruction: unknown reconstruction `bse` for trainer `vae` (did you mean 'mse'?); one of: bce, mse"),
        (DCGAN, "training.trainer={gan: {loss: hinj}}", "training.trainer.gan.loss: unknown loss `hinj` for trainer `gan` (did you mean 'hinge'?); one of: hinge, lsgan, minimax, non_saturating, wasserstein, wasserstein_gp"),
        (AAE, "training.trainer={aae: {prior: {components: 3}}}", "training.trainer.aae.prior: a mapping for `prior` needs `name:`, one of: gaussian, gaussian_mixture, uniform"),
    ],
)
def test_training_section_problems_are_one_line(spec, override, message):
    result = run_cli("validate", spec, "--set", override)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(message), lines[0]


@pytest.mark.parametrize(
    "spec, override, where, message",
    [
        (DCGAN, "models.discriminator.layers[logit].dense.activation=sigmoid", "dcgan.yaml:42:9: models.discriminator.layers[logit]",
         "the discriminator ends in `sigmoid`, but the `gan` trainer's adversarial losses take logits and apply the "
         "sigmoid themselves; remove the `sigmoid` here"),
        (AAE, "models.latent_discriminator.layers[logit]={name: logit, activation: {activation: sigmoid}}",
         "--set models.latent_discriminator.layers[logit]={name: logit, activation: {activation: sigmoid}}: "
         "models.latent_discriminator.layers[logit]",
         "the latent_discriminator ends in `sigmoid`, but the `aae` trainer's adversarial losses take logits and "
         "apply the sigmoid themselves; remove the `sigmoid` here"),
    ],
)
def test_a_discriminator_that_ends_in_a_sigmoid_is_refused(spec, override, where, message):
    result = run_cli("validate", spec, "--set", override)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"{where}: {message}"), lines[0]
