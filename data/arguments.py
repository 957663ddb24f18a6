"""Checked reading of a data source's `args:` mapping.

Every source reads its arguments through one `SourceArguments`, so that each problem is reported the same way:
a `SpecError` at `data.args.<name>` saying what was expected and what was received, in the style of Keras'
argument errors (`expected a positive integer. Received: size=0`).
"""

import difflib
import os

from kspec.errors import SpecError

REQUIRED = object()  # default for an argument the user must give


def show(value):
    """A value as the user wrote it in YAML: strings quoted, `true`/`false`/`null` spelled the YAML way."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mark_of_value(container, key):
    """Position of `container[key]` when the container came from the spec loader (it keeps marks), else None."""
    marks = getattr(container, "value_marks", None) or {}
    return marks.get(key, getattr(container, "mark", None))


class SourceArguments:
    """The `args:` of one data source, read one checked argument at a time.

    Each reader method takes the argument's name and a default (`REQUIRED` when it must be given), checks the
    value and returns it in a plain Python form. `finish()` then refuses arguments nobody read, with the
    closest known name.

    Args:
        args: the `args:` mapping of the `data:` section (or None for no arguments).
        source: the source's registry name, for messages.
        seed: the `data.seed` value; synthetic sources draw from it.
        path: spec path of the mapping, for error locations.

    Example:
    >>> args = SourceArguments({"size": 28}, source="digits")
    >>> args.size("size", default=8)
    (28, 28)
    >>> args.finish()
    """

    def __init__(self, args=None, *, source, seed=0, path="data.args"):
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise SpecError(f"expected a mapping of argument names to values. Received: args={show(args)}", path)
        self.args = args
        self.source = source
        self.seed = seed
        self.path = path
        self._read = set()

    @property
    def known(self):
        """The argument names the source asked for so far (given or not): the arguments it takes."""
        return tuple(sorted(self._read))

    # -- errors ------------------------------------------------------------------------------------------

    def error(self, name, message):
        """A `SpecError` located at argument `name` (for problems found after reading it, e.g. in a file)."""
        return SpecError(message, f"{self.path}.{name}", mark_of_value(self.args, name))

    def _expected(self, name, expected, value):
        return self.error(name, f"expected {expected}. Received: {name}={show(value)}")

    def _get(self, name, default, expected):
        """The value of `name`; a missing argument and an explicit `null` both mean `default`."""
        self._read.add(name)
        if name in self.args and self.args[name] is not None:
            return self.args[name]
        if default is REQUIRED:
            raise SpecError(f"source `{self.source}` needs argument `{name}`: {expected}", self.path,
                            getattr(self.args, "mark", None))
        return default

    # -- readers -------------------------------------------------------------------------------------------

    def integer(self, name, default=REQUIRED, *, minimum=None, maximum=None):
        expected = _describe_range("an integer", minimum, maximum)
        value = self._get(name, default, expected)
        if value is None:
            return None
        if not is_int(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise self._expected(name, expected, value)
        return value

    def number(self, name, default=REQUIRED, *, minimum=None, maximum=None, above=None):
        """A float; `minimum`/`maximum` are inclusive bounds, `above` an exclusive lower bound."""
        expected = _describe_range("a number", minimum, maximum, above)
        value = self._get(name, default, expected)
        if value is None:
            return None
        if (not is_number(value) or (minimum is not None and value < minimum)
                or (maximum is not None and value > maximum) or (above is not None and value <= above)):
            raise self._expected(name, expected, value)
        return float(value)

    def numbers(self, name, default=REQUIRED, *, length=None, minimum=None, above=None):
        """A tuple of floats, from a list (or a single number when `length` is not fixed)."""
        count = f"a list of {length} numbers" if length else "a number or a list of numbers"
        expected = _describe_range(count, minimum, None, above, each=True)
        value = self._get(name, default, expected)
        if value is None:
            return None
        values = value if isinstance(value, (list, tuple)) else ([value] if length is None else None)
        if (values is None or not values or (length and len(values) != length)
                or not all(is_number(v) for v in values)
                or (minimum is not None and any(v < minimum for v in values))
                or (above is not None and any(v <= above for v in values))):
            raise self._expected(name, expected, value)
        return tuple(float(v) for v in values)

    def boolean(self, name, default=REQUIRED):
        value = self._get(name, default, "true or false")
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self._expected(name, "true or false", value)
        return value

    def choice(self, name, choices, default=REQUIRED):
        expected = "one of " + ", ".join(show(c) for c in choices)
        value = self._get(name, default, expected)
        if value is None:
            return None
        if value not in choices or isinstance(value, bool):
            close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            hint = f" (did you mean {show(close[0])}?)" if close else ""
            raise self.error(name, f"expected {expected}. Received: {name}={show(value)}{hint}")
        return value

    def string(self, name, default=REQUIRED, *, nullable=False, expected="a string"):
        """A non-empty string; with `nullable`, an explicit `null` in the spec returns None whatever the default."""
        if nullable and name in self.args and self.args[name] is None:
            self._read.add(name)
            return None
        value = self._get(name, default, expected)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self._expected(name, "a non-empty string", value)
        return value

    def strings(self, name, default=REQUIRED):
        """A tuple of strings, from one string or a list of them."""
        expected = "a string or a list of strings"
        value = self._get(name, default, expected)
        if value is None:
            return None
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple)) or not values or not all(isinstance(v, str) and v for v in values):
            raise self._expected(name, expected, value)
        return tuple(values)

    def integers(self, name, default=REQUIRED, *, minimum=None, maximum=None):
        """A tuple of distinct integers, from a non-empty list (each within the inclusive bounds)."""
        expected = _describe_range("a list of distinct integers", minimum, maximum, each=True)
        value = self._get(name, default, expected)
        if value is None:
            return None
        if (not isinstance(value, (list, tuple)) or not value or not all(is_int(v) for v in value)
                or len(set(value)) != len(value) or (minimum is not None and min(value) < minimum)
                or (maximum is not None and max(value) > maximum)):
            raise self._expected(name, expected, value)
        return tuple(value)

    def size(self, name, default=REQUIRED):
        """An image size `(height, width)`, from one positive integer (square) or a list of two."""
        expected = "a positive integer or a list of two ([height, width])"
        value = self._get(name, default, expected)
        if value is None:
            return None
        values = [value, value] if is_int(value) else value
        if not isinstance(values, (list, tuple)) or len(values) != 2 or not all(is_int(v) and v >= 1 for v in values):
            raise self._expected(name, expected, value)
        return (int(values[0]), int(values[1]))

    def existing_file(self, name, *, what="a file"):
        """A path (with `~` expanded) to an existing file."""
        path = self.string(name, expected=f"the path of {what}")
        full = os.path.expanduser(path)
        if not os.path.isfile(full):
            problem = "is a directory" if os.path.isdir(full) else "does not exist"
            raise self.error(name, f"expected the path of {what}. Received: {name}={show(path)}, which {problem}")
        return full

    def existing_directory(self, name, default=REQUIRED, *, what="a directory"):
        """A path (with `~` expanded) to an existing directory."""
        path = self.string(name, default, expected=f"the path of {what}")
        if path is None:
            return None
        full = os.path.expanduser(path)
        if not os.path.isdir(full):
            problem = "is a file" if os.path.isfile(full) else "does not exist"
            raise self.error(name, f"expected the path of {what}. Received: {name}={show(path)}, which {problem}")
        return full

    def finish(self):
        """Refuses arguments that no reader asked for (usually a misspelling).

        Sources call it once they have read their arguments, before any slow work; the pipeline calls it again
        after the source returns, in case a source forgot.
        """
        for name in self.args:
            if name not in self._read:
                close = difflib.get_close_matches(str(name), sorted(self._read), n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                known = ", ".join(f"`{n}`" for n in sorted(self._read)) or "none"
                raise self.error(name, f"source `{self.source}` has no argument `{name}`{hint}; "
                                       f"its arguments are {known}")


def _describe_range(what, minimum=None, maximum=None, above=None, each=False):
    of = " each" if each else ""
    if minimum is not None and maximum is not None:
        return f"{what}{of} between {show(minimum)} and {show(maximum)}"
    if above is not None:
        if above == 0 and not each and what.startswith("a "):
            return f"a positive {what[2:]}"
        return f"{what}{of} greater than {show(above)}"
    if minimum is not None:
        if minimum == 1 and what == "an integer":
            return "a positive integer"
        return f"{what}{of} of at least {show(minimum)}"
    if maximum is not None:
        return f"{what}{of} of at most {show(maximum)}"
    return what
