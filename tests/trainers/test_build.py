import keras
import pytest

from kspec.errors import SpecError
from kspec.trainers.aae import AAE
from kspec.trainers.build import build_trainer


def mlp(inputs, outputs):
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(outputs)])


def aae_models():
    return {"encoder": mlp(4, 2), "decoder": mlp(2, 4), "latent_discriminator": mlp(2, 1)}


def test_builds_the_registered_trainer_with_roles_and_options():
    aae = build_trainer("aae", aae_models(), {"prior": "uniform", "reconstruction": "mse"})
    assert isinstance(aae, AAE)
    assert type(aae.prior).__name__ == "UniformPrior"


def test_unknown_trainer_names_close_matches():
    with pytest.raises(SpecError) as error:
        build_trainer("vea", {})
    assert str(error.value) == "training.trainer: unknown trainer `vea` (did you mean `vae`?); expected one of `aae`, `cyclegan`, `gan`, `pix2pix`, `vae`."


def test_missing_and_unused_roles_are_named():
    models = {"encoder": mlp(4, 2), "generator": mlp(2, 4)}
    with pytest.raises(SpecError) as error:
        build_trainer("vae", models)
    assert str(error.value) == (
        "models: trainer `vae` takes the models `encoder`, `decoder`; missing `decoder`; unused `generator`. "
        "Name the models of the spec after these roles."
    )


def test_unknown_option_suggests_the_closest():
    with pytest.raises(SpecError) as error:
        build_trainer("aae", aae_models(), {"prior_name": "uniform"})
    assert str(error.value).startswith("training.trainer.aae.prior_name: unknown option `prior_name` for trainer `aae` (did you mean `prior`?)")


def test_invalid_value_becomes_a_spec_error():
    with pytest.raises(SpecError) as error:
        build_trainer("aae", aae_models(), {"loss": "hinj"})
    assert str(error.value).startswith("training.trainer.aae.loss: Invalid value for argument `loss`: unknown loss `hinj` (did you mean `hinge`?)")
