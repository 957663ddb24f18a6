"""`image_directory`: the user's image files, read with `keras.utils.image_dataset_from_directory`.

Images are decoded and resized by Keras, then held in memory as NumPy arrays, so that splitting and
normalization work the same way as for every other source.
"""

import os

from kspec.data.lazy_numpy import np

from kspec.data.examples import Examples
from kspec.data.files import check_image_files, find_undecodable_image
from kspec.data.image_domains import LAYOUTS, read_domain_layout
from kspec.registry import DATA_SOURCES

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what image_dataset_from_directory reads
TARGETS = ("labels", "images", "none")
_TASKS = {"labels": "classification", "images": "reconstruction", "none": "generation"}


@DATA_SOURCES.register("image_directory")
def image_directory(args):
    """Images from a directory: one subdirectory per class, or a flat folder plus a parallel mask folder.

    Args (under `data.args`):
        path: the image directory. For `target: labels` it holds one subdirectory per class (sorted names
            give class ids 0, 1, ...); otherwise images anywhere below it.
        masks: a directory of segmentation masks with the same relative file names as the images; each mask
            pixel's gray value is its class id (0 = background). Makes the task `segmentation`.
        size: size images (and masks) are resized to, an integer or `[height, width]` (default 256, as Keras).
        color_mode: `grayscale`, `rgb` or `rgba` (default `rgb`): 1, 3 or 4 channels.
        target: without masks, `labels` (classification), `images` (reconstruction) or `none` (generation).
            Default `labels`.
        num_classes: classes of the masks (default: largest mask value + 1).
        layout: `classes` (default: the layouts above), `cyclegan` or `side_by_side` for image-to-image
            translation (two domains, A and B):
            - `cyclegan`: unpaired images of A in `path/trainA/` and of B in `path/trainB/`; `path/testA/`
              and `path/testB/`, when present, are the validation split.
            - `side_by_side`: pix2pix's paired layout, each file in `path/train/` holding A on the left and B
              on the right half (`halves: ba` for the other way round); `path/val/` or `path/test/`, when
              present, is the validation split. `size` is the size of one half.
            `masks`, `target` and `num_classes` do not apply to these layouts.

    Raw values are 0..255; the default `normalize: unit` maps them to [0, 1].

    Example:
    >>> import os, tempfile, numpy as np
    >>> from PIL import Image
    >>> from kspec.data.arguments import SourceArguments
    >>> root = tempfile.mkdtemp()
    >>> for name in ("cat", "dog"):
    ...     os.makedirs(os.path.join(root, name))
    ...     Image.fromarray(np.zeros((4, 4), "uint8")).save(os.path.join(root, name, "a.png"))
    >>> examples = image_directory(SourceArguments({"path": root, "size": 4}, source="image_directory"))
    >>> examples.inputs.shape, examples.targets.tolist(), examples.class_names
    ((2, 4, 4, 3), [0, 1], ('cat', 'dog'))
    """
    path = args.existing_directory("path", what="a directory of images")
    layout = args.choice("layout", LAYOUTS, default="classes")
    if layout != "classes":
        return read_domain_layout(args, layout, path)
    masks = args.existing_directory("masks", default=None, what="a directory of masks")
    size = args.size("size", default=256)
    color_mode = args.choice("color_mode", ("grayscale", "rgb", "rgba"), default="rgb")
    target = args.choice("target", TARGETS, default="labels")
    num_classes = args.integer("num_classes", default=None, minimum=1)
    args.finish()

    names = _image_files(path)
    if not names:
        raise args.error("path", f"expected image files ({', '.join(IMAGE_EXTENSIONS)}) in {path}. "
                                 "Received: a directory without any")
    check_image_files([os.path.join(path, name) for name in names], lambda message: args.error("path", message))
    if masks is not None:
        _check_same_files(args, names, _image_files(masks), path, masks)
        check_image_files([os.path.join(masks, name) for name in names], lambda message: args.error("masks", message))
        images, _, _ = _read(path, labels=None, color_mode=color_mode, size=size, interpolation="bilinear",
                             args=args, argument="path")
        # Nearest neighbour keeps mask values class ids instead of blending neighbouring classes.
        mask_images, _, _ = _read(masks, labels=None, color_mode="grayscale", size=size, interpolation="nearest",
                                  args=args, argument="masks")
        mask_ids = np.rint(mask_images[..., 0]).astype("int32")
        return Examples(images, mask_ids, "segmentation", num_classes or int(mask_ids.max()) + 1, (0.0, 255.0),
                        default_normalize="unit")
    if target == "labels":
        if not any(os.path.dirname(name) for name in names):
            raise args.error("path", f"expected one subdirectory per class in {path}, holding that class's "
                                     "images. Received: images directly in it; set `target: none` for "
                                     "unlabelled images")
        images, labels, class_names = _read(path, labels="inferred", color_mode=color_mode, size=size,
                                            interpolation="bilinear", args=args, argument="path")
        return Examples(images, labels, "classification", len(class_names), (0.0, 255.0),
                        default_normalize="unit", class_names=class_names)
    images, _, _ = _read(path, labels=None, color_mode=color_mode, size=size, interpolation="bilinear", args=args,
                         argument="path")
    return Examples(images, images if target == "images" else None, _TASKS[target], None, (0.0, 255.0),
                    default_normalize="unit")


def _image_files(directory):
    """Relative paths of the image files below `directory`, sorted."""
    found = []
    for root, _, files in os.walk(directory):
        for name in files:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.relpath(os.path.join(root, name), directory))
    return sorted(found)


def _check_same_files(args, image_names, mask_names, path, masks):
    missing = sorted(set(image_names) - set(mask_names))
    extra = sorted(set(mask_names) - set(image_names))
    if missing:
        raise args.error("masks", f"expected a mask for every image, with the same file name. Received: no "
                                  f"{os.path.join(masks, missing[0])} for {os.path.join(path, missing[0])}"
                                  + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if extra:
        raise args.error("masks", f"expected a mask only for images that exist. Received: "
                                  f"{os.path.join(masks, extra[0])} without {os.path.join(path, extra[0])}"
                                  + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""))


def _read(directory, *, labels, color_mode, size, interpolation, args, argument):
    """All images below `directory` as float32 NHWC (0..255), int32 labels or None, and the class names."""
    import keras
    import tensorflow as tf

    dataset = keras.utils.image_dataset_from_directory(
        directory, labels=labels, label_mode="int" if labels else None, color_mode=color_mode, batch_size=256,
        image_size=size, shuffle=False, interpolation=interpolation, verbose=False)
    class_names = tuple(dataset.class_names) if labels else None
    images, label_batches = [], []
    try:
        for batch in dataset.as_numpy_iterator():
            if labels:
                batch, batch_labels = batch
                label_batches.append(batch_labels)
            images.append(batch)
    except (tf.errors.InvalidArgumentError, tf.errors.DataLossError, tf.errors.UnknownError) as error:
        # TensorFlow's decoding error names no file: find it.
        found = find_undecodable_image([os.path.join(directory, n) for n in _image_files(directory)])
        problem = f"{found[0]} cannot be decoded ({found[1]})" if found else f"an image cannot be decoded ({error})"
        raise args.error(argument, f"{problem}; remove or replace it") from None
    images = np.concatenate(images).astype("float32")
    return images, (np.concatenate(label_batches).astype("int32") if labels else None), class_names
