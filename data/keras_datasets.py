"""`mnist`, `fashion_mnist`, `cifar10`: Keras' datasets, read only from files already in the Keras cache.

kspec never downloads. `keras.datasets.X.load_data()` would fetch a missing (or differently hashed) file, so
these sources read the cached files themselves, in the layout Keras leaves them in, and otherwise raise a
`SpecError` naming the file that is missing and where to put it.
"""

import gzip
import os
import pickle

from kspec.data.lazy_numpy import np

from kspec.data.examples import Examples
from kspec.data.files import READ_ERRORS, read_npz
from kspec.data.images import as_nhwc, resize_images
from kspec.errors import SpecError
from kspec.registry import DATA_SOURCES

TARGETS = ("labels", "images", "none")
SUBSETS = ("train", "test", "all")
_TASKS = {"labels": "classification", "images": "reconstruction", "none": "generation"}
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def keras_datasets_dir():
    """Where Keras caches datasets: `$KERAS_HOME/datasets`, else `~/.keras/datasets` (`/tmp/.keras` when the
    home directory is not writable, as Keras does)."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return os.path.join(home, "datasets")


def missing_file_error(name, expected_path):
    """The `SpecError` for a dataset file that is not in the cache."""
    relative = os.path.relpath(expected_path, os.path.dirname(keras_datasets_dir()))
    return SpecError(
        f"Keras dataset `{name}` is not in the Keras cache and kspec never downloads: expected the file "
        f"{expected_path}. Copy it there from a machine where `keras.datasets.{name}.load_data()` has run "
        f"(it leaves it in ~/.keras/{relative}), or set KERAS_HOME to the folder that holds {relative}",
        "data.source")


@DATA_SOURCES.register("mnist")
def mnist(args):
    """MNIST handwritten digits (28x28x1, 60000 train / 10000 test) from `<keras cache>/datasets/mnist.npz`.

    Args (under `data.args`): see `docs/data.md`, shared by the three Keras datasets:
        subset: `train`, `test` or `all` (default `train`); `validation_split` then splits it.
        size: resize to an integer or `[height, width]` (default: keep the size).
        target: `labels`, `images` or `none` (default `labels`).
        limit: use only the first `limit` images.

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> mnist(SourceArguments({}, source="mnist")).inputs.shape  # doctest: +SKIP
    (60000, 28, 28, 1)
    """
    options = _options(args)
    path = os.path.join(keras_datasets_dir(), "mnist.npz")
    if not os.path.isfile(path):
        raise missing_file_error("mnist", path)
    keys = [f"{part}_{subset}" for subset in ("train", "test") for part in ("x", "y")]
    arrays, _ = read_npz(path, keys, lambda message: damaged_file_error("mnist", path, message))
    if len(arrays) != len(keys):
        missing = ", ".join(k for k in keys if k not in arrays)
        raise damaged_file_error("mnist", path, f"{path} has no array {missing}")
    parts = {subset: (arrays[f"x_{subset}"], arrays[f"y_{subset}"]) for subset in ("train", "test")}
    return _examples(parts, options, tuple(str(d) for d in range(10)))


@DATA_SOURCES.register("fashion_mnist")
def fashion_mnist(args):
    """Fashion-MNIST (28x28x1, 10 clothing classes) from `<keras cache>/datasets/fashion-mnist/*.gz`.

    Args (under `data.args`): `subset`, `size`, `target`, `limit`, as for `mnist`.

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> fashion_mnist(SourceArguments({}, source="fashion_mnist")).num_classes  # doctest: +SKIP
    10
    """
    options = _options(args)
    folder = os.path.join(keras_datasets_dir(), "fashion-mnist")
    parts = {}
    for subset, (images_file, labels_file) in _FASHION_FILES.items():
        for name in (images_file, labels_file):
            if not os.path.isfile(os.path.join(folder, name)):
                raise missing_file_error("fashion_mnist", os.path.join(folder, name))
        # IDX files: a 16-byte header before the images, 8 bytes before the labels.
        images = _read_idx(os.path.join(folder, images_file), 16, (-1, 28, 28))
        labels = _read_idx(os.path.join(folder, labels_file), 8, (-1,))
        if len(images) != len(labels):
            raise damaged_file_error("fashion_mnist", os.path.join(folder, labels_file),
                                     f"{len(images)} images but {len(labels)} labels")
        parts[subset] = (images, labels)
    return _examples(parts, options, FASHION_CLASSES)


@DATA_SOURCES.register("cifar10")
def cifar10(args):
    """CIFAR-10 (32x32x3, 10 classes) from the extracted `cifar-10-batches-py` folder in the Keras cache.

    Keras 3 extracts it to `datasets/cifar-10-batches-py-target/cifar-10-batches-py/`, older versions to
    `datasets/cifar-10-batches-py/`; either is found.

    Args (under `data.args`): `subset`, `size`, `target`, `limit`, as for `mnist`.

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> cifar10(SourceArguments({}, source="cifar10")).inputs.shape  # doctest: +SKIP
    (50000, 32, 32, 3)
    """
    options = _options(args)
    root = keras_datasets_dir()
    candidates = [os.path.join(root, "cifar-10-batches-py-target", "cifar-10-batches-py"),
                  os.path.join(root, "cifar-10-batches-py")]
    folder = next((c for c in candidates if os.path.isdir(c)), candidates[0])
    files = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    parts = {}
    for subset, names in files.items():
        batches = []
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                raise missing_file_error("cifar10", path)
            batches.append(_read_cifar_batch(path))
        images = np.concatenate([b[0] for b in batches])
        parts[subset] = (images, np.concatenate([b[1] for b in batches]))
    return _examples(parts, options, CIFAR10_CLASSES)


def damaged_file_error(name, path, problem):
    """The `SpecError` for a cached dataset file that cannot be read."""
    return SpecError(f"cannot read Keras dataset `{name}`: {problem}. The cached file {path} is damaged: delete it "
                     f"and copy it again from a machine where `keras.datasets.{name}.load_data()` has run",
                     "data.source")


def _read_idx(path, header_bytes, shape):
    """The uint8 values of a gzipped IDX file (Fashion-MNIST) after its header, in `shape`."""
    try:
        with gzip.open(path, "rb") as handle:
            return np.frombuffer(handle.read(), np.uint8, offset=header_bytes).reshape(shape)
    except READ_ERRORS as error:
        raise damaged_file_error("fashion_mnist", path, f"{path} is not a gzipped IDX file ({error})") from None


def _options(args):
    options = {
        "subset": args.choice("subset", SUBSETS, default="train"),
        "size": args.size("size", default=None),
        "target": args.choice("target", TARGETS, default="labels"),
        "limit": args.integer("limit", default=None, minimum=1),
    }
    args.finish()
    return options


def _examples(parts, options, class_names):
    subsets = ("train", "test") if options["subset"] == "all" else (options["subset"],)
    images = np.concatenate([parts[s][0] for s in subsets])[: options["limit"]]
    labels = np.concatenate([parts[s][1] for s in subsets]).reshape(-1)[: options["limit"]].astype("int32")
    images = resize_images(as_nhwc(images), options["size"])
    task = _TASKS[options["target"]]
    classification = task == "classification"
    return Examples(images, {"labels": labels, "images": images, "none": None}[options["target"]], task,
                    10 if classification else None, (0.0, 255.0), default_normalize="unit",
                    class_names=class_names if classification else None)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only NumPy arrays and plain containers: a cached file must not be able to run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch file")
        return super().find_class(module, name)


def _read_cifar_batch(path):
    """`(images NHWC uint8, labels)` of one CIFAR-10 python batch file (a pickled dict with bytes keys)."""
    try:
        with open(path, "rb") as handle:
            batch = _ArrayUnpickler(handle, encoding="bytes").load()
        batch = {(k.decode() if isinstance(k, bytes) else k): v for k, v in batch.items()}
        images = np.asarray(batch["data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, np.asarray(batch["labels"])
    except (pickle.UnpicklingError, AttributeError, KeyError, TypeError, *READ_ERRORS) as error:
        raise damaged_file_error("cifar10", path, f"{path} is not a CIFAR-10 batch ({error})") from None
