"""From a spec's `data:` section to training and validation `tf.data.Dataset`s.

Three steps, each with plain-data input and output: the registered source reads or generates NumPy arrays
(`Examples` or a `Series`); `load_arrays` splits them, fits the normalization on the training split and applies
it (and windows a series); `load_data` wraps the arrays in batched, prefetched `tf.data` pipelines.
"""

from dataclasses import dataclass, field

from kspec.data.lazy_numpy import np

from kspec.data.arguments import SourceArguments, mark_of_value
from kspec.data.config import DEFAULT_BATCH_SIZE, parse_data_config
from kspec.data.domains import Domains, split_domains
from kspec.data.examples import Examples, Series
from kspec.data.normalization import Normalization
from kspec.data.windows import make_windows, naive_forecast_mae
from kspec.errors import SpecError
from kspec.registry import DATA_SOURCES

NAIVE_MAE = "naive_last_value_mae"  # key in DataInfo.baselines


@dataclass
class DataInfo:
    """Plain facts about the loaded data, for checks against models, for trainers and for run logs.

    Attributes:
        source: the registry name of the source.
        task: `classification`, `segmentation`, `forecasting`, `regression`, `reconstruction` (targets are the
            inputs) or `generation` (no targets: dataset elements are inputs alone).
        input_shape, input_dtype: one input example, without the batch axis.
        target_shape, target_dtype: one target, without the batch axis; None without targets.
        num_classes: classes of labels or mask pixels; None for other tasks.
        num_train, num_validation: examples (windows, for a series) in each split.
        batch_size: examples per batch.
        normalization: the scaling applied to inputs (`invert` it to show images in their raw range).
        target_normalization: the scaling applied to targets (reconstruction, forecasting), else None.
        baselines: reference results on the validation split, e.g. `naive_last_value_mae` for forecasting.
        class_names: names of the classes when the source knows them.
        source_arguments: the `data.args` names the source takes, for hints ("change data.args.size").
    """

    source: str
    task: str
    input_shape: tuple
    input_dtype: str
    target_shape: tuple | None
    target_dtype: str | None
    num_classes: int | None
    num_train: int
    num_validation: int
    batch_size: int
    normalization: Normalization
    target_normalization: Normalization | None = None
    baselines: dict = field(default_factory=dict)
    class_names: tuple | None = None
    source_arguments: tuple = ()

    @property
    def has_targets(self):
        return self.target_shape is not None

    def describe(self):
        """A few lines for logs: task, split sizes, element shapes, normalization, baselines."""
        lines = [f"data `{self.source}`: {self.task}, {self.num_train} training / {self.num_validation} validation "
                 f"examples, batches of {self.batch_size}",
                 f"  inputs:  {self.input_shape} {self.input_dtype}, normalize {self.normalization.describe()}"]
        if self.has_targets:
            classes = f", {self.num_classes} classes" if self.num_classes else ""
            lines.append(f"  targets: {self.target_shape} {self.target_dtype}{classes}")
        else:
            lines.append("  targets: none (elements are inputs only)")
        for name, value in self.baselines.items():
            lines.append(f"  baseline {name} on validation: {value:.6g}")
        return "\n".join(lines)


@dataclass
class ArraySplits:
    """The normalized NumPy arrays behind `DataSplits` (validation is None when `validation_split` is 0)."""

    train: Examples
    validation: Examples | None
    info: DataInfo


