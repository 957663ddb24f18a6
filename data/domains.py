"""Two image domains, A and B, for image-to-image translation: what a source returns and how it is split.

A translation source returns a `Domains` instead of `Examples`. The pipeline splits it with `split_domains`
into training and validation `Examples` whose inputs are domain A and targets domain B, each domain scaled
with its own normalization fitted on its training images, so the rest of the pipeline (batching, shuffling,
`tf.data`) treats them like any inputs and targets:

- paired data (pix2pix): `(a[i], b[i])` are an input and its translation; batches keep the pairs.
- unpaired data (CycleGAN): A and B are independent sets, possibly of different sizes. The smaller one is
  drawn again (seeded) until both have as many images as the larger one, so an epoch sees every image of the
  larger domain once. CycleGAN's losses never couple `a[i]` with `b[i]`, so which images share a batch
  position does not matter.
"""

from __future__ import annotations  # the fields' np.ndarray stays a name: NumPy loads on first use

from dataclasses import dataclass

from kspec.data.arguments import mark_of_value
from kspec.data.examples import Examples
from kspec.data.lazy_numpy import np
from kspec.data.normalization import Normalization
from kspec.errors import Problem, SpecError

PAIRED, UNPAIRED = "translation", "unpaired_translation"


@dataclass
class Domains:
    """Images of two domains as NHWC float32 arrays.

    Args:
        a, b: the images of domain A and of domain B.
        paired: train on pairs: `b[i]` is the translation of `a[i]` (pix2pix). False: the training images of
            the two domains are unrelated sets (CycleGAN).
        aligned: `b[i]` is the translation of `a[i]` (default: `paired`). Aligned data trained unpaired
            (`paired=False`) keeps its pairs in the validation split, where the translation error against the
            ground truth can then be measured, and trains on A and B images from disjoint halves of the
            training split, so that no training image of B is the translation of a training image of A.
        a_test, b_test: held-out images (the `testA/` and `testB/` folders); when given they are the
            validation split and `validation_split` is not used.
        test_aligned: whether `b_test[i]` is the translation of `a_test[i]` (default: `aligned`).
        value_range: `(low, high)` of the raw values of both domains, for `unit` and `symmetric` scaling.
        default_normalize: the `normalize` used when the spec does not say.

    Example:
    >>> import numpy as np
    >>> domains = Domains(np.zeros((6, 4, 4, 1), "float32"), np.ones((3, 4, 4, 3), "float32"), paired=False)
    >>> domains.task, len(domains)
    ('unpaired_translation', 6)
    """

    a: np.ndarray
    b: np.ndarray
    paired: bool
    aligned: bool | None = None
    a_test: np.ndarray | None = None
    b_test: np.ndarray | None = None
    test_aligned: bool | None = None
    value_range: tuple | None = (0.0, 255.0)
    default_normalize: str = "unit"

    def __post_init__(self):
        if self.aligned is None:
            self.aligned = self.paired
        if self.test_aligned is None:
            self.test_aligned = self.aligned
        if self.paired and not self.aligned:
            raise ValueError("paired training needs aligned domains (b[i] the translation of a[i])")
        for name in ("a", "b", "a_test", "b_test"):
            images = getattr(self, name)
            if images is not None and images.ndim != 4:
                raise ValueError(f"{name} must be NHWC images. Received shape {images.shape}")
        if self.aligned and len(self.a) != len(self.b):
            raise ValueError(f"aligned domains need as many images in A as in B: {len(self.a)} != {len(self.b)}")
        if (self.a_test is None) != (self.b_test is None):
            raise ValueError("give both a_test and b_test, or neither")

    @property
    def task(self):
        return PAIRED if self.paired else UNPAIRED

    def __len__(self):
        return max(len(self.a), len(self.b))


def split_domains(domains, data_config, method, seed):
    """Splits, normalizes and (unpaired) balances two-domain data into training and validation `Examples`.

    Args:
        domains: the source's `Domains`.
        data_config: the `DataConfig` (for `validation_split` and the position of errors).
        method: the normalization method (`unit`, `symmetric`, `standardize`, `none`), fitted per domain on
            its training images.
        seed: seeds the split, the halving of aligned unpaired data and the redrawing of the smaller domain.

    Returns:
        `(train, validation, normalization_a, normalization_b)`: `Examples` with inputs from A and targets from
        B (validation None when `validation_split` is 0 and there is no test set). The validation task is
        `translation` when its pairs correspond, else `unpaired_translation`.

    Example:
    >>> from kspec.data.config import parse_data_config
    >>> images = np.arange(10 * 4, dtype="float32").reshape(10, 2, 2, 1)
    >>> train, validation, norm_a, _ = split_domains(Domains(images, 255 - images, paired=True),
    ...                                              parse_data_config({"source": "digits"}), "unit", seed=0)
    >>> len(train), len(validation), validation.task
    (8, 2, 'translation')
    >>> bool(np.allclose(norm_a.invert(train.inputs) + norm_a.invert(train.targets), 255))
    True
    """
    rng = np.random.default_rng(seed)
    if domains.a_test is not None:
        train_a, train_b = domains.a, domains.b
        validation_a, validation_b, validation_aligned = domains.a_test, domains.b_test, domains.test_aligned
    else:
        split = data_config.validation_split
        if domains.aligned:
            train_index, validation_index = _split_indices(len(domains.a), split, rng, data_config)
            train_a, validation_a = domains.a[train_index], domains.a[validation_index]
            train_b, validation_b = domains.b[train_index], domains.b[validation_index]
        else:
            train_index, validation_index = _split_indices(len(domains.a), split, rng, data_config, "A")
            train_a, validation_a = domains.a[train_index], domains.a[validation_index]
            train_index, validation_index = _split_indices(len(domains.b), split, rng, data_config, "B")
            train_b, validation_b = domains.b[train_index], domains.b[validation_index]
        validation_aligned = domains.aligned
        if not split:
            validation_a = validation_b = None
    if domains.aligned and not domains.paired:
        # Trained unpaired: A and B from disjoint halves, so the training set holds no pair at all.
        order = rng.permutation(len(train_a))
        half = len(order) // 2
        train_a, train_b = train_a[np.sort(order[:half])], train_b[np.sort(order[half:])]
    norm_a = Normalization.fit(method, train_a, domains.value_range)
    norm_b = Normalization.fit(method, train_b, domains.value_range)

    def examples(a, b, aligned):
        if not aligned:
            a, b = _balanced(a, b, rng)
        return Examples(norm_a.apply(a), norm_b.apply(b), PAIRED if aligned else UNPAIRED,
                        value_range=domains.value_range, default_normalize=domains.default_normalize)

    train = examples(train_a, train_b, domains.paired)
    validation = None if validation_a is None else examples(validation_a, validation_b, validation_aligned)
    return train, validation, norm_a, norm_b


