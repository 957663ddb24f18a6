"""`digits`: scikit-learn's bundled 8x8 handwritten digits (1797 images), the offline default image data."""

from kspec.data.examples import Examples
from kspec.data.images import as_nhwc, resize_images
from kspec.data.lazy_numpy import np
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
        classes: keep only these digits, e.g. `[5, 6, 7, 8, 9]` (default: all ten); labels become their
            positions in the list (0..len - 1), so a model trained on some digits can transfer to others.
        limit: use only the first `limit` images (default: all 1797), after `classes`.

    Raw pixel values are 0..16; the default `normalize: unit` maps them to [0, 1].

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> examples = digits(SourceArguments({"size": 28, "limit": 5}, source="digits"))
    >>> examples.inputs.shape, examples.targets.tolist()
    ((5, 28, 28, 1), [0, 1, 2, 3, 4])
    >>> upper = digits(SourceArguments({"classes": [5, 6, 7, 8, 9], "limit": 5}, source="digits"))
    >>> upper.targets.tolist(), upper.num_classes, upper.class_names
    ([0, 1, 2, 3, 4], 5, ('5', '6', '7', '8', '9'))
    """
    size = args.size("size", default=None)
    target = args.choice("target", TARGETS, default="labels")
    classes = args.integers("classes", default=None, minimum=0, maximum=9)
    limit = args.integer("limit", default=None, minimum=1)
    args.finish()
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, labels = bunch.images, bunch.target
    kept = classes or tuple(range(10))
    if classes is not None:
        keep = [index for index, label in enumerate(labels) if label in classes]
        positions = {digit: position for position, digit in enumerate(classes)}
        images, labels = images[keep], np.array([positions[label] for label in labels[keep]])
    images = as_nhwc(images[:limit].astype("float32"))
    labels = labels[:limit].astype("int32")
    images = resize_images(images, size)
    task = _TASKS[target]
    return Examples(
        inputs=images,
        targets={"labels": labels, "images": images, "none": None}[target],
        task=task,
        num_classes=len(kept) if task == "classification" else None,
        value_range=(0.0, 16.0),
        default_normalize="unit",
        class_names=tuple(str(d) for d in kept) if task == "classification" else None,
    )