@dataclass
class DataSplits:
    """What the trainer gets: batched, prefetched datasets and plain facts about them.

    Elements are `(inputs, targets)`, or `inputs` alone for the `generation` task. The training dataset is
    one pass over the training data, reshuffled every time it is iterated, in orders fixed by the seed.
    Trainers use `training_stream` instead, whose order depends on the epoch alone (resume needs that).

    Attributes:
        train: the training `tf.data.Dataset`.
        validation: the validation `tf.data.Dataset`, or None when `validation_split` is 0.
        info: a `DataInfo`.
        batches_per_epoch: batches in one pass over the training data.
    """

    train: object
    validation: object
    info: DataInfo
    batches_per_epoch: int = 0
    _passes: object = field(default=None, repr=False)  # pass-number dataset -> batches, see `_batches`

    def describe(self):
        return self.info.describe()

    def training_stream(self, start_batch=0):
        """An endless `tf.data.Dataset` of training batches, for `fit(..., steps_per_epoch=S)`.

        Pass `p` over the training data lists the examples in an order that depends only on the seed and `p`
        (not on how many passes this process made before), and the stream starts at batch `start_batch` of
        that sequence: a run resumed after `k` epochs of `S` steps starts at `k * S` and sees exactly the
        batches the uninterrupted run saw.

        Example:
        >>> import kspec.data
        >>> splits = kspec.data.load_data({"source": "ring", "args": {"count": 12}}, batch_size=4, seed=0)
        >>> late = next(iter(splits.training_stream(start_batch=5)))
        >>> same = list(splits.training_stream().take(6))[5]
        >>> bool((late.numpy() == same.numpy()).all())
        True
        """
        import tensorflow as tf

        first_pass, skip = divmod(int(start_batch), self.batches_per_epoch)
        return self._passes(tf.data.Dataset.range(first_pass, 2**62)).skip(skip).prefetch(tf.data.AUTOTUNE)


def read_source(config, *, seed=None):
    """Runs the configured source and returns its raw `Examples` or `Series` (not split, not normalized).

    Args:
        config: the `data:` mapping.
        seed: used when the mapping has no `seed:`; 0 when neither gives one.

    Example:
    >>> import kspec.data
    >>> len(read_source({"source": "ring", "args": {"count": 10}}))
    10
    """
    data_config = parse_data_config(config)
    return _read(data_config, _seed(data_config, seed))[0]


def load_arrays(config, *, batch_size=None, seed=None):
    """Reads the configured source, splits it, and normalizes both splits with statistics of the training one.

    Args:
        config: the `data:` mapping of a spec (see docs/data.md).
        batch_size: used when `data:` has no `batch_size:` (typically `training.batch_size`); default 32.
        seed: used when `data:` has no `seed:` (typically the training seed); default 0.

    Returns:
        An `ArraySplits`.

    Raises:
        SpecError: for a wrong field, argument, path, file content or a split that leaves a part empty.

    Example:
    >>> import kspec.data
    >>> arrays = load_arrays({"source": "ring", "args": {"count": 100}, "validation_split": 0.25})
    >>> len(arrays.train), len(arrays.validation)
    (75, 25)
    """
    data_config = parse_data_config(config)
    return _load_arrays(data_config, batch_size, _seed(data_config, seed))


def load_data(config, *, batch_size=None, seed=None):
    """The one entry point for trainers: `data:` mapping in, training and validation `tf.data` pipelines out.

    Args:
        config: the `data:` mapping of a spec (see docs/data.md for its fields and every source's `args:`).
        batch_size: used when `data:` has no `batch_size:` (typically `training.batch_size`); default 32.
        seed: used when `data:` has no `seed:` (typically the training seed); default 0. It fixes synthetic
            data, the validation split and the shuffling order.

    Returns:
        A `DataSplits`.

    Raises:
        SpecError: for any problem with the `data:` section or the data it names.

    Example:
    >>> import kspec.data
    >>> splits = load_data({"source": "digits", "args": {"size": 28}}, batch_size=64)
    >>> splits.info.input_shape, splits.info.num_classes
    ((28, 28, 1), 10)
    >>> images, labels = next(iter(splits.train))
    >>> tuple(images.shape), labels.dtype.name
    ((64, 28, 28, 1), 'int32')
    """
    data_config = parse_data_config(config)
    seed = _seed(data_config, seed)
    return _splits(_load_arrays(data_config, batch_size, seed), data_config, seed)


