"""Bad data files: every source refuses them in one line naming the file, before allocating or decoding."""

import io
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from kspec.data import load_arrays
from kspec.errors import SpecError


def refusal(config):
    with pytest.raises(SpecError) as caught:
        load_arrays(config)
    return str(caught.value)


def npz_config(path):
    return {"source": "npz", "args": {"path": str(path), "y_key": None}}


def write_npy_member(path, header, data):
    """An .npz whose `x.npy` has the given header dict and raw data bytes (no check that they agree)."""
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", member.getvalue() + data)


def damaged_npz(path):
    np.savez_compressed(path, x=np.random.default_rng(0).uniform(size=(100, 10)))
    data = bytearray(path.read_bytes())
    data[200:260] = b"\xff" * 60  # inside the deflated data of x.npy
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("make, message", [
    (lambda path: np.savez(path, x=np.array([{"a": 1}, None], dtype=object)),
     "array 'x' of {path} holds Python objects, which kspec never unpickles; expected numbers: save a numeric "
     "array (e.g. x.astype('float32')) with numpy.savez"),
    (lambda path: np.savez(path, x=np.array([["a", "b"]])),
     "array 'x' of {path} holds text (dtype <U1); expected numbers: save a numeric array (e.g. x.astype('float32')) "
     "with numpy.savez"),
    (lambda path: path.write_bytes(b"PK\x03\x04" + bytes(100)),
     "{path} is not an .npz file (a zip archive written by numpy.savez): File is not a zip file"),
    (lambda path: write_npy_member(path, {"descr": "<f4", "fortran_order": False, "shape": (11 * 2**28, 1, 1, 1)},
                                   bytes(64)),
     "array 'x' of {path} is damaged: its header claims shape (2952790016, 1, 1, 1) of float32 (11.0 GiB) but the "
     "file holds 64 bytes of data; write it again with numpy.savez"),
    (damaged_npz,
     "array 'x' of {path} is damaged (Error -3 while decompressing data: invalid distance too far back); write it "
     "again with numpy.savez"),
], ids=["object-array", "string-array", "corrupt-zip", "header-claims-11-GiB", "damaged-deflate"])
def test_bad_npz_is_refused_naming_the_file(tmp_path, make, message):
    path = tmp_path / "data.npz"
    make(path)
    assert refusal(npz_config(path)) == "data.args.path: " + message.format(path=path)


def test_npz_array_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.zeros((64, 64), "float32"))
    monkeypatch.setenv("KSPEC_MAX_ARRAY_BYTES", "1000")
    assert refusal(npz_config(path)) == (
        f"data.args.path: array 'x' of {path} is 16.0 KiB, more than kspec's limit of 1000 bytes for one array; use "
        "fewer examples, or raise the limit with KSPEC_MAX_ARRAY_BYTES if the machine has the memory")


@pytest.mark.parametrize("content, message", [
    (b"a,b\n1,2\n3,\xff\n", "expected UTF-8 text. Received: byte 0xff on line 3 of {path}; save the file as UTF-8"),
    (b"a,b\n1,2\n3," + b"9" * 200_000 + b"\n",
     "line 3 of {path} is not a CSV row (field larger than field limit (131072)); check the delimiter "
     "(delimiter=',') and for a quote that is never closed"),
], ids=["non-utf8-byte", "200k-character-field"])
def test_bad_csv_is_refused_naming_the_line(tmp_path, content, message):
    path = tmp_path / "series.csv"
    path.write_bytes(content)
    config = {"source": "csv", "args": {"path": str(path), "window": 1, "horizon": 1}}
    assert refusal(config) == "data.args.path: " + message.format(path=path)


def test_csv_with_a_byte_order_mark_reads_its_header(tmp_path):
    path = tmp_path / "series.csv"
    path.write_bytes(b"\xef\xbb\xbfload\n1\n2\n3\n4\n5\n")
    arrays = load_arrays({"source": "csv", "args": {"path": str(path), "columns": "load", "window": 1, "horizon": 1},
                          "validation_split": 0})
    assert len(arrays.train) == 4


def image_folder(tmp_path):
    for label in ("a", "b"):
        os.makedirs(tmp_path / "images" / label)
        for index in range(2):
            Image.fromarray(np.full((8, 8, 3), 60 * index, "uint8")).save(tmp_path / "images" / label / f"{index}.png")
    return tmp_path / "images"


def image_config(folder):
    return {"source": "image_directory", "args": {"path": str(folder), "size": 8}}


def _bits(fields):
    """Packs deflate fields `(value, width, is_huffman_code)`: least significant bit first, codes reversed."""
    accumulator, count, out = 0, 0, bytearray()
    for value, width, huffman in fields:
        accumulator |= (int(f"{value:0{width}b}"[::-1], 2) if huffman else value) << count
        count += width
        while count >= 8:
            out.append(accumulator & 0xFF)
            accumulator >>= 8
            count -= 8
    return bytes(out + (bytearray([accumulator]) if count else bytearray()))


