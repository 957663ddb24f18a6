"""Networks that turn images into the features (FID, KID) and class probabilities (IS) the metrics score.

Keras is imported inside the extractors only, so `kspec.metrics` stays importable without TensorFlow.

Two kinds:

- `KerasExtractor`: any Keras classifier, features from a named layer, probabilities from its softmax
  output. Scores are labelled with its name (`fd_digits`, `is_digits`, `kid_digits`): they are only comparable
  with scores from the same network. This is the offline default (for instance a digits classifier).
- `InceptionExtractor`: Keras' ImageNet InceptionV3 from a local weights file, labelled `fid`,
  `inception_score`, `kid`. It is not the network of the original TensorFlow FID code (different weights and
  resize), so its numbers are not comparable with published FIDs; compare them with each other only.
"""

import os

import numpy as np

from kspec.errors import SpecError

INCEPTION_WEIGHTS_ENV = "KSPEC_INCEPTION_WEIGHTS"
INCEPTION_SIZE = 299
VALUE_RANGES = ((0.0, 1.0), (-1.0, 1.0), (0.0, 255.0))

_LABELS = {"fid": "fd_{}", "inception_score": "is_{}", "kid": "kid_{}", "precision": "precision_{}",
           "recall": "recall_{}", "density": "density_{}", "coverage": "coverage_{}"}


def score_name(metric, extractor_name):
    """Log key of `metric` ("fid", "inception_score", "kid", "precision", ...) computed with `extractor_name`.

    Only the Inception network earns the plain names; any other network's scores carry its name.

    Example:
    >>> score_name("fid", "digits"), score_name("fid", "inception")
    ('fd_digits', 'fid')
    """
    if metric not in _LABELS:
        raise ValueError(f"Invalid value for argument `metric`: expected one of {sorted(_LABELS)}. Received: {metric!r}")
    return metric if extractor_name == "inception" else _LABELS[metric].format(extractor_name)


