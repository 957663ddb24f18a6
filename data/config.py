"""The `data:` section of a spec, checked into a `DataConfig` (no TensorFlow, no data read)."""

import difflib
from dataclasses import dataclass, field

from kspec.data.arguments import is_int, is_number, mark_of_value, show
from kspec.data.normalization import METHODS
from kspec.errors import SpecError
from kspec.registry import DATA_SOURCES

DEFAULT_BATCH_SIZE = 32
DEFAULT_VALIDATION_SPLIT = 0.2
FIELDS = ("source", "args", "validation_split", "normalize", "batch_size", "shuffle", "seed", "drop_remainder")


@dataclass(frozen=True)
class DataConfig:
    """The checked fields of `data:`; see docs/data.md for what each one does.

    Example:
    >>> import kspec.data
    >>> parse_data_config({"source": "digits", "normalize": "symmetric"}).validation_split
    0.2
    """

    source: str
    args: dict = field(default_factory=dict)
    validation_split: float = DEFAULT_VALIDATION_SPLIT
    normalize: str | None = None  # None: the source's default
    batch_size: int | None = None  # None: the trainer's, else DEFAULT_BATCH_SIZE
    shuffle: bool = True
    seed: int | None = None  # None: the trainer's, else 0
    drop_remainder: bool = False
    marks: object = None  # the raw mapping, kept for the file positions of its values


def parse_data_config(config, path="data"):
    """Checks the `data:` mapping of a spec and returns a `DataConfig`.

    Args:
        config: the mapping (a plain dict, or the loader's marked dict).
        path: its spec path, for messages.

    Returns:
        A `DataConfig`.

    Raises:
        SpecError: naming the first wrong field, what was expected and what was received.

    Example:
    >>> import kspec.data
    >>> parse_data_config({"source": "ring", "args": {"modes": 8}}).args
    {'modes': 8}
    """
    if not isinstance(config, dict):
        raise SpecError(f"expected a mapping with at least `source:`. Received: data={show(config)}", path)

    def fail(name, message):
        return SpecError(message, f"{path}.{name}", mark_of_value(config, name))

    def expect(name, ok, expected):
        value = config.get(name)
        if value is not None and not ok(value):
            raise fail(name, f"expected {expected}. Received: {name}={show(value)}")
        return value

    for name in config:
        if name not in FIELDS:
            close = difflib.get_close_matches(str(name), FIELDS, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise fail(name, f"unknown field `{name}`{hint}; `data:` takes " + ", ".join(f"`{f}`" for f in FIELDS))
    source = config.get("source")
    if source is None:
        raise SpecError("`source:` is required: the name of a data source, one of "
                        + ", ".join(DATA_SOURCES.names()), path, getattr(config, "mark", None))
    if not isinstance(source, str):
        raise fail("source", f"expected the name of a data source. Received: source={show(source)}")
    if source not in DATA_SOURCES:
        raise fail("source", DATA_SOURCES.unknown_message(source) + "; known sources: " + ", ".join(DATA_SOURCES.names()))
    args = expect("args", lambda v: isinstance(v, dict), "a mapping of argument names to values")
    split = expect("validation_split", lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)")
    normalize = expect("normalize", lambda v: v in METHODS, "one of " + ", ".join(show(m) for m in METHODS))
    batch_size = expect("batch_size", lambda v: is_int(v) and v >= 1, "a positive integer")
    shuffle = expect("shuffle", lambda v: isinstance(v, bool), "true or false")
    seed = expect("seed", lambda v: is_int(v) and v >= 0, "a non-negative integer")
    drop_remainder = expect("drop_remainder", lambda v: isinstance(v, bool), "true or false")
    return DataConfig(
        source=source,
        args=args if args is not None else {},
        validation_split=float(split) if split is not None else DEFAULT_VALIDATION_SPLIT,
        normalize=normalize,
        batch_size=batch_size,
        shuffle=shuffle if shuffle is not None else True,
        seed=seed,
        drop_remainder=bool(drop_remainder),
        marks=config,
    )