def zero_png(side):
    """A valid PNG of side x side black pixels (side >= 16) in about side**2 / 160 bytes.

    Its deflate stream is written by hand: one zero byte, then copies of the previous 258 bytes (13 bits each
    in deflate's fixed code; 8 of them are 13 whole bytes, repeated). zlib would take seconds to compress the
    256 MB of a 16000x16000 image; this takes milliseconds.
    """
    zero, copy_258, distance_1, end = (0x30, 8, True), (0b11000101, 8, True), (0, 5, True), (0, 7, True)
    total = side * (side + 1)  # every row is a filter byte 0 and `side` pixels
    prefix = _bits([(1, 1, False), (1, 2, False), zero, copy_258, distance_1])  # final fixed-code block; 24 bits
    copies, literals = divmod(total - 259, 258)
    body = _bits([copy_258, distance_1] * 8) * (copies // 8)
    tail = _bits([copy_258, distance_1] * (copies % 8) + [zero] * literals + [end])
    adler = ((total % 65521) << 16) | 1  # Adler-32 of zeros: a stays 1, b counts the bytes
    stream = b"\x78\x01" + prefix + body + tail + struct.pack(">I", adler)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


def test_the_hand_made_zero_png_is_a_valid_image():
    image = Image.open(io.BytesIO(zero_png(333)))
    assert image.size == (333, 333) and not np.asarray(image).any()


def test_png_bomb_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    import keras

    folder = image_folder(tmp_path)
    bomb = folder / "b" / "bomb.png"
    bomb.write_bytes(zero_png(16000))
    assert os.path.getsize(bomb) < 2 * 2**20  # 256 million pixels in under 2 MB

    def never(*args, **kwargs):
        raise AssertionError("images were decoded before the pixel limit was checked")

    monkeypatch.setattr(keras.utils, "image_dataset_from_directory", never)
    assert refusal(image_config(folder)) == (
        f"data.args.path: {bomb} is 16000x16000 pixels, more than kspec's limit of 64,000,000 pixels per image "
        "(decoding it would take 976.6 MiB); shrink it, or raise the limit with KSPEC_MAX_IMAGE_PIXELS")


def test_pixel_limit_can_be_raised(tmp_path, monkeypatch):
    folder = image_folder(tmp_path)
    monkeypatch.setenv("KSPEC_MAX_IMAGE_PIXELS", "63")
    assert refusal(image_config(folder)).endswith("is 8x8 pixels, more than kspec's limit of 63 pixels per image "
                                                  "(decoding it would take 256 bytes); shrink it, or raise the limit "
                                                  "with KSPEC_MAX_IMAGE_PIXELS")
    monkeypatch.setenv("KSPEC_MAX_IMAGE_PIXELS", "64")
    assert load_arrays(image_config(folder)).train.inputs.shape[1:] == (8, 8, 3)


def test_corrupt_png_data_is_named_with_the_decoders_reason(tmp_path):
    folder = image_folder(tmp_path)
    broken = folder / "a" / "1.png"
    data = bytearray(broken.read_bytes())
    data[60:70] = bytes(10)  # inside the IDAT chunk: the header still reads, the pixels do not
    broken.write_bytes(bytes(data))
    assert refusal(image_config(folder)) == (f"data.args.path: {broken} cannot be decoded (Invalid PNG data, size "
                                             f"{len(data)}); remove or replace it")


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff\xe0garbage"], ids=["empty", "truncated-jpeg-header"])
def test_file_that_is_no_image_is_named(tmp_path, content):
    folder = image_folder(tmp_path)
    broken = folder / "a" / "x.jpg"
    broken.write_bytes(content)
    message = refusal(image_config(folder))
    assert message.startswith(f"data.args.path: {broken} is not a readable image (")
    assert message.endswith("); remove or replace it")


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    os.makedirs(tmp_path / "datasets")
    return tmp_path / "datasets"


def test_damaged_cached_mnist_says_to_copy_it_again(keras_home):
    (keras_home / "mnist.npz").write_bytes(b"PK\x03\x04 truncated download")
    path = keras_home / "mnist.npz"
    assert refusal({"source": "mnist"}) == (
        f"data.source: cannot read Keras dataset `mnist`: {path} is not an .npz file (a zip archive written by "
        f"numpy.savez): File is not a zip file. The cached file {path} is damaged: delete it and copy it again from "
        "a machine where `keras.datasets.mnist.load_data()` has run")


def test_damaged_cached_fashion_mnist_names_the_file(keras_home):
    folder = keras_home / "fashion-mnist"
    os.makedirs(folder)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(b"\x1f\x8b not really gzip")
    message = refusal({"source": "fashion_mnist"})
    assert message.startswith("data.source: cannot read Keras dataset `fashion_mnist`: "
                              f"{folder / 'train-images-idx3-ubyte.gz'} is not a gzipped IDX file (")