class KerasExtractor:
    """Features from a named layer of a Keras model, and the model's softmax output as class probabilities.

    Images are passed to the model as they are (the model's own input contract), except that a missing
    channel axis is added and one channel is repeated when the model expects three. The model is called with
    `training=False` in batches of `batch_size`; the last, partial batch is kept.

    Args:
        model: a `keras.Model` or the path of a `.keras` file.
        feature_layer: name of the layer whose output (flattened) is the feature vector.
        name: extractor name used in score labels (`fd_<name>`) and cache keys; letters, digits, `_`, `-`.
        batch_size: images per forward pass.

    Example:
    >>> import keras, numpy as np
    >>> inputs = keras.Input((8, 8, 1))
    >>> hidden = keras.layers.Dense(4, name="embedding")(keras.layers.Flatten()(inputs))
    >>> model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    >>> extractor = KerasExtractor(model, "embedding", name="toy")
    >>> features, probs = extractor.extract(np.zeros((5, 8, 8)))
    >>> features.shape, probs.shape
    ((5, 4), (5, 3))
    """

    def __init__(self, model, feature_layer, name, batch_size=256):
        import keras

        if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-" for c in name):
            raise ValueError(
                f"Invalid value for argument `name`: expected letters, digits, `_` or `-`. Received: name={name!r}"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"Invalid value for argument `batch_size`: expected a positive integer. Received: batch_size={batch_size!r}"
            )
        self._weights_file = None
        self._weights_sha256 = None
        if isinstance(model, (str, os.PathLike)):
            self._weights_file = os.fspath(model)
            model = keras.saving.load_model(self._weights_file)
        try:
            layer = model.get_layer(feature_layer)
        except ValueError:
            names = ", ".join(f"`{layer.name}`" for layer in model.layers)
            raise SpecError(
                f"model `{model.name}` has no layer `{feature_layer}` to take features from; its layers: {names}"
            ) from None
        outputs = model.outputs[0] if isinstance(model.outputs, (list, tuple)) else model.outputs
        self.name = name
        self.batch_size = batch_size
        self.feature_layer = feature_layer
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        self._network = keras.Model(inputs, [layer.output, outputs], name=f"{name}_extractor")
        self._input_shape = tuple(model.inputs[0].shape[1:])

    #: How images reach the network's input size (`none`: they must already have it).
    resize = "none"

    @property
    def image_size(self):
        """`(height, width)` of the images the network sees."""
        return tuple(self._input_shape[:2])

    @property
    def weights_sha256(self):
        """sha256 of the weights file the model came from, or of its weight arrays when built in memory."""
        if self._weights_sha256 is None:
            from kspec.metrics.protocol import sha256_of_arrays, sha256_of_file

            self._weights_sha256 = (sha256_of_file(self._weights_file) if self._weights_file
                                    else sha256_of_arrays(*self._network.get_weights()))
        return self._weights_sha256

    def protocol(self):
        """The extractor's part of a score's `Protocol`: name, weights hash, layer, resize and image size."""
        return {"extractor": self.name, "extractor_weights_sha256": self.weights_sha256,
                "extractor_layer": self.feature_layer, "resize": self.resize, "image_size": self.image_size}

    def extract(self, images):
        """Features `(N, d)` and probabilities `(N, classes)`, float64, of an array of images."""
        features, probs = [], []
        for batch_features, batch_probs in self.iterate(images):
            features.append(batch_features)
            probs.append(batch_probs)
        if not features:
            raise SpecError(f"extractor `{self.name}` received no images")
        return np.concatenate(features), np.concatenate(probs)

    def features(self, images):
        """Features `(N, d)`, float64, of an array of images."""
        return self.extract(images)[0]

    def probabilities(self, images):
        """Class probabilities `(N, classes)`, float64, of an array of images."""
        return self.extract(images)[1]

    def iterate(self, data):
        """Yields `(features, probabilities)` per batch of `data`: an image array or an iterable of batches.

        Batches may be arrays or `(images, labels)` tuples (as `tf.data` yields); labels are ignored.
        """
        if isinstance(data, np.ndarray) or hasattr(data, "__array__") and not hasattr(data, "__next__"):
            array = np.asarray(data)
            chunks = (array[start : start + self.batch_size] for start in range(0, array.shape[0], self.batch_size))
        else:
            chunks = (chunk[0] if isinstance(chunk, (tuple, list)) else chunk for chunk in data)
        for chunk in chunks:
            chunk = np.asarray(chunk)
            # Batches from an iterable may exceed batch_size; split them so memory stays bounded.
            for start in range(0, chunk.shape[0], self.batch_size):
                batch = self.prepare(chunk[start : start + self.batch_size])
                # predict_on_batch runs a traced function (built once): eager layer calls cost several times more.
                features, probs = self._network.predict_on_batch(batch)
                features = np.asarray(features, dtype=np.float64)
                yield features.reshape(features.shape[0], -1), np.asarray(probs, dtype=np.float64)

    def prepare(self, images):
        """Brings a batch of images to the model's input layout (float32, channel axis, channel count)."""
        images = np.asarray(images, dtype=np.float32)
        expected = self._input_shape
        if len(expected) == 3 and images.ndim == 3:
            images = images[..., None]  # (N, H, W) grayscale gets its channel axis
        if len(expected) == 3 and images.ndim == 4 and images.shape[-1] == 1 and expected[-1] == 3:
            images = np.repeat(images, 3, axis=-1)
        fits = images.ndim == len(expected) + 1 and all(e in (None, d) for e, d in zip(expected, images.shape[1:]))
        if not fits:
            raise SpecError(
                f"extractor `{self.name}` expects images of shape (N, {', '.join(str(d) for d in expected)}). "
                f"Received: shape={images.shape}"
            )
        return images

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, feature_layer={self.feature_layer!r})"