def batch_arrays(arrays, config, *, seed=None):
    """`load_data` for arrays that `load_arrays` loaded already (trainers check them before batching).

    Args:
        arrays: an `ArraySplits` from `load_arrays(config, ...)`.
        config: the same `data:` mapping.
        seed: the same seed as given to `load_arrays`.

    Returns:
        A `DataSplits`.

    Example:
    >>> import kspec.data
    >>> arrays = kspec.data.load_arrays({"source": "ring", "args": {"count": 10}}, batch_size=4)
    >>> batch_arrays(arrays, {"source": "ring", "args": {"count": 10}}).batches_per_epoch
    2
    """
    data_config = parse_data_config(config)
    return _splits(arrays, data_config, _seed(data_config, seed))


def _splits(arrays, data_config, seed):
    import tensorflow as tf

    info = arrays.info

    def train_passes(numbers):
        return _batches(arrays.train, info, numbers, shuffle=data_config.shuffle, seed=seed,
                        drop_remainder=data_config.drop_remainder)

    # `train`: one pass whose number is drawn anew (from the seed) at each iteration: a new order each epoch.
    # The counts are asserted because Keras warns about a dataset of unknown length that runs out.
    batches_per_epoch = _batch_count(len(arrays.train), info.batch_size, data_config.drop_remainder)
    one_random_pass = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    train = train_passes(one_random_pass).apply(tf.data.experimental.assert_cardinality(batches_per_epoch))
    validation = None
    if arrays.validation is not None:
        validation = _batches(arrays.validation, info, tf.data.Dataset.range(1), shuffle=False, seed=seed,
                              drop_remainder=False)
        count = _batch_count(len(arrays.validation), info.batch_size, False)
        validation = validation.apply(tf.data.experimental.assert_cardinality(count)).prefetch(tf.data.AUTOTUNE)
    return DataSplits(train.prefetch(tf.data.AUTOTUNE), validation, info, batches_per_epoch, train_passes)


def _batch_count(examples, batch_size, drop_remainder):
    return examples // batch_size if drop_remainder else -(-examples // batch_size)


def _load_arrays(data_config, batch_size, seed):
    batch_size = data_config.batch_size or batch_size or DEFAULT_BATCH_SIZE
    raw, source_arguments = _read(data_config, seed)
    method = data_config.normalize or raw.default_normalize
    if isinstance(raw, Series):
        train, validation, norm, target_norm, baselines = _split_series(raw, data_config, method)
        num_classes, class_names = None, None
    elif isinstance(raw, Domains):
        train, validation, norm, target_norm = split_domains(raw, data_config, method, seed)
        num_classes, class_names, baselines = None, None, {}
    else:
        train, validation = _split_examples(raw, data_config, seed)
        norm = Normalization.fit(method, train.inputs, raw.value_range)
        target_norm = norm if raw.task == "reconstruction" else None
        train, validation = (_normalized(part, norm) for part in (train, validation))
        num_classes, class_names, baselines = raw.num_classes, raw.class_names, {}
    if data_config.drop_remainder and len(train) < batch_size:
        raise SpecError(f"drop_remainder would drop every batch: {len(train)} training examples are fewer than "
                        f"batch_size={batch_size}", "data.drop_remainder", mark_of_value(data_config.marks, "drop_remainder"))
    targets = train.targets
    info = DataInfo(
        source=data_config.source,
        task=raw.task,
        input_shape=tuple(train.inputs.shape[1:]),
        input_dtype=str(train.inputs.dtype),
        target_shape=None if targets is None else tuple(targets.shape[1:]),
        target_dtype=None if targets is None else str(targets.dtype),
        num_classes=num_classes,
        num_train=len(train),
        num_validation=0 if validation is None else len(validation),
        batch_size=batch_size,
        normalization=norm,
        target_normalization=target_norm,
        baselines=baselines,
        class_names=class_names,
        source_arguments=source_arguments,
    )
    return ArraySplits(train, validation, info)


