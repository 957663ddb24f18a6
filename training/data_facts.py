"""`RUN/data.json`: what a trained model needs to know about its data to be used on new inputs.

Training fits the input normalization on the training split; `kspec predict`, `kspec cam` and `kspec evaluate
--calibration` must scale new inputs the same way, and name classes as the data did. `kspec train` writes the
facts when a supervised run starts, so they need neither the data nor the time to read it again:

    {"source": "digits", "task": "classification", "input_shape": [28, 28, 1], "input_dtype": "float32",
     "num_classes": 10, "class_names": ["0", ..., "9"],
     "normalization": {"method": "unit", "offset": [0.0], "scale": [16.0]}, "target_normalization": null}

Runs trained before this file existed get the same facts recomputed from their spec's `data:` section
(seeded, so the training split and its statistics are the same).
"""

import json
import os
from dataclasses import asdict, dataclass

from kspec.data.normalization import Normalization
from kspec.errors import SpecError

FILE = "data.json"


@dataclass(frozen=True)
class DataFacts:
    """The plain facts of a run's data that using its model on new inputs needs.

    Attributes:
        source: the data source's registry name.
        task: `classification`, `segmentation`, `regression`, `forecasting`, `reconstruction` or `generation`.
        input_shape: one input example, without the batch axis (raw inputs have this shape too).
        input_dtype: dtype of the model input.
        num_classes: classes of labels or mask pixels, else None.
        class_names: names of the classes when the source knows them, else None.
        normalization: the `Normalization` fitted on the training inputs.
        target_normalization: the `Normalization` of targets (forecasting, reconstruction), else None.

    Example:
    >>> facts = DataFacts("ring", "generation", (2,), "float32", None, None, Normalization("none"))
    >>> DataFacts.from_json(facts.to_json()) == facts
    True
    """

    source: str
    task: str
    input_shape: tuple
    input_dtype: str
    num_classes: int | None
    class_names: tuple | None
    normalization: Normalization
    target_normalization: Normalization | None = None

    @classmethod
    def from_info(cls, info):
        """The facts of a `kspec.data.DataInfo` (what `load_data` and `load_arrays` return)."""
        return cls(info.source, info.task, tuple(info.input_shape), info.input_dtype, info.num_classes,
                   None if info.class_names is None else tuple(info.class_names), info.normalization,
                   info.target_normalization)

    def to_json(self):
        record = asdict(self)
        record["input_shape"] = list(self.input_shape)
        record["class_names"] = None if self.class_names is None else list(self.class_names)
        # One key per line, each value on its line: short enough to read, easy to diff.
        lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in record.items()]
        return "{\n" + ",\n".join(lines) + "\n}\n"

    @classmethod
    def from_json(cls, text):
        record = json.loads(text)

        def normalization(value):
            if value is None:
                return None
            return Normalization(value["method"], tuple(value["offset"]), tuple(value["scale"]))

        return cls(
            source=record["source"],
            task=record["task"],
            input_shape=tuple(record["input_shape"]),
            input_dtype=record["input_dtype"],
            num_classes=record["num_classes"],
            class_names=None if record["class_names"] is None else tuple(record["class_names"]),
            normalization=normalization(record["normalization"]),
            target_normalization=normalization(record["target_normalization"]),
        )

    def class_name(self, index):
        """The name of class `index` (its number when the data names no classes)."""
        return self.class_names[index] if self.class_names and index < len(self.class_names) else str(index)


def write_data_facts(run, info):
    """Writes `RUN/data.json` from the `DataInfo` of the data a run trains on (atomically)."""
    from kspec.training.run_directory import write_atomic

    write_atomic(os.path.join(run.path, FILE), DataFacts.from_info(info).to_json())


def read_data_facts(run, spec=None):
    """The `DataFacts` of a run: `RUN/data.json`, or recomputed from the spec's `data:` for older runs.

    Args:
        run: a `RunDirectory`.
        spec: the run's resolved spec (loaded from `RUN/spec.yaml` when not given); used only without data.json.

    Raises:
        SpecError: when data.json is unreadable, or the spec has no `data:` to recompute it from.
    """
    path = os.path.join(run.path, FILE)
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as stream:
                return DataFacts.from_json(stream.read())
        except (ValueError, KeyError, TypeError) as error:
            raise SpecError(f"{path} is not a data record written by kspec ({type(error).__name__}: {error}); "
                            "delete it to recompute it from the run's spec", path="RUN_DIR") from None
    from kspec import builder
    from kspec.data import load_arrays
    from kspec.training.config import TrainingConfig

    spec = spec or builder.load_spec(run.spec_file)
    if spec.data is None:
        raise SpecError(f"{run.path} has no {FILE} and its spec no `data:` section to recompute it from",
                        path="RUN_DIR")
    config = TrainingConfig.from_spec(spec)
    return DataFacts.from_info(load_arrays(spec.data, batch_size=config.batch_size, seed=config.seed).info)


def class_index(value, class_names, *, option):
    """The index of a class given by name or by index, for command options such as `--class`.

    Args:
        value: a class name, or an index as an int or text.
        class_names: the names of the classes, in index order.
        option: the option's name, for the error.

    Raises:
        SpecError: naming the option, the classes and the value.

    Example:
    >>> class_index("square", ("circle", "square"), option="--class"), class_index("0", ("a", "b"), option="--class")
    (1, 0)
    """
    names = [str(name) for name in class_names]
    if str(value) in names:
        return names.index(str(value))
    if str(value).isdigit() and int(value) < len(names):
        return int(value)
    raise SpecError(f"expected a class index below {len(names)} or one of {', '.join(names)}. Received: {value!r}",
                    path=option)
