"""The files the inspection commands write (npz arrays, Matplotlib figures), written atomically.

Each goes through a temporary file beside the target and one rename (`kspec.atomic.publish`), so an
interrupted command never leaves half a file where an earlier result was.
"""

import os
import tempfile

import numpy as np

from kspec.atomic import publish


def write_with(path, write, suffix=""):
    """Creates the parent directory, calls `write(binary stream)` on a temporary file, then renames it to `path`.

    Example:
    >>> path = os.path.join(tempfile.mkdtemp(), "out", "a.bin")
    >>> write_with(path, lambda stream: stream.write(b"ok")) == path, open(path, "rb").read()
    (True, b'ok')
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        publish(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def write_npz(path, arrays):
    """Writes `{name: array}` as an uncompressed .npz file (string arrays as Unicode, never pickled)."""
    return write_with(path, lambda stream: np.savez(stream, **arrays), suffix=".npz")


def write_figure(figure, path, dpi=100):
    """Writes a Matplotlib figure as a PNG."""
    return write_with(path, lambda stream: figure.savefig(stream, format="png", dpi=dpi), suffix=".png")
