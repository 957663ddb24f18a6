"""Validate stage, part 1: the structure of a spec against kspec's JSON Schema (draft 2020-12).

jsonschema's own messages describe the schema, not the spec; each error is translated here into kspec's
form (what was expected, what was received, at which line and spec path), so no schema internals leak.
"""

import copy
import difflib
import functools
import json
import os
import re

from kspec.builder.document import format_path, mark_at
from kspec.errors import Problem

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "kspec.schema.json")

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


@functools.lru_cache(maxsize=1)
def load_schema():
    """kspec's JSON Schema as a dict."""
    with open(SCHEMA_PATH, encoding="utf-8") as stream:
        return json.load(stream)


def _validator_for(schema):
    from jsonschema import Draft202012Validator, validators

    # JSON Schema counts 2.0 as an integer; Keras and Python's range() do not, so neither does kspec.
    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    return validators.extend(Draft202012Validator, type_checker=checker)(schema)


@functools.lru_cache(maxsize=1)
def _validator():
    return _validator_for(load_schema())


_EXPRESSION_WORDS = re.compile(r",? (?:or )?an expression `\$\{\.\.\.\}`")


def _without_expressions(schema):
    """`schema` with `${...}` no longer an alternative, for values that expressions already produced."""
    if isinstance(schema, dict):
        schema = {key: _without_expressions(value) for key, value in schema.items()}
        expected = schema.get("x-expected")
        if isinstance(expected, str) and _EXPRESSION_WORDS.search(expected):
            words = _EXPRESSION_WORDS.sub("", expected)
            head, comma, tail = words.rpartition(", ")
            schema["x-expected"] = f"{head} or {tail}" if comma else words
        return schema
    if isinstance(schema, list):
        return [_without_expressions(item) for item in schema]
    return schema


@functools.lru_cache(maxsize=1)
def _resolved_validator():
    schema = _without_expressions(copy.deepcopy(load_schema()))
    schema["$defs"]["expression"] = False  # an expression's value is never itself an expression
    return _validator_for(schema)


def check_schema(document):
    """Returns the structural problems of `document` (a loaded spec), at most one per spec location."""
    return _problems(document, (), _validator().iter_errors(document))


def check_resolved_value(document, path, value, pointer):
    """Problems of `value`, what the `${...}` at `path` in `document` produced, against the same schema.

    The types of a spec live in one place, the schema: a value computed by an expression must satisfy what
    a literal at the same place must, and the problem points at the expression that produced it.

    Args:
        document: the loaded spec, for spec paths and file positions.
        path: where the expression sits in `document` (keys and indices).
        value: its resolved value.
        pointer: the schema location that describes `path`, such as `#/$defs/references`.

    Returns:
        A list of `Problem`s (empty when the value fits).

    Example:
    >>> [str(p) for p in check_resolved_value({"training": {}}, ("training", "epochs"), "x",
    ...                                       "#/properties/training/properties/epochs")]
    ["training.epochs: expected a positive integer. Received: epochs='x'"]
    """
    validator = _resolved_validator()
    schema = validator.schema
    for part in pointer.lstrip("#/").split("/"):
        schema = schema[part]
    return _problems(document, tuple(path), validator.evolve(schema=schema).iter_errors(value))


def _problems(document, prefix, errors):
    problems, seen = [], set()
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        problem = _translate(document, error, prefix)
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            problems.append(problem)
    # An error inside a list item or mapping also shows up as errors of its parents through oneOf; keep the
    # deepest one per location.
    return [p for p in problems if not any(q is not p and q.path.startswith(p.path + ".") for q in problems)]


def _describe(value):
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        shown = repr(value)
        return shown if len(shown) <= 40 and all(isinstance(v, (int, float, str)) for v in value) else "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _received(path, value):
    key = path[-1] if path and isinstance(path[-1], str) else None
    return f"{key}={_describe(value)}" if key else _describe(value)


def _translate(document, error, prefix=()):
    path = [*prefix, *error.absolute_path]
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [key for key in error.instance if key not in schema.get("properties", {})]
        key = extra[0] if extra else "?"
        message = f"unknown key `{key}`"
        close = difflib.get_close_matches(str(key), allowed, n=1)
        if close:
            message += f" (did you mean `{close[0]}`?)"
        elif allowed:
            message += "; expected one of: " + ", ".join(allowed)
        return Problem(message, format_path(document, path + [key]), mark_at(document, path + [key], of_key=True))
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return Problem(f"missing required key `{missing}`", format_path(document, path), mark_at(document, path))
    if validator == "propertyNames" or "propertyNames" in error.absolute_schema_path:
        # jsonschema reports a bad key as a failure of the key itself, at the mapping's path.
        bad = error.instance
        return Problem(
            f"invalid name `{bad}`: expected letters, digits and `_`, not starting with a digit",
            format_path(document, path + [bad]),
            mark_at(document, path + [bad], of_key=True),
        )
    expected = schema.get("x-expected")
    if validator in ("oneOf", "anyOf") and (expected is None or isinstance(error.instance, (dict, list))):
        # A list or mapping matched the right branch's type: its inner error is the precise one.
        deeper = _deepest(error)
        if deeper is not error:
            return _translate(document, deeper, prefix)
    if expected is None:
        expected = _expected_from(validator, error.validator_value)
    if validator in ("minProperties", "minItems"):
        message = f"must not be empty: expected {expected}"
    else:
        message = f"expected {expected}. Received: {_received(path, error.instance)}"
    return Problem(message, format_path(document, path), mark_at(document, path))


def _deepest(error):
    """The error of the branch the value was meant for: not a branch that fails on the value's type alone."""
    from jsonschema.exceptions import best_match

    # A branch that fails on type alone, or the `false` that replaces expressions once they are resolved, was
    # not meant for this value.
    meant = [e for e in error.context
             if not (e.validator == "type" and not e.relative_path) and e.validator is not None]
    if meant:
        return max(meant, key=lambda e: len(e.absolute_path))
    if isinstance(error.schema, dict) and "x-expected" in error.schema:
        return error  # no branch was meant: say what the place takes as a whole
    return best_match(error.context) if error.context else error


def _expected_from(validator, value):
    if validator == "type":
        kinds = value if isinstance(value, list) else [value]
        return " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
    if validator == "const":
        return f"`{value!r}`"
    if validator == "enum":
        return "one of " + ", ".join(f"`{v}`" for v in value)
    if validator == "minimum":
        return f"a number >= {value}"
    if validator in ("minProperties", "minItems"):
        return f"at least {value} entr{'y' if value == 1 else 'ies'}"
    if validator == "pattern":
        return f"text matching `{value}`"
    return f"a value satisfying `{validator}`"