def _split_indices(count, split, rng, data_config, domain=None):
    validation = int(round(count * split))
    if (split > 0 and validation == 0) or validation >= count:
        images = f"{count} images of domain {domain}" if domain else f"{count} image pairs"
        raise SpecError(f"{images} cannot be split into training and validation parts with "
                        f"validation_split={split:g}", "data.validation_split",
                        mark_of_value(data_config.marks, "validation_split"))
    order = rng.permutation(count)
    return np.sort(order[validation:]), np.sort(order[:validation])


def _balanced(a, b, rng):
    """Both domains as long as the longer one: every image of the smaller one, then seeded redraws of it."""
    count = max(len(a), len(b))

    def stretched(images):
        extra = rng.choice(len(images), size=count - len(images), replace=count - len(images) > len(images))
        return np.concatenate([images, images[np.sort(extra)]]) if len(extra) else images

    return stretched(a), stretched(b)


# Which image each translation role takes or makes: (inputs or outputs, index, domain).
TRANSLATION_ROLES = {
    "cyclegan": {"generator_ab": [("input", 0, "A"), ("output", 0, "B")],
                 "generator_ba": [("input", 0, "B"), ("output", 0, "A")],
                 "discriminator_a": [("input", 0, "A")],
                 "discriminator_b": [("input", 0, "B")]},
    "pix2pix": {"generator": [("input", 0, "A"), ("output", 0, "B")],
                "discriminator": [("input", 0, "A"), ("input", 1, "B")]},
}


def translation_data_problems(info, trainer, models, graphs):
    """Pre-flight check of two-domain data against the translation models: one `Problem` per mismatch.

    Every model input and output that holds an image of domain A or B is compared with the data's images of
    that domain (`info.input_shape` for A, `info.target_shape` for B), before anything is trained or written.

    Args:
        info: the `DataInfo` of the loaded data.
        trainer: `cyclegan` or `pix2pix`.
        models: role -> built `keras.Model` (e.g. `{"generator_ab": ..., ...}`).
        graphs: role -> the spec's `ModelGraph` of that model, for the file position of the input or output.

    Returns:
        A list of `kspec.errors.Problem` (empty when everything fits), each at the model input or output node
        in the spec, saying what the data holds and what to change.

    Example:
    >>> from kspec.data.pipeline import DataInfo
    >>> from kspec.data.normalization import Normalization
    >>> info = DataInfo("digit_domains", "translation", (8, 8, 1), "float32", (8, 8, 1), "float32", None, 4, 0, 4,
    ...                 Normalization("none"))
    >>> translation_data_problems(info, "cyclegan", {}, {})
    []
    """
    if info.task not in (PAIRED, UNPAIRED):
        return [Problem(f"the `{trainer}` trainer translates images between two domains, but data source "
                        f"`{info.source}` gives {info.task} data; use a two-domain source (digit_domains, "
                        "image_directory with `layout: cyclegan` or `side_by_side`, npz with `task: translation`)",
                        "data.source")]
    shapes = {"A": tuple(info.input_shape), "B": tuple(info.target_shape)}
    problems = []
    for role, uses in TRANSLATION_ROLES.get(trainer, {}).items():
        if role not in models:
            continue
        model, graph = models[role], graphs[role]
        for kind, index, domain in uses:
            tensors = model.inputs if kind == "input" else model.outputs
            expected = tuple(tensors[index].shape[1:])
            actual = shapes[domain]
            if len(expected) == len(actual) and all(e is None or e == a for e, a in zip(expected, actual)):
                continue
            if kind == "input":
                spec_input = graph.inputs[index]
                path, mark = f"models.{graph.name}.inputs.{spec_input.name}", spec_input.mark
                what = f"input `{spec_input.name}` takes images of domain {domain}"
            else:
                node = graph.node(graph.outputs[index])
                path, mark = node.where(), node.mark
                what = f"output `{node.name}` makes images of domain {domain}"
            problems.append(Problem(f"{what} of shape {_shape(expected)}, but the data's domain {domain} images are "
                                    f"{_shape(actual)}; {_hint(kind, expected, actual)}", path, mark))
    return problems


def _shape(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _hint(kind, expected, actual):
    if len(expected) == 3 and len(actual) == 3 and expected[:2] == actual[:2]:
        if kind == "output":
            return f"give the last layer as many filters as the data has channels ({actual[2]})"
        return ("make the channels agree: `color_mode` of image_directory (grayscale 1, rgb 3), or this input's "
                "last size")
    return "make the sizes agree: the source's `size` argument, or the model's image size"
