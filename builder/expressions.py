"""A small, bounded evaluator for `${...}` expressions in specs.

Specs may compute values from params (`filters: ${base * 2**i}`). Python's `eval` would let a spec run
arbitrary code, so expressions are parsed with `ast` and only a whitelist of node types is walked: numbers,
strings, booleans, names of params, arithmetic, comparisons, `and`/`or`/`not`, `a if c else b`, lists,
indexing a list with an integer, the functions below, a spec's own `functions:` (`Function`, pure and
non-recursive), and `shape(node)` / `channels(node)` where the resolver supplies static shapes. No attribute
access, no other calls, and every intermediate value and the number of calls are bounded, so that `9**9**9`,
`'a' * 10**9` or functions that call each other twice at every level fail at once instead of hanging.
"""

import ast
import functools
import math
import operator
import re

MAX_EXPRESSION_CHARS = 500
MAX_INT = 10**15
MAX_EXPONENT = 64
MAX_STRING = 1_000
MAX_LIST = 10_000
MAX_CALLS = 10_000  # calls of spec functions in one expression
SHAPES = "$shapes"  # scope key of the resolver's `name -> static shape` lookup (not a valid identifier)
SHAPE_FUNCTIONS = ("shape", "channels")


class ExpressionError(ValueError):
    """An expression is malformed, refers to an unknown name, or leaves the bounds."""


def _round(value, digits=0):
    return round(value, digits) if digits else round(value)


_FUNCTIONS = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "float": float,
    "round": _round,
    "len": len,
    "floor": math.floor,
    "ceil": math.ceil,
    "sqrt": math.sqrt,
    "log2": math.log2,
}

BUILTIN_FUNCTIONS = (*_FUNCTIONS, *SHAPE_FUNCTIONS)

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")


class _CallLimit(ExpressionError):
    """An expression made more than MAX_CALLS function calls."""


def is_expression(value):
    return isinstance(value, str) and "${" in value


def evaluate(text, names):
    """Evaluates one expression (the text inside `${...}`) with `names` in scope.

    Args:
        text: the expression, for example `"base * 2**i"`.
        names: mapping of the names it may use to their values.

    Returns:
        The value (int, float, bool, str, None or list).

    Example:
    >>> evaluate("base * 2**i", {"base": 16, "i": 3})
    128
    """
    tree = _parse(text)
    try:
        return _Evaluator(names).visit(tree.body)
    except RecursionError:
        raise ExpressionError("expression nests too deeply") from None


