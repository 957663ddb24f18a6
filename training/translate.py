"""`kspec translate`: images through a trained CycleGAN or pix2pix run's generator, written as PNGs or an .npz."""

import os

import numpy as np

from kspec.errors import SpecError
from kspec.training.trainer_from_spec import load_trained

# Normalizations whose model range is fixed, so that image files (0..255) map onto it whatever the raw range.
_MODEL_RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}


def translate_run(run_dir, input_path, output, *, direction="ab", checkpoint="last"):
    """Translates images of one domain with a trained run and writes the results.

    Inputs are scaled as the run's training data was, per domain. Image files hold 0..255 and are mapped onto
    the model's range (`normalize: unit` or `symmetric`; otherwise the run's normalization is applied to
    their values), converted to the generator's channels (grayscale, RGB, RGBA) and resized bilinearly to its
    input size. An .npz holds raw values like the training data's. Generators run in inference mode (no
    dropout), so the same input gives the same output.

    Args:
        run_dir: a run directory of a `cyclegan` or `pix2pix` spec.
        input_path: a directory of image files (searched recursively) or an .npz file whose array `inputs` (or
            its only array) holds images `(n, height, width[, channels])`.
        output: a directory, which gets one PNG per image (same relative names for a directory input,
            `00000.png`... for an .npz), or a file ending in `.npz`, which gets the array `outputs` in the raw
            range of the target domain.
        direction: `ab` (A -> B with `generator_ab`, or pix2pix's `generator`) or `ba` (B -> A, CycleGAN).
        checkpoint: `last` or `best`.

    Returns:
        The number of images translated.

    Raises:
        SpecError: for a run that is not a translation run, a direction it cannot do, or unreadable inputs.
    """
    from kspec import builder
    from kspec.data import load_arrays
    from kspec.training.config import TrainingConfig
    from kspec.training.trainer_from_spec import SAMPLER_ROLE, trainer_models
    from kspec.training.run_directory import RunDirectory

    run = RunDirectory.open(run_dir)
    trainer_name = TrainingConfig.from_spec(builder.load_spec(run.spec_file)).trainer
    if trainer_name not in ("cyclegan", "pix2pix"):
        raise SpecError(f"{run.path} trained a `{trainer_name}` model; translate needs a cyclegan or pix2pix run",
                        path="RUN_DIR")
    trainer, models, spec, config = load_trained(run_dir, checkpoint)
    if direction == "ba" and config.trainer != "cyclegan":
        raise SpecError(f"a `{config.trainer}` run translates A -> B only; drop --direction ba", path="--direction")
    roles = trainer_models(config, models)
    generator = roles[SAMPLER_ROLE[config.trainer] if direction == "ab" else "generator_ba"]
    # The run's scaling of each domain, fitted on its training split exactly as in training.
    info = load_arrays(spec.data, batch_size=config.batch_size, seed=config.seed).info
    source, target = ((info.normalization, info.target_normalization) if direction == "ab"
                      else (info.target_normalization, info.normalization))
    shape = tuple(generator.inputs[0].shape[1:])
    if os.path.isdir(input_path):
        names, images = _read_image_files(input_path, shape)
        inputs = _from_image_values(images, source)
    else:
        names, inputs = None, source.apply(_read_npz(input_path, shape))
    outputs = trainer.translate(inputs, direction)
    if output.endswith(".npz"):
        _write_npz(output, target.invert(outputs))
    else:
        names = names or [f"{index:05d}.png" for index in range(len(outputs))]
        _write_image_files(output, names, _to_image_values(outputs, target))
    return len(outputs)


def _from_image_values(images, normalization):
    if normalization.method in _MODEL_RANGES:
        low, high = _MODEL_RANGES[normalization.method]
        return (images / 255.0 * (high - low) + low).astype("float32")
    return normalization.apply(images)


def _to_image_values(outputs, normalization):
    if normalization.method in _MODEL_RANGES:
        low, high = _MODEL_RANGES[normalization.method]
        return (outputs - low) / (high - low) * 255.0
    return normalization.invert(outputs)


def _read_image_files(directory, shape):
    """Every image file below `directory` (sorted relative paths) as float32 `(n, *shape)` in 0..255."""
    from PIL import Image, UnidentifiedImageError

    from kspec.data.image_directory import IMAGE_EXTENSIONS
    from kspec.data.images import resize_images

    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    if shape[-1] not in modes:
        raise SpecError(f"the generator takes images with {shape[-1]} channels; image files have 1, 3 or 4",
                        path="--input")
    names = sorted(os.path.relpath(os.path.join(root, name), directory)
                   for root, _, files in os.walk(directory) for name in files
                   if name.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise SpecError(f"expected image files ({', '.join(IMAGE_EXTENSIONS)}) in {directory}. Received: a "
                        "directory without any", path="--input")
    images = []
    for name in names:
        try:
            with Image.open(os.path.join(directory, name)) as file:
                image = np.asarray(file.convert(modes[shape[-1]]), "float32")
        except (OSError, UnidentifiedImageError) as error:
            raise SpecError(f"cannot read {os.path.join(directory, name)} as an image ({error})",
                            path="--input") from None
        image = image.reshape(*image.shape[:2], shape[-1])
        images.append(resize_images(image[None], shape[:2])[0])
    return [os.path.splitext(name)[0] + ".png" for name in names], np.stack(images)


def _read_npz(path, shape):
    """The array `inputs` (or the only array) of an .npz as float32 `(n, *shape)`, resized when needed."""
    from kspec.data.images import as_nhwc, resize_images

    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise SpecError(f"expected a directory of images or an .npz file written by numpy.savez. Received: {path} "
                        f"({error})", path="--input") from None
    with archive:
        keys = sorted(archive.files)
        if "inputs" not in keys and len(keys) != 1:
            raise SpecError(f"expected an array named 'inputs' (or a single array) in {path}, which holds "
                            f"{', '.join(repr(k) for k in keys) or 'no arrays'}", path="--input")
        images = archive["inputs" if "inputs" in keys else keys[0]]
    if images.ndim == 3 and shape[-1] == 1:
        images = as_nhwc(images)
    if images.ndim != 4 or images.shape[-1] != shape[-1]:
        raise SpecError(f"expected images (n, height, width, {shape[-1]}) for the generator's input "
                        f"{tuple(shape)}. Received: an array of shape {images.shape} in {path}", path="--input")
    return resize_images(images.astype("float32"), shape[:2])


def _write_npz(path, outputs):
    from kspec.atomic import publish

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.tmp.npz")
    np.savez(temporary, outputs=outputs.astype("float32"))
    publish(temporary, path)


def _write_image_files(directory, names, images):
    from kspec.trainers.sample_grid import write_png

    pixels = np.clip(np.round(images), 0, 255).astype("uint8")
    for name, image in zip(names, pixels):
        write_png(image, os.path.join(directory, name))