def _seed(data_config, seed):
    if data_config.seed is not None:
        return data_config.seed
    return seed if seed is not None else 0


def _read(data_config, seed):
    source = DATA_SOURCES.get(data_config.source)
    args = SourceArguments(data_config.args, source=data_config.source, seed=seed)
    raw = source(args)
    args.finish()
    return raw, args.known


def _split_examples(examples, data_config, seed):
    """A seeded random split into training and validation examples."""
    total = len(examples)
    split = data_config.validation_split
    num_validation = int(round(total * split))
    if (split > 0 and num_validation == 0) or num_validation >= total:
        raise _split_error(data_config, f"{total} examples cannot be split into training and validation parts "
                                        f"with validation_split={split:g}")
    order = np.random.default_rng(seed).permutation(total)
    train = examples.subset(np.sort(order[num_validation:]))
    validation = examples.subset(np.sort(order[:num_validation])) if num_validation else None
    return train, validation


def _split_series(series, data_config, method):
    """Chronological split; validation windows may look back into the training part but predict only later steps."""
    steps = len(series)
    num_validation = int(round(steps * data_config.validation_split))
    num_train = steps - num_validation
    needed = series.window + series.horizon
    if num_train < needed or (data_config.validation_split > 0 and num_validation < series.horizon):
        raise _split_error(data_config, f"a series of {steps} steps split with validation_split="
                                        f"{data_config.validation_split:g} leaves {num_train} training and "
                                        f"{num_validation} validation steps; expected at least window + horizon = "
                                        f"{needed} training and horizon = {series.horizon} validation steps")
    norm = Normalization.fit(method, series.values[:num_train])
    target_norm = norm.for_feature(series.target_feature)
    values = norm.apply(series.values)

    def windows(part):
        inputs, targets = make_windows(part, series.window, series.horizon,
                                       target_feature=series.target_feature, stride=series.stride)
        return Examples(inputs, targets, "forecasting")

    train = windows(values[:num_train])
    validation, baselines = None, {}
    if num_validation:
        validation = windows(values[num_train - series.window:])
        baselines[NAIVE_MAE] = naive_forecast_mae(validation.inputs, validation.targets,
                                                  target_feature=series.target_feature)
    return train, validation, norm, target_norm, baselines


def _split_error(data_config, message):
    return SpecError(message, "data.validation_split", mark_of_value(data_config.marks, "validation_split"))


def _normalized(examples, norm):
    if examples is None:
        return None
    inputs = norm.apply(examples.inputs)
    targets = inputs if examples.task == "reconstruction" else examples.targets
    return Examples(inputs, targets, examples.task, examples.num_classes, examples.value_range,
                    examples.default_normalize, examples.class_names)


def _batches(examples, info, passes, *, shuffle, seed, drop_remainder):
    """Batches of `examples` for each pass number of the int64 dataset `passes`, one pass after the other.

    Pass `p` takes the examples in the order of a stateless shuffle keyed by `(seed, p)` (in their stored
    order without `shuffle`), so any batch of any pass can be produced again without replaying the others.
    """
    import tensorflow as tf

    count = len(examples)
    inputs = tf.constant(examples.inputs)
    reconstruction = info.task == "reconstruction"
    # Reconstruction targets are the inputs: paired per batch instead of stored twice.
    targets = None if examples.targets is None or reconstruction else tf.constant(examples.targets)

    def one_pass(number):
        order = tf.range(count, dtype=tf.int64)
        if shuffle:
            key = tf.stack([tf.constant(seed, tf.int64), number])
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        return tf.data.Dataset.from_tensor_slices(order).batch(info.batch_size, drop_remainder=drop_remainder)

    def gather(indices):
        batch = tf.gather(inputs, indices)
        if reconstruction:
            return batch, batch
        return batch if targets is None else (batch, tf.gather(targets, indices))

    return passes.flat_map(one_pass).map(gather)
