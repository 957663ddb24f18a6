"""Reading the user's data files without trusting them: sizes are checked before memory is allocated, and every
failure is one line naming the file and what to do (never a NumPy, zlib or TensorFlow traceback).

Limits (environment variables raise them):
    KSPEC_MAX_ARRAY_BYTES: one array of an .npz file, 8 GiB by default (its header is read first).
    KSPEC_MAX_IMAGE_PIXELS: one image file, 64 million pixels by default (read from the file's header, before
        decoding: a 745 KB PNG of 16000x16000 zeros would decode into 256 MB, and more once converted to floats).

Functions take `fail`, a function from a message to the exception to raise (a `SpecError` located at the
argument or source that named the file).
"""

import contextlib
import os
import re
import zipfile
import zlib

from kspec.data.lazy_numpy import np

DEFAULT_MAX_ARRAY_BYTES = 8 * 2**30
DEFAULT_MAX_IMAGE_PIXELS = 64_000_000
# What reading a damaged archive or array raises (zipfile, zlib, NumPy); anything else is a kspec bug.
READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def _limit(variable, default):
    text = os.environ.get(variable, "")
    return int(text) if text.strip().isdigit() else default


def max_array_bytes():
    return _limit("KSPEC_MAX_ARRAY_BYTES", DEFAULT_MAX_ARRAY_BYTES)


def max_image_pixels():
    return _limit("KSPEC_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS)


def read_npz(path, keys, fail):
    """Reads arrays `keys` of an .npz file after checking each one's header: numbers only, size as stored.

    Args:
        path: the .npz file.
        keys: names of the arrays to read; those missing from the file are left out of the result.
        fail: message -> exception to raise.

    Returns:
        `(arrays, names)`: a dict of the arrays read, and the sorted names of all arrays in the file.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> np.savez(path, x=np.zeros((2, 3)))
    >>> arrays, names = read_npz(path, ["x", "y"], ValueError)
    >>> arrays["x"].shape, names
    ((2, 3), ['x'])
    """
    try:
        archive = zipfile.ZipFile(path)
    except READ_ERRORS as error:
        raise fail(f"{path} is not an .npz file (a zip archive written by numpy.savez): {_reason(error)}") from None
    with archive:
        members = {info.filename[: -len(".npy")]: info for info in archive.infolist() if info.filename.endswith(".npy")}
        arrays = {}
        for key in keys:
            if key in members:
                arrays[key] = _read_member(archive, members[key], key, path, fail)
    return arrays, sorted(members)


def _read_member(archive, info, key, path, fail):
    damaged = f"array {key!r} of {path} is damaged"
    try:
        with archive.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in readers:
                raise fail(f"array {key!r} of {path} uses .npy format {version[0]}.{version[1]}, which stores field "
                           "names kspec does not read; save plain numeric arrays with numpy.savez")
            shape, _, dtype = readers[version](stream)
            header_bytes = stream.tell()
    except READ_ERRORS as error:
        raise fail(f"{damaged} ({_reason(error)}); write it again with numpy.savez") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        kinds = {"U": "text", "S": "bytes", "M": "dates", "m": "time spans", "c": "complex numbers"}
        what = ("Python objects, which kspec never unpickles" if dtype.hasobject
                else f"{kinds.get(dtype.kind, 'records')} (dtype {dtype})")
        raise fail(f"array {key!r} of {path} holds {what}; expected numbers: save a numeric array (e.g. "
                   "x.astype('float32')) with numpy.savez")
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    stored = info.file_size - header_bytes
    if size > stored:
        raise fail(f"{damaged}: its header claims shape {tuple(shape)} of {dtype} ({_bytes(size)}) but the file "
                   f"holds {_bytes(stored)} of data; write it again with numpy.savez")
    if size > max_array_bytes():
        raise fail(f"array {key!r} of {path} is {_bytes(size)}, more than kspec's limit of "
                   f"{_bytes(max_array_bytes())} for one array; use fewer examples, or raise the limit with "
                   "KSPEC_MAX_ARRAY_BYTES if the machine has the memory")
    try:
        with archive.open(info) as stream:
            return np.lib.format.read_array(stream, allow_pickle=False)
    except READ_ERRORS as error:
        raise fail(f"{damaged} ({_reason(error)}); write it again with numpy.savez") from None


def check_image_files(paths, fail):
    """Opens each image's header (not its pixels): a file that is no image, or is larger than the pixel limit,
    is refused before anything decodes it.

    Args:
        paths: image files.
        fail: message -> exception to raise.
    """
    from PIL import Image

    limit = max_image_pixels()
    with _pillow_limit_off(Image):
        for path in paths:
            try:
                with Image.open(path) as image:
                    width, height = image.size
            except (OSError, SyntaxError, ValueError) as error:
                raise fail(f"{path} is not a readable image ({_reason(error)}); remove or replace it") from None
            if width * height > limit:
                raise fail(f"{path} is {width}x{height} pixels, more than kspec's limit of {limit:,} pixels per "
                           "image (decoding it would take "
                           f"{_bytes(width * height * 4)}); shrink it, or raise the limit with KSPEC_MAX_IMAGE_PIXELS")


def find_undecodable_image(paths):
    """The first of `paths` that TensorFlow's decoder (the one Keras uses) cannot decode, with the reason; or None.

    Called only after decoding a directory failed, to name the file TensorFlow's error does not name.
    """
    import tensorflow as tf

    for path in paths:
        try:
            tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.DataLossError, tf.errors.UnknownError) as error:
            return path, _reason(error)
    return None


@contextlib.contextmanager
def _pillow_limit_off(image_module):
    # Pillow refuses images above its own limit with an error naming no file; kspec applies its limit instead.
    saved = image_module.MAX_IMAGE_PIXELS
    image_module.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        image_module.MAX_IMAGE_PIXELS = saved


def _reason(error):
    """The first line of an error, without TensorFlow's `{{function_node ...}}` prefix and `[Op:...]` suffix."""
    text = getattr(error, "message", None) or str(error)
    text = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", text).split(" [Op:")[0]


def _bytes(count):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"
