"""What each construct of the `${...}` language computes, and the whole message of each refusal.

The language is a subset of Python expressions, so Python's meaning is the reference: `and`/`or` return an
operand (not a bool), `a if c else b` evaluates one branch, `true`/`false`/`null` are YAML's spellings of
True/False/None. Limits are tested at the limit and one past it.
"""

import pytest

from kspec.builder import expressions
from kspec.builder.expressions import ExpressionError, evaluate, interpolate, is_expression


@pytest.mark.parametrize(
    "text, names, value",
    [
        ("2 and 3", {}, 3),  # all truthy: the last operand
        ("0 and 3", {}, 0),  # the first falsy operand
        ("1 and 0 and 3", {}, 0),
        ("0 or 5", {}, 5),  # the first truthy operand
        ("0 or ''", {}, ""),  # none truthy: the last operand
        ("'' or 0 or 7", {}, 7),
        ("'a' if depth > 2 else 'b'", {"depth": 3}, "a"),
        ("'a' if depth > 2 else 'b'", {"depth": 1}, "b"),
        ("true", {}, True),
        ("false", {}, False),
        ("null", {}, None),
        ("not false", {}, True),
        ("flag", {"flag": False}, False),
        ("'ab' + 'cd'", {}, "abcd"),
        ("+x", {"x": 3}, 3),
        ("round(1.25, 1)", {}, 1.2),
        ("round(2.675, 2)", {}, 2.67),  # binary floating point, as in Python
        ("round(7.5)", {}, 8),
        ("sizes[-2]", {"sizes": [3, 5]}, 3),
        ("sizes[1]", {"sizes": [3, 5]}, 5),
        ("len(sizes)", {"sizes": [3, 5]}, 2),
        ("(1, 2)", {}, [1, 2]),  # a tuple is a list, as in YAML
        ("-" * 2 + "1", {}, 1),
    ],
)
def test_evaluates_like_python(text, names, value):
    result = evaluate(text, names)
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(
    "text, names, message",
    [
        ("1 | 2", {}, "operator `BitOr` is not allowed in expressions"),
        ("1 << 2", {}, "operator `LShift` is not allowed in expressions"),
        ("1 in x", {"x": [1]}, "comparison `In` is not allowed in expressions"),
        ("x is null", {"x": 1}, "comparison `Is` is not allowed in expressions"),
        ("b'x'", {}, "constant b'x' is not allowed in expressions"),
        ("1j", {}, "constant 1j is not allowed in expressions"),
        ("...", {}, "constant Ellipsis is not allowed in expressions"),
        ("1 - 'a'", {}, "arithmetic needs numbers. Received: 'a'"),
        ("'a' - 1", {}, "arithmetic needs numbers. Received: 'a'"),
        ("'a' + 1", {}, "arithmetic needs numbers. Received: 'a'"),
        ("1 + 'a'", {}, "arithmetic needs numbers. Received: 'a'"),
        ("+x", {"x": "a"}, "unary plus needs numbers. Received: 'a'"),
        ("-x", {"x": [1]}, "unary minus needs numbers. Received: [1]"),
        ("1e300 ** 2", {}, "number is too large"),
        ("sizes[true]", {"sizes": [3, 5]}, "only a list indexed by an integer is allowed, like `sizes[i]`"),
        ("sizes[0.0]", {"sizes": [3, 5]}, "only a list indexed by an integer is allowed, like `sizes[i]`"),
        ("n[0]", {"n": 5}, "only a list indexed by an integer is allowed, like `sizes[i]`"),
        ("sizes[2]", {"sizes": [3, 5]}, "index 2 is out of range for a list of 2"),
        ("sizes[-3]", {"sizes": [3, 5]}, "index -3 is out of range for a list of 2"),
        ("max(1, key=2)", {}, "`max` takes no keyword arguments here"),
        ("sqrt(-1)", {}, "`sqrt`: math domain error"),
        ("x + 0", {"x": 10**30}, "integer value is too large (limit 1e+15)"),  # not printed: could be huge
        ("x + 0", {"x": 10**30 - 1}, f"integer {10**30 - 1} is too large (limit 1e+15)"),
        ("-" * 499 + "1", {}, "expression nests too deeply"),
        ("x" * 501, {}, "expression is longer than 500 characters"),
        ("s + 'b'", {"s": "a" * 1000}, "string is longer than 1000 characters"),
    ],
)
def test_refuses_with_a_message_that_says_why(text, names, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate(text, names)
    assert str(caught.value) == message


def test_limits_are_inclusive():
    assert evaluate("x" * 500, {"x" * 500: 1}) == 1  # exactly 500 characters
    assert evaluate("s + 'b'", {"s": "a" * 999}) == "a" * 999 + "b"  # exactly 1000 characters


def test_a_list_literal_is_bounded(monkeypatch):
    # 500 characters cannot spell 10,000 items, so the bound is checked with a smaller one.
    monkeypatch.setattr(expressions, "MAX_LIST", 3)
    assert evaluate("[1, 2, 3]", {}) == [1, 2, 3]
    with pytest.raises(ExpressionError) as caught:
        evaluate("[1, 2, 3, 4]", {})
    assert str(caught.value) == "list is longer than 3 items"


@pytest.mark.parametrize(
    "name, names, message",
    [
        ("xy", {"x": 1}, "unknown name `xy` in expression (did you mean `x`?)"),
        ("widht", {"depth": 1, "width": 3}, "unknown name `widht` in expression (did you mean `width`?)"),
        ("q", {"a": 1, "b": 2}, "unknown name `q` in expression; known: a, b"),
        ("q", {f"n{i:02d}": i for i in range(13)},
         "unknown name `q` in expression; known: " + ", ".join(f"n{i:02d}" for i in range(12))),
        ("q", {}, "unknown name `q` in expression"),
    ],
)
def test_unknown_names_suggest_the_closest_or_list_the_known(name, names, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate(name, names)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "value, names, result",
    [
        ("down${i}", {"i": 2}, "down2"),
        ("flag=${x}", {"x": True}, "flag=true"),  # YAML's spelling, so the text reads back as the same value
        ("flag=${x}", {"x": False}, "flag=false"),
        ("v=${x}", {"x": None}, "v=null"),
        ("${a}-${b}", {"a": 1, "b": 2.5}, "1-2.5"),
        ("$${a}{", {"a": 1}, "$1{"),  # a `$` and a `{` either side of a whole expression are plain text
        ("x${s}", {"s": "a" * 999}, "x" + "a" * 999),  # exactly 1000 characters
        (5, {}, 5),
        ("plain", {}, "plain"),
    ],
)
def test_interpolation_formats_values_as_yaml_text(value, names, result):
    assert interpolate(value, names) == result


@pytest.mark.parametrize(
    "value, message",
    [
        ("xx${s}", "string is longer than 1000 characters"),
        ("a${b", "unterminated or nested `${` in 'a${b'; write `${expression}`"),
        ("${a${b}}", "unterminated or nested `${` in '${a${b}}'; write `${expression}`"),
    ],
)
def test_interpolation_refusals(value, message):
    with pytest.raises(ExpressionError) as caught:
        interpolate(value, {"s": "a" * 999, "b": 1})
    assert str(caught.value) == message


@pytest.mark.parametrize("value, expected", [("${x}", True), ("a${", True), ("plain", False), (5, False), (None, False)])
def test_is_expression_only_for_strings_with_a_dollar_brace(value, expected):
    assert is_expression(value) is expected
