"""`digits`: scikit-learn's bundled 8x8 handwritten digits (1797 images), the offline default image data."""

from kspec.data.examples import Examples
from kspec.data.images import as_nhwc, resize_images
from kspec.registry import DATA_SOURCES

TARGETS = ("labels", "images", "none")
_TASKS = {"labels": "classification", "images": "reconstruction", "none": "generation"}


@DATA_SOURCES.register("digits")
def digits(args):
    """The UCI optical digits that ship inside scikit-learn's wheel (no download), as NHWC images.

    Args (under `data.args`):
        size: output size, an integer or `[height, width]` (default 8: no resize); bilinear, e.g. 28 for
            models made for MNIST.
        target: `labels` (classification, integer labels 0-9), `images` (reconstruction: targets are the
            inputs) or `none` (generation: elements are images alone). Default `labels`.
        limit: use only the first `limit` images (default: all 1797).

    Raw pixel values are 0..16; the default `normalize: unit` maps them to [0, 1].

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> examples = digits(SourceArguments({"size": 28, "limit": 5}, source="digits"))
    >>> examples.inputs.shape, examples.targets.tolist()
    ((5, 28, 28, 1), [0, 1, 2, 3, 4])
    """
    size = args.size("size", default=None)
    target = args.choice("target", TARGETS, default="labels")
    limit = args.integer("limit", default=None, minimum=1)
    args.finish()
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = as_nhwc(bunch.images[:limit].astype("float32"))
    labels = bunch.target[:limit].astype("int32")
    images = resize_images(images, size)
    task = _TASKS[target]
    return Examples(
        inputs=images,
        targets={"labels": labels, "images": images, "none": None}[target],
        task=task,
        num_classes=10 if task == "classification" else None,
        value_range=(0.0, 16.0),
        default_normalize="unit",
        class_names=tuple(str(d) for d in range(10)) if task == "classification" else None,
    )
