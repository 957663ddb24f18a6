"""Trainers for generative models: `VAE`, `GAN`, `AAE`, and for image-to-image translation: `CycleGAN`,
`Pix2Pix` (Keras models with their own `train_step`).

Importing this package is cheap; the trainers, losses and priors (and TensorFlow) load on first use:
`from kspec.trainers import VAE` or `kspec.trainers.load_all()`, which also fills `kspec.registry.TRAINERS`,
`LOSSES` and `PRIORS`. `build_trainer(name, models, options)` is the entry point for spec-driven code.
"""

import importlib

_MODULES = {
    "VAE": "kspec.trainers.vae",
    "GAN": "kspec.trainers.gan",
    "AAE": "kspec.trainers.aae",
    "CycleGAN": "kspec.trainers.cyclegan",
    "Pix2Pix": "kspec.trainers.pix2pix",
    "SampleGrid": "kspec.trainers.sample_grid",
    "interpolate": "kspec.trainers.interpolation",
    "build_trainer": "kspec.trainers.build",
}


def load_all():
    """Imports every trainer module so the registries hold the trainers ("vae", "gan", "aae", "cyclegan",
    "pix2pix"), the adversarial losses and the priors."""
    for module in ("gan_losses", "priors", "vae", "gan", "aae", "cyclegan", "pix2pix", "sample_grid"):
        importlib.import_module(f"kspec.trainers.{module}")


def __getattr__(name):
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'kspec.trainers' has no attribute {name!r}")


__all__ = [*_MODULES, "load_all"]