class InceptionExtractor(KerasExtractor):
    """Keras' ImageNet InceptionV3: 2048-d `avg_pool` features and its 1000-class softmax.

    Input contract: NHWC images (or NHW grayscale) in the `value_range` you state, one of (0, 1), (-1, 1) or
    (0, 255); values outside it are refused rather than guessed. Each batch is mapped linearly to [-1, 1]
    (the range Keras' InceptionV3 was trained on), grayscale is repeated to 3 channels, and the batch is
    resized once to 299x299 with bilinear interpolation (no antialiasing).

    Weights are read from a local file, never downloaded: `weights` or the environment variable
    `KSPEC_INCEPTION_WEIGHTS` names it (Keras' `inception_v3_weights_tf_dim_ordering_tf_kernels.h5`, or a
    `.weights.h5` saved from `keras.applications.InceptionV3`).

    These scores are not comparable with published FIDs, which use the TensorFlow FID Inception graph.

    Args:
        value_range: the range of the images given, (0, 1), (-1, 1) or (0, 255).
        weights: path of the weights file; default: `$KSPEC_INCEPTION_WEIGHTS`.
        batch_size: images per forward pass.

    Example:
    >>> import os
    >>> InceptionExtractor(value_range=(0, 1), weights=os.environ.get("KSPEC_INCEPTION_WEIGHTS"))  # doctest: +SKIP
    InceptionExtractor(name='inception', feature_layer='avg_pool')
    """

    def __init__(self, value_range, weights=None, batch_size=50):
        value_range = _check_value_range(value_range)
        path = weights or os.environ.get(INCEPTION_WEIGHTS_ENV)
        if not path or not os.path.isfile(path):
            found = f" Received: weights={path!r} (no such file)." if path else ""
            raise SpecError(
                "the Inception extractor needs InceptionV3 ImageNet weights in a local file, and kspec never "
                "downloads them." + found + " Copy `inception_v3_weights_tf_dim_ordering_tf_kernels.h5` (from the "
                f"Keras applications release) to this machine and pass `weights=PATH` or set {INCEPTION_WEIGHTS_ENV}"
                "=PATH; or score offline with a `KerasExtractor` on your own classifier (scores `fd_<name>`)."
            )
        import keras

        network = keras.applications.InceptionV3(include_top=True, weights=None)
        try:
            network.load_weights(path)
        except Exception as error:  # Keras raises ValueError, OSError or h5py errors for a wrong file.
            raise SpecError(f"{path}: cannot load InceptionV3 weights from this file ({error})") from None
        super().__init__(network, "avg_pool", name="inception", batch_size=batch_size)
        self._weights_file = path
        self.value_range = value_range

    resize = "bilinear"

    @property
    def image_size(self):
        return (INCEPTION_SIZE, INCEPTION_SIZE)

    def prepare(self, images):
        import keras

        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise SpecError(
                f"the Inception extractor expects NHWC images with 1 or 3 channels. Received: shape={images.shape}"
            )
        low, high = self.value_range
        slack = 1e-3 * (high - low)
        if images.min() < low - slack or images.max() > high + slack:
            raise SpecError(
                f"the Inception extractor was told value_range={self.value_range}, but the images range over "
                f"[{images.min():.4g}, {images.max():.4g}]; pass the range the images are in"
            )
        images = (images - low) * (2.0 / (high - low)) - 1.0
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        if images.shape[1:3] != (INCEPTION_SIZE, INCEPTION_SIZE):
            images = keras.ops.image.resize(
                images, (INCEPTION_SIZE, INCEPTION_SIZE), interpolation="bilinear", antialias=False
            )
        return images


def _check_value_range(value_range):
    try:
        pair = tuple(float(v) for v in value_range)
    except (TypeError, ValueError):
        pair = None
    if pair not in VALUE_RANGES:
        raise SpecError(
            f"`value_range` must be one of (0, 1), (-1, 1) or (0, 255), the range of the images given. "
            f"Received: value_range={value_range!r}"
        )
    return pair
