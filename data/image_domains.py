"""Two image domains from directories: the CycleGAN layout (trainA/ trainB/ testA/ testB/) and pix2pix's
side-by-side layout (each file holds A and B next to each other). `image_directory` reads them with `layout:`."""

import os

from kspec.data.domains import Domains
from kspec.data.files import check_image_files

LAYOUTS = ("classes", "cyclegan", "side_by_side")


def read_domain_layout(args, layout, path):
    """The `image_directory` source for `layout: cyclegan` or `layout: side_by_side` (see its docstring)."""
    from kspec.data.image_directory import _image_files, _read

    size = args.size("size", default=256)
    color_mode = args.choice("color_mode", ("grayscale", "rgb", "rgba"), default="rgb")
    halves = args.choice("halves", ("ab", "ba"), default="ab") if layout == "side_by_side" else None
    args.finish()

    def folder(name, required=True):
        directory = os.path.join(path, name)
        if os.path.isdir(directory) and _image_files(directory):
            return directory
        if required:
            problem = "has no image files" if os.path.isdir(directory) else "does not exist"
            raise args.error("path", f"expected the {layout} layout, with images in {directory}, which {problem}"
                                     f"{_layout_hint(layout)}")
        return None

    def read(directory, read_size):
        check_image_files([os.path.join(directory, name) for name in _image_files(directory)],
                          lambda message: args.error("path", message))
        return _read(directory, labels=None, color_mode=color_mode, size=read_size, interpolation="bilinear",
                     args=args, argument="path")[0]

    if layout == "cyclegan":
        train_a, train_b = read(folder("trainA"), size), read(folder("trainB"), size)
        test_a, test_b = folder("testA", required=False), folder("testB", required=False)
        if (test_a is None) != (test_b is None):
            raise args.error("path", f"expected both testA/ and testB/ in {path}, or neither. Received: only "
                                     f"{'testA' if test_a else 'testB'}/")
        tests = (read(test_a, size), read(test_b, size)) if test_a else (None, None)
        return Domains(train_a, train_b, paired=False, a_test=tests[0], b_test=tests[1])

    # Side by side: read at twice the width, then cut each image into its left and right halves.
    height, width = size
    train = read(folder("train"), (height, 2 * width))
    held_out = next((d for d in (folder(n, required=False) for n in ("val", "test")) if d is not None), None)
    test = read(held_out, (height, 2 * width)) if held_out else None

    def split(images):
        left, right = images[:, :, :width], images[:, :, width:]
        return (left, right) if halves == "ab" else (right, left)

    a, b = split(train)
    a_test, b_test = split(test) if test is not None else (None, None)
    return Domains(a, b, paired=True, a_test=a_test, b_test=b_test)


def _layout_hint(layout):
    if layout == "cyclegan":
        return "; put domain A's training images in trainA/ and domain B's in trainB/ (testA/ and testB/ optional)"
    return "; put the training images, each A and B side by side, in train/ (val/ or test/ optional)"
