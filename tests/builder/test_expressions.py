"""The `${...}` evaluator: what it computes, and what it refuses (no code, no unbounded work)."""

import pytest

from kspec.builder.expressions import ExpressionError, evaluate, interpolate


@pytest.mark.parametrize(
    "text, names, value",
    [
        ("base * 2**i", {"base": 16, "i": 3}, 128),
        ("(size // 4) ** 2 * 64", {"size": 28}, 3136),
        ("7 / 2", {}, 3.5),
        ("-x + abs(-3)", {"x": 1}, 2),
        ("max(1, min(n, 4))", {"n": 9}, 4),
        ("sizes[i]", {"sizes": [3, 5], "i": 1}, 5),
        ("'a' if depth > 2 else 'b'", {"depth": 3}, "a"),
        ("n > 1 and n < 5", {"n": 3}, True),
        ("[w, w * 2]", {"w": 4}, [4, 8]),
        ("int(sqrt(n))", {"n": 17}, 4),
        ("null", {}, None),
    ],
)
def test_evaluates(text, names, value):
    assert evaluate(text, names) == value


@pytest.mark.parametrize(
    "text, message",
    [
        ("9 ** 9 ** 9", "exponent 387420489 is too large (at most 64)"),
        ("10 ** 20", "integer 100000000000000000000 is too large (limit 1e+15)"),
        ("'a' * 3", "arithmetic needs numbers. Received: 'a'"),
        ("x.__class__", "`Attribute` is not allowed in expressions"),
        ("open('/etc/passwd')", "only these functions may be called: abs, ceil, channels, float, floor, int, len, log2, max, min, round, shape, sqrt"),
        ("[i for i in x]", "`ListComp` is not allowed in expressions"),
        ("lambda: 1", "`Lambda` is not allowed in expressions"),
        ("1 / 0", "division by zero"),
        ("xy + 1", "unknown name `xy` in expression (did you mean `x`?)"),
        ("y + 1", "unknown name `y` in expression; known: x"),
        ("x +", "invalid expression `x +`: invalid syntax"),
        ("(" * 201 + ")" * 201, "invalid expression `" + "(" * 201 + ")" * 201 + "`: too many nested parentheses"),
        ("x" * 600, "expression is longer than 500 characters"),
        ("1e308 * 10", "result is not a finite number"),
        ("(-1) ** 0.5", "result (6.123233995736766e-17+1j) is a complex number; expressions compute real numbers, text, true/false, null and lists"),
        ("float('nan')", "`float`: result is not a finite number"),
        ("int(1e300)", "`int`: integer value is too large (limit 1e+15)"),
    ],
)
def test_refuses(text, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate(text, {"x": [1]})
    assert str(caught.value) == message


def test_interpolation_keeps_type_of_a_whole_expression_and_formats_text_around_it():
    assert interpolate("${n * 2}", {"n": 4}) == 8
    assert interpolate("down${i}", {"i": 2}) == "down2"
    assert interpolate("plain", {}) == "plain"
    with pytest.raises(ExpressionError, match="unterminated"):
        interpolate("a${b", {"b": 1})
