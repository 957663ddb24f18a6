"""One registry per kind of named thing a spec can refer to (layers, trainers, losses, priors, data sources,
metrics). Adding one is a single decorator; a duplicate name is refused with the place of the first one."""

import difflib
import inspect


def normalize_name(name):
    """Key under which `Conv2DTranspose`, `conv2d_transpose` and `conv2d-transpose` are the same name."""
    return name.replace("_", "").replace("-", "").lower()


class Registry:
    """Maps names to constructors for one kind of object.

    Args:
        kind: what the entries are, used in error messages ("layer", "trainer", ...).

    Example:
    >>> PRIORS = Registry("prior")
    >>> @PRIORS.register("gaussian")
    ... def gaussian(shape):
    ...     return shape
    >>> PRIORS.get("gaussian")((2,))
    (2,)
    """

    def __init__(self, kind):
        self.kind = kind
        self._entries = {}
        self._origins = {}

    def register(self, name=None):
        """Decorator registering a class or function under `name` (default: its own `__name__`)."""

        def decorate(obj):
            key_name = name or obj.__name__
            key = normalize_name(key_name)
            if key in self._entries:
                first = self._origins[key]
                raise ValueError(
                    f"{self.kind} `{key_name}` is already registered (first registered at {first}); "
                    "choose another name."
                )
            self._entries[key] = (key_name, obj)
            self._origins[key] = _origin(obj)
            return obj

        return decorate

    def get(self, name):
        """Returns the entry registered under `name`; an unknown name raises `KeyError` with close matches."""
        key = normalize_name(name)
        if key not in self._entries:
            raise KeyError(self.unknown_message(name))
        return self._entries[key][1]

    def __contains__(self, name):
        return normalize_name(name) in self._entries

    def names(self):
        """The registered names, as they were registered."""
        return sorted(entry[0] for entry in self._entries.values())

    def unknown_message(self, name):
        message = f"unknown {self.kind} `{name}`"
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.6)
        if close:
            message += " (did you mean " + " or ".join(f"`{c}`" for c in close) + "?)"
        return message


def _origin(obj):
    try:
        return f"{inspect.getsourcefile(obj)}:{inspect.getsourcelines(obj)[1]}"
    except (TypeError, OSError):
        return getattr(obj, "__module__", "?")


LAYERS = Registry("layer")
TRAINERS = Registry("trainer")
LOSSES = Registry("loss")
PRIORS = Registry("prior")
DATA_SOURCES = Registry("data source")
METRICS = Registry("metric")