@functools.lru_cache(maxsize=4096)
def _parse(text):
    """The syntax tree of an expression (cached: a block's expressions repeat at every call; never mutated)."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"invalid expression `{text.strip()}`: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression nests too deeply") from None


class Function:
    """A spec's function: named parameters and one pure expression, callable in expressions by its name.

    The body sees its arguments and the functions only (no params, no shapes), so a call means the same
    wherever it is written. Put a `Function` in the names an expression is evaluated with to make it callable.

    Args:
        name: the function's name.
        parameters: its parameter names.
        body: one expression, with or without `${...}` around it.

    Raises:
        ExpressionError: the body is not one valid expression.

    Example:
    >>> double = Function("double", ["v"], "${v * 2}")
    >>> evaluate("double(21)", {"double": double})
    42
    """

    def __init__(self, name, parameters, body):
        text = body.strip()
        whole = _INTERPOLATION.fullmatch(text)
        if whole:
            text = whole.group(1)
        elif "${" in text:
            raise ExpressionError("a function body is one expression, like `${v * 2}`")
        self.name, self.parameters, self.tree = name, list(parameters), _parse(text)

    def calls(self):
        """Names this body calls."""
        return {node.func.id for node in ast.walk(self.tree) if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)}

    def free_names(self):
        """Names the body reads that are not its parameters (an error: the body sees nothing else)."""
        called = {id(node.func) for node in ast.walk(self.tree) if isinstance(node, ast.Call)}
        return sorted({node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name)
                       and id(node) not in called and node.id not in self.parameters
                       and node.id not in ("true", "false", "null")})


def interpolate(value, names):
    """Replaces `${...}` in a string.

    A string that is exactly one `${expr}` becomes the expression's value with its type (`"${n * 2}"` -> 8);
    text around expressions makes a string (`"down${i}"` -> `"down2"`). Other values pass through.
    """
    if not is_expression(value):
        return value
    whole = _INTERPOLATION.fullmatch(value.strip())
    if whole:
        return evaluate(whole.group(1), names)
    # Each whole `${...}` becomes a space, not nothing: `$${a}{` must not join its neighbours into a new `${`.
    if "${" in _INTERPOLATION.sub(" ", value):
        raise ExpressionError(f"unterminated or nested `${{` in {value!r}; write `${{expression}}`")
    result = _INTERPOLATION.sub(lambda m: _as_text(evaluate(m.group(1), names)), value)
    if len(result) > MAX_STRING:
        raise ExpressionError(f"string is longer than {MAX_STRING} characters")
    return result


def _as_text(value):
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


class _Evaluator(ast.NodeVisitor):
    def __init__(self, names, calls=None):
        self.names = names
        self.calls = calls if calls is not None else [0]  # shared with the evaluators of called functions

    def generic_visit(self, node):
        raise ExpressionError(f"`{type(node).__name__}` is not allowed in expressions")

    def visit_Constant(self, node):
        if isinstance(node.value, (bool, int, float, str)) or node.value is None:
            return _bounded(node.value)
        raise ExpressionError(f"constant {node.value!r} is not allowed in expressions")

    def visit_Name(self, node):
        if isinstance(self.names.get(node.id), Function):
            raise ExpressionError(f"`{node.id}` is a function; call it like `{node.id}(...)`")
        if node.id in self.names:
            return self.names[node.id]
        if node.id in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[node.id]
        raise ExpressionError(_unknown_name(node.id, self.names))

    def visit_List(self, node):
        if len(node.elts) > MAX_LIST:
            raise ExpressionError(f"list is longer than {MAX_LIST} items")
        return [self.visit(element) for element in node.elts]

    visit_Tuple = visit_List

    def visit_UnaryOp(self, node):
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        _require_number(operand, "unary minus" if isinstance(node.op, ast.USub) else "unary plus")
        return _bounded(-operand if isinstance(node.op, ast.USub) else +operand)

    def visit_BinOp(self, node):
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator `{type(node.op).__name__}` is not allowed in expressions")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
            return _bounded(left + right)
        _require_number(left, "arithmetic")
        _require_number(right, "arithmetic")
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ExpressionError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
        try:
            return _bounded(op(left, right))
        except ZeroDivisionError:
            raise ExpressionError("division by zero") from None
        except OverflowError:
            raise ExpressionError("number is too large") from None

    def visit_BoolOp(self, node):
        if isinstance(node.op, ast.And):
            result = True
            for value in node.values:
                result = self.visit(value)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = self.visit(value)
            if result:
                return result
        return result

    def visit_Compare(self, node):
        left = self.visit(node.left)
        for op_node, right_node in zip(node.ops, node.comparators):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise ExpressionError(f"comparison `{type(op_node).__name__}` is not allowed in expressions")
            right = self.visit(right_node)
            try:
                if not op(left, right):
                    return False
            except TypeError:
                raise ExpressionError(f"cannot compare {left!r} with {right!r}") from None
            left = right
        return True

    def visit_IfExp(self, node):
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Subscript(self, node):
        container, index = self.visit(node.value), self.visit(node.slice)
        if not isinstance(container, list) or isinstance(index, bool) or not isinstance(index, int):
            raise ExpressionError("only a list indexed by an integer is allowed, like `sizes[i]`")
        if not -len(container) <= index < len(container):
            raise ExpressionError(f"index {index} is out of range for a list of {len(container)}")
        return container[index]

    def visit_Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        target = self.names.get(name)
        if not isinstance(target, Function) and name not in _FUNCTIONS and name not in SHAPE_FUNCTIONS:
            spec_functions = [key for key, value in self.names.items() if isinstance(value, Function)]
            allowed = ", ".join(sorted([*_FUNCTIONS, *SHAPE_FUNCTIONS, *spec_functions]))
            raise ExpressionError(f"only these functions may be called: {allowed}")
        if node.keywords:
            raise ExpressionError(f"`{name}` takes no keyword arguments here")
        if name in SHAPE_FUNCTIONS and not isinstance(target, Function):
            return self.shape_call(name, node.args)
        args = [self.visit(arg) for arg in node.args]
        if isinstance(target, Function):
            return self.call_function(target, args)
        try:
            return _bounded(_FUNCTIONS[name](*args))
        except (TypeError, ValueError, OverflowError) as error:
            raise ExpressionError(f"`{name}`: {error}") from None

    def call_function(self, function, args):
        if len(args) != len(function.parameters):
            raise ExpressionError(f"`{function.name}` takes {len(function.parameters)} argument(s) "
                                  f"({', '.join(function.parameters)}). Received: {len(args)}")
        self.calls[0] += 1
        if self.calls[0] > MAX_CALLS:
            raise _CallLimit(f"expression calls functions more than {MAX_CALLS} times")
        functions = {key: value for key, value in self.names.items() if isinstance(value, Function)}
        inner = _Evaluator({**functions, **dict(zip(function.parameters, args))}, self.calls)
        try:
            return inner.visit(function.tree.body)
        except _CallLimit:
            raise  # the whole expression's budget: no single function is to blame
        except ExpressionError as error:
            raise ExpressionError(f"in function `{function.name}`: {error}") from None

    def shape_call(self, name, args):
        """`shape(node)`: the node's static shape as a list (batch axis first, null where unknown);
        `channels(node)`: its last axis."""
        if len(args) != 1 or not isinstance(args[0], ast.Name):
            raise ExpressionError(f"`{name}` takes one node name, like `{name}(conv1)`")
        lookup = self.names.get(SHAPES)
        if lookup is None:
            raise ExpressionError(f"`{name}()` works in a model's layers only, where earlier nodes have shapes")
        node_name = args[0].id
        shape = lookup(node_name)
        if name == "shape":
            return list(shape)
        if shape[-1] is None:
            raise ExpressionError(f"the channels (last axis) of `{node_name}` are not known statically: "
                                  f"its shape is {_shape_text(shape)}")
        return shape[-1]


def _shape_text(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _require_number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"{what} needs numbers. Received: {value!r}")


def _bounded(value):
    if isinstance(value, bool) or value is None:
        return value
    if not isinstance(value, (int, float, str, list)):
        # `(-1) ** 0.5` is a complex number in Python; a spec has no use for one.
        kind = "a complex number" if isinstance(value, complex) else f"of type {type(value).__name__}"
        raise ExpressionError(f"result {value!r} is {kind}; expressions compute real numbers, text, true/false, "
                              "null and lists")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise ExpressionError(f"integer {value if abs(value) < 10**30 else 'value'} is too large (limit {MAX_INT:.0e})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("result is not a finite number")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise ExpressionError(f"string is longer than {MAX_STRING} characters")
    return value


def _unknown_name(name, names):
    import difflib

    message = f"unknown name `{name}` in expression"
    names = [key for key, value in names.items() if key != SHAPES and not isinstance(value, Function)]
    close = difflib.get_close_matches(name, list(names), n=1)
    if close:
        message += f" (did you mean `{close[0]}`?)"
    elif names:
        message += "; known: " + ", ".join(sorted(names)[:12])
    return message
