"""Corners of the `${...}` evaluator: chained comparisons, and the integer bound |n| <= 10**15 on both sides.

Python's semantics are the reference for what is computed: `a < b < c` means `a < b and b < c` with `b`
evaluated once, and `-10**15` is `-(10**15)`. The bound applies to every intermediate integer, negative ones
included, whatever operation produced it (binary operators, unary minus, functions).
"""

import pytest

from kspec.builder.expressions import MAX_INT, ExpressionError, evaluate


@pytest.mark.parametrize(
    "text, names, value",
    [
        ("1 < x < 3", {"x": 2}, True),
        ("1 < x < 3", {"x": 3}, False),
        ("1 < x < 3", {"x": 0}, False),
        ("1 < 5 < 3", {}, False),  # true, then false: the second comparison starts from 5, not from 1
        ("3 > 1 < 2", {}, True),  # the middle operand is compared with both neighbours
        ("3 > 4 < 5", {}, False),
        ("1 <= x <= 1", {"x": 1}, True),
        ("0 < 1 < 2 < 3 < 2", {}, False),
        ("1 < 2 == 2 < 3", {}, True),
        ("1 < 2 != 2", {}, False),
        ("x == 1 == y", {"x": 1, "y": 1.0}, True),
        ("2 > 1 >= 1 > 0", {}, True),
        ("'a' < 'b' < 'c'", {}, True),
        ("not 1 < x < 3", {"x": 2}, False),
        ("1 < x < 3 and x != 2", {"x": 2}, False),
    ],
)
def test_chained_comparisons_mean_what_python_means(text, names, value):
    assert evaluate(text, names) is value


def test_a_chained_comparison_stops_at_the_first_false_one():
    # `1 > 2 < x`: the second comparison is never reached, so the unknown name is not an error (as in Python).
    assert evaluate("1 > 2 < unknown_name_never_read", {}) is False
    with pytest.raises(ExpressionError) as caught:
        evaluate("1 < 2 < 'a'", {})
    assert str(caught.value) == "cannot compare 2 with 'a'"


@pytest.mark.parametrize(
    "text, value",
    [
        ("10**15", MAX_INT),
        ("-10**15", -MAX_INT),  # -(10**15): at the bound, allowed
        ("-(10**15)", -MAX_INT),
        ("- -10**15", MAX_INT),
        ("999999999999999 + 1", MAX_INT),
        ("-999999999999999 - 1", -MAX_INT),
        ("-10**15 // 3", -333333333333334),  # floor division rounds towards -inf
        ("-10**15 % 7", (-10**15) % 7),
        ("abs(-10**15)", MAX_INT),
        ("min(-10**15, 0)", -MAX_INT),
        ("int(-1e15)", -MAX_INT),
        ("2**49 - 2**49", 0),
        ("10**15 + 0.5", 1e15 + 0.5),  # a float is bounded by finiteness only
        ("-10**15 - 1.0", -1e15 - 1),
        ("2**-64", 2.0**-64),
        ("round(2.5)", 2),  # Python's rounding: half to even
        ("round(-2.5)", -2),
    ],
)
def test_integers_at_the_bound_are_allowed(text, value):
    result = evaluate(text, {})
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(
    "text, names, message",
    [
        ("10**15 + 1", {}, "integer 1000000000000001 is too large (limit 1e+15)"),
        ("-10**15 - 1", {}, "integer -1000000000000001 is too large (limit 1e+15)"),
        ("-(10**15) - 1", {}, "integer -1000000000000001 is too large (limit 1e+15)"),
        ("1 - 10**15 - 2", {}, "integer -1000000000000001 is too large (limit 1e+15)"),
        ("-2**49 * 2", {}, "integer -1125899906842624 is too large (limit 1e+15)"),
        ("(-10)**15 * 10", {}, "integer -10000000000000000 is too large (limit 1e+15)"),
        ("min(-10**15, 0) - 1", {}, "integer -1000000000000001 is too large (limit 1e+15)"),
        ("int(-1e16)", {}, "`int`: integer -10000000000000000 is too large (limit 1e+15)"),
        ("-x", {"x": 10**16}, "integer -10000000000000000 is too large (limit 1e+15)"),
        ("+x", {"x": -(10**16)}, "integer -10000000000000000 is too large (limit 1e+15)"),
        ("2**64", {}, "integer 18446744073709551616 is too large (limit 1e+15)"),
        ("2**65", {}, "exponent 65 is too large (at most 64)"),
        ("2**-65", {}, "exponent -65 is too large (at most 64)"),
        ("(-2)**65", {}, "exponent 65 is too large (at most 64)"),
        ("-1e308 * 10", {}, "result is not a finite number"),
        ("-x", {"x": True}, "unary minus needs numbers. Received: True"),
        ("True + 1", {}, "arithmetic needs numbers. Received: True"),
    ],
)
def test_integers_past_the_bound_either_side_are_refused(text, names, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate(text, names)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "text, value",
    [
        ("7 // 2", 3),  # int // int stays an integer
        ("7 / 2", 3.5),  # true division is a float even when exact
        ("8 / 2", 4.0),
        ("2 * 1.5", 3.0),
        ("int(3.9)", 3),
        ("int(-3.9)", -3),  # int truncates towards zero
        ("floor(-3.5)", -4),
        ("ceil(-3.5)", -3),
        ("float(3)", 3.0),
        ("1 == 1.0", True),
        ("10**15 == 1e15", True),
    ],
)
def test_integer_and_float_results_keep_python_types(text, value):
    result = evaluate(text, {})
    assert result == value and type(result) is type(value)
