"""Latent tools for VAE and AAE runs: attribute vectors (latent arithmetic) and traversals of latent dimensions.

Attribute vector (Larsen et al. 2016, sec. 5; White 2016, "Sampling generative networks", sec. 3): the mean
code of images with attribute B minus the mean code of images with attribute A. Adding a fraction t of it to
the code of an A image and decoding moves the image towards B; t = 0 decodes the image's own code.
A traversal decodes codes that vary chosen dimensions over a range with the others held fixed, showing what
each dimension controls (the figure of Kingma & Welling 2014, fig. 4, for a 2-D latent).
"""

import numpy as np

from kspec.errors import SpecError

LATENT_TRAINERS = ("vae", "aae")


def mean_latents(latents, labels):
    """`{label: mean code}` over the codes `(n, d)` of each label present in `labels` `(n,)`.

    Example:
    >>> means = mean_latents(np.array([[0.0, 1.0], [2.0, 3.0], [10.0, 10.0]]), np.array([0, 0, 1]))
    >>> {label: mean.tolist() for label, mean in means.items()}
    {0: [1.0, 2.0], 1: [10.0, 10.0]}
    """
    latents = np.asarray(latents, dtype="float64")
    labels = np.asarray(labels).reshape(-1)
    return {int(label): latents[labels == label].mean(axis=0) for label in np.unique(labels)}


def attribute_vector(latents, labels, from_label, to_label):
    """The mean code of `to_label` minus the mean code of `from_label`.

    Raises:
        ValueError: when a label has no examples.

    Example:
    >>> latents, labels = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 4.0]]), np.array([0, 0, 1])
    >>> attribute_vector(latents, labels, 0, 1).tolist()
    [0.0, 4.0]
    """
    means = mean_latents(latents, labels)
    for label in (from_label, to_label):
        if label not in means:
            raise ValueError(f"Invalid value for argument `labels`: no example of label {label}. Received labels "
                             f"{sorted(means)}")
    return means[to_label] - means[from_label]


def shifted_latents(latents, vector, fractions):
    """`latents + t * vector` for each t of `fractions`: an array `(len(fractions), n, d)`.

    Example:
    >>> shifted_latents(np.zeros((1, 2)), np.array([2.0, 4.0]), [0.0, 0.5, 1.0])[:, 0].tolist()
    [[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]
    """
    latents = np.asarray(latents, dtype="float32")
    fractions = np.asarray(fractions, dtype="float32")[:, None, None]
    return latents[None] + fractions * np.asarray(vector, dtype="float32")


def traversal_latents(base, dims, low, high, steps):
    """Codes that vary `dims` from `low` to `high` in `steps` steps, the other dimensions as in `base`.

    One dimension: one row. Two: a `steps` x `steps` grid, columns varying `dims[0]` from low to high and rows
    `dims[1]` from high (top) to low, as on a plot's axes. More: one row per dimension, each varied alone.

    Returns:
        float32 `(rows, steps, d)`.

    Example:
    >>> traversal_latents(np.zeros(3), [2], -1.0, 1.0, 3)[..., 2].tolist()
    [[-1.0, 0.0, 1.0]]
    >>> grid = traversal_latents(np.zeros(2), [0, 1], -1.0, 1.0, 3)
    >>> grid.shape, grid[0, 0].tolist(), grid[2, 2].tolist()
    ((3, 3, 2), [-1.0, 1.0], [1.0, -1.0])
    """
    base = np.asarray(base, dtype="float32").reshape(-1)
    values = np.linspace(low, high, steps, dtype="float32")
    if len(dims) == 2:
        grid = np.tile(base, (steps, steps, 1))
        grid[:, :, dims[0]] = values[None, :]
        grid[:, :, dims[1]] = values[::-1, None]
        return grid
    rows = np.tile(base, (len(dims), steps, 1))
    for row, dim in enumerate(dims):
        rows[row, :, dim] = values
    return rows


def _load_latent_run(run_dir, checkpoint, command):
    from kspec.training.trainer_from_spec import load_trained
    from kspec.training.supervised_run import open_run

    run, _, config = open_run(run_dir)
    if config.trainer not in LATENT_TRAINERS:
        kind = "supervised" if config.trainer == "supervised" else f"`{config.trainer}`"
        raise SpecError(f"{run.path} trained a {kind} model; `kspec {command}` needs a vae or aae run (an encoder "
                        "and a decoder)", path="RUN_DIR")
    return load_trained(run_dir, checkpoint)


def labelled_arrays(spec, config):
    """The run's data with class labels (`target: labels` for sources that take it), normalized as in training."""
    from kspec.data import load_arrays

    data = dict(spec.data)
    args = dict(data.get("args") or {})
    args["target"] = "labels"
    data["args"] = args
    try:
        arrays = load_arrays(data, batch_size=config.batch_size, seed=config.seed)
    except SpecError as error:
        raise SpecError(f"attribute vectors need class labels, which the run's `{data.get('source')}` data cannot "
                        f"give ({error.problems[0]})", path="RUN_DIR") from None
    if arrays.info.task != "classification":
        raise SpecError(f"attribute vectors need class labels; the run's `{data.get('source')}` data has "
                        f"`{arrays.info.task}` targets", path="RUN_DIR")
    return arrays


