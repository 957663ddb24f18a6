"""The `${...}` evaluator: what it computes, and what it refuses (no code, no unbounded work)."""

import pytest

from kspec.builder.expressions import SHAPES, ExpressionError, Function, evaluate, interpolate


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


def test_spec_functions_see_only_their_arguments_and_other_functions():
    functions = {"half": Function("half", ["v"], "v // 2"), "quarter": Function("quarter", ["v"], "${half(half(v))}")}
    assert evaluate("quarter(n) + 1", {**functions, "n": 40}) == 11
    with pytest.raises(ExpressionError) as caught:
        evaluate("peek(1)", {"peek": Function("peek", ["v"], "v + n"), "n": 1})
    assert str(caught.value) == "in function `peek`: unknown name `n` in expression; known: v"


def test_function_calls_are_bounded_even_without_recursion():
    # f_k calls f_(k-1) twice: 2**14 calls for f14, each cheap, together too many.
    names = {"f0": Function("f0", ["v"], "v")}
    for k in range(1, 15):
        names[f"f{k}"] = Function(f"f{k}", ["v"], f"f{k - 1}(v) + f{k - 1}(v)")
    assert evaluate("f10(1)", names) == 1024
    with pytest.raises(ExpressionError) as caught:
        evaluate("f14(1)", names)
    assert str(caught.value) == "expression calls functions more than 10000 times"


def test_a_function_body_is_one_expression():
    with pytest.raises(ExpressionError) as caught:
        Function("f", ["v"], "${v} and ${v}")
    assert str(caught.value) == "a function body is one expression, like `${v * 2}`"


def test_shape_and_channels_ask_the_resolver_for_a_node_shape():
    names = {SHAPES: {"conv": (None, 8, 8, 16)}.__getitem__}
    assert evaluate("shape(conv)", names) == [None, 8, 8, 16]
    assert evaluate("channels(conv) * 2", names) == 32
