"""`kspec sample` and `kspec interpolate`: images from a trained generative run, as PNG grids."""

import numpy as np

from kspec.errors import SpecError
from kspec.training.trainer_from_spec import load_trained


def sample_grid(run_dir, count, output, *, seed=0, checkpoint="last"):
    """Writes a grid of `count` generated images to `output` (PNG); the same seed gives the same grid."""
    from kspec.trainers.sample_grid import image_grid, write_png

    trainer, _, _, config = load_trained(run_dir, checkpoint)
    _check_samples(trainer, config)
    write_png(image_grid(trainer.sample(count, seed=seed)), output)
    return output


def interpolation_grid(run_dir, steps, output, *, seed=0, from_data=False, checkpoint="last"):
    """Decodes `steps` points on the line between two latents and writes them as one row (PNG).

    The ends are two prior samples (`seed`), or with `from_data` the codes of two validation images
    (VAE and AAE).
    """
    from kspec.data import load_arrays
    from kspec.trainers.sample_grid import image_grid, write_png

    trainer, _, spec, config = load_trained(run_dir, checkpoint)
    _check_samples(trainer, config)
    if from_data:
        if not hasattr(trainer, "encode"):
            raise SpecError(f"a `{config.trainer}` run has no encoder; drop --from-data", path="--from-data")
        arrays = load_arrays(spec.data, batch_size=config.batch_size, seed=config.seed)
        part = arrays.validation if arrays.validation is not None else arrays.train
        rng = np.random.default_rng(seed)
        pair = part.inputs[rng.choice(len(part.inputs), size=2, replace=False)]
        z0, z1 = np.asarray(trainer.encode(pair))
    else:
        z0, z1 = np.asarray(trainer.prior.sample(2, seed=seed))
    images = trainer.interpolate(z0, z1, steps=steps)
    write_png(image_grid(images, columns=steps), output)
    return output


def _check_samples(trainer, config):
    if not hasattr(trainer, "sample"):  # the translation trainers map images to images, from no latent
        raise SpecError(f"a `{config.trainer}` run translates images and draws no samples; use kspec translate",
                        path="RUN_DIR")
