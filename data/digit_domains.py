"""`digit_domains`: a translation task with a known answer, made from scikit-learn's bundled digits."""

from kspec.data.digits import digits as digit_examples
from kspec.data.domains import Domains
from kspec.data.lazy_numpy import np
from kspec.registry import DATA_SOURCES

TRANSFORMS = ("edges", "thicken", "invert")


def transform_digits(images, transform):
    """The ground-truth translation A -> B of `digit_domains`: a fixed pixel operation on images in [0, 255].

    Args:
        images: NHWC float array of digits in [0, 255].
        transform: `edges` (the morphological gradient: a 3x3 maximum minus a 3x3 minimum, outlines of the
            strokes), `thicken` (a 3x3 maximum, grey dilation) or `invert` (255 - x).

    Returns:
        float32 array of the same shape, in [0, 255].

    Example:
    >>> dot = np.zeros((1, 5, 5, 1), "float32"); dot[0, 2, 2, 0] = 255.0
    >>> transform_digits(dot, "thicken")[0, 1:4, 1:4, 0].tolist()
    [[255.0, 255.0, 255.0], [255.0, 255.0, 255.0], [255.0, 255.0, 255.0]]
    >>> bool(transform_digits(dot, "edges")[0, :, :, 0].sum() == 9 * 255.0)
    True
    """
    from scipy import ndimage

    images = np.asarray(images, "float32")
    if transform == "invert":
        return 255.0 - images
    window = (1, 3, 3, 1)  # 3x3 in height and width, never across images or channels
    dilated = ndimage.grey_dilation(images, size=window, mode="nearest")
    if transform == "thicken":
        return dilated
    if transform == "edges":
        return dilated - ndimage.grey_erosion(images, size=window, mode="nearest")
    raise ValueError(f"Invalid value for argument `transform`: expected one of {TRANSFORMS}. Received: {transform!r}")


@DATA_SOURCES.register("digit_domains")
def digit_domains(args):
    """Two domains from the 1797 digits that ship with scikit-learn: A the digits, B a fixed transform of them.

    Because B is computed from A, the ground truth of every translation is known and the error of a trained
    translator can be measured without downloading anything: pix2pix trains on the pairs; CycleGAN (with
    `paired: false`) trains on A and B images of different digits and is measured on the held-out pairs.

    Args (under `data.args`):
        size: image size, an integer or `[height, width]` (default 32); the 8x8 digits are resized bilinearly
            before the transform.
        transform: `edges` (outlines of the strokes, default), `thicken` (strokes one pixel wider on each side)
            or `invert`; see `transform_digits`.
        paired: `true` (default) trains on pairs `(digit, transformed digit)`; `false` trains on A and B
            images of disjoint halves of the training digits. The validation split keeps its pairs either way.
        limit: use only the first `limit` digits (default: all 1797).

    Raw values are 0..255 like image files; the default `normalize: unit` maps them to [0, 1].

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> arguments = SourceArguments({"size": 16, "limit": 4, "transform": "invert"}, source="digit_domains")
    >>> domains = digit_domains(arguments)
    >>> domains.a.shape, domains.task, float((domains.a + domains.b).min()), float((domains.a + domains.b).max())
    ((4, 16, 16, 1), 'translation', 255.0, 255.0)
    """
    size = args.size("size", default=32)
    transform = args.choice("transform", TRANSFORMS, default="edges")
    paired = args.boolean("paired", default=True)
    limit = args.integer("limit", default=None, minimum=2)
    args.finish()
    from kspec.data.arguments import SourceArguments

    raw = digit_examples(SourceArguments({"size": list(size), "limit": limit, "target": "none"}, source="digits"))
    low, high = raw.value_range
    images = np.clip((raw.inputs - low) * (255.0 / (high - low)), 0.0, 255.0).astype("float32")
    return Domains(images, transform_digits(images, transform), paired=paired, aligned=True,
                   value_range=(0.0, 255.0), default_normalize="unit")