def attribute_run(run_dir, from_label, to_label, output, *, count=8, steps=4, seed=0, checkpoint="last"):
    """Writes the attribute-vector figure of a VAE or AAE run: images of `from_label` moved towards `to_label`.

    Rows: `count` images of `from_label` chosen by `seed`; then their decoded codes shifted by 0, 1/steps,
    ..., 1 times the attribute vector (mean code of `to_label` minus mean code of `from_label`, over the
    run's training and validation data).

    Args:
        run_dir: a vae or aae run whose data has class labels (digits, image_directory with class folders, ...).
        from_label: class name or index A.
        to_label: class name or index B.
        output: the PNG file.
        count: images (columns).
        steps: non-zero fractions of the vector (rows after the reconstruction).
        seed: chooses the images.
        checkpoint: `best` or `last`.

    Returns:
        A dict: `output`, `from`, `to` (class names), `vector` (list), `distance` (its length).

    Example (shell):
        kspec attribute runs/vae --from-label 1 --to-label 7 -o arith.png
    """
    from kspec.trainers.sample_grid import image_grid, write_png
    from kspec.training.data_facts import class_index

    trainer, _, spec, config = _load_latent_run(run_dir, checkpoint, "attribute")
    arrays = labelled_arrays(spec, config)
    parts = [p for p in (arrays.train, arrays.validation) if p is not None]
    images = np.concatenate([p.inputs for p in parts])
    labels = np.concatenate([p.targets for p in parts])
    names = arrays.info.class_names or tuple(str(i) for i in range(arrays.info.num_classes))
    source, target = (class_index(v, names, option=o) for v, o in ((from_label, "--from-label"),
                                                                  (to_label, "--to-label")))
    latents = _encode(trainer, images, config.batch_size)
    vector = attribute_vector(latents, labels, source, target)
    candidates = np.flatnonzero(labels == source)
    chosen = np.sort(np.random.default_rng(seed).choice(candidates, size=min(count, len(candidates)), replace=False))
    fractions = np.arange(steps + 1) / steps
    shifted = shifted_latents(latents[chosen], vector, fractions)
    decoded = _decode(trainer, shifted.reshape(-1, shifted.shape[-1]), config.batch_size)
    grid = np.concatenate([images[chosen], decoded])
    write_png(image_grid(grid, columns=len(chosen)), output)
    return {"output": output, "from": names[source], "to": names[target], "vector": vector.tolist(),
            "distance": float(np.linalg.norm(vector))}


def traverse_run(run_dir, dims, low, high, steps, output, *, seed=0, from_data=False, checkpoint="last"):
    """Writes a traversal of latent dimensions `dims` of a VAE or AAE run (see `traversal_latents`).

    The dimensions not varied come from a prior sample drawn with `seed`, or with `from_data` from the code
    of a validation image chosen by `seed`.

    Returns:
        A dict: `output`, `base` (the fixed code, a list), `rows`, `columns`.

    Example (shell):
        kspec traverse runs/vae --dims 0,1 --range -3 3 --steps 9 -o traverse.png
    """
    from kspec.trainers.sample_grid import image_grid, write_png

    if low >= high:
        raise SpecError(f"expected LOW < HIGH. Received: --range {low:g} {high:g}", path="--range")
    trainer, _, spec, config = _load_latent_run(run_dir, checkpoint, "traverse")
    latent_dim = trainer.latent_dim
    bad = [d for d in dims if not 0 <= d < latent_dim]
    if not dims or bad or len(set(dims)) != len(dims):
        raise SpecError(f"expected distinct latent dimensions from 0 to {latent_dim - 1}. Received: "
                        f"{','.join(map(str, dims))}", path="--dims")
    if from_data:
        from kspec.data import load_arrays

        arrays = load_arrays(spec.data, batch_size=config.batch_size, seed=config.seed)
        part = arrays.validation if arrays.validation is not None else arrays.train
        image = part.inputs[np.random.default_rng(seed).integers(len(part.inputs))][None]
        base = _encode(trainer, image, 1)[0]
    else:
        base = np.asarray(trainer.prior.sample(1, seed=seed))[0]
    codes = traversal_latents(base, list(dims), low, high, steps)
    decoded = _decode(trainer, codes.reshape(-1, latent_dim), config.batch_size)
    write_png(image_grid(decoded, columns=steps), output)
    return {"output": output, "base": [float(v) for v in base], "rows": codes.shape[0], "columns": steps}


def _encode(trainer, images, batch_size):
    return np.concatenate([trainer.encode(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def _decode(trainer, codes, batch_size):
    return np.concatenate([trainer.decoder.predict_on_batch(codes[i:i + batch_size])
                           for i in range(0, len(codes), batch_size)])
