"""Resolve stage: params, blocks and repetition -> one plain `ModelGraph` per model.

- `params` are evaluated in order (spec level, then model level), so later ones may use earlier ones.
- A block call `{double_conv: {filters: 64}, name: down1}` expands the block's layers with its arguments in
  scope; inner nodes are named `down1.<inner name>` (`down1_<inner name>` with `name_separator: _`), and
  `down1` itself refers to the block's output.
- Groups `{repeat: N, as: i, layers: [...]}`, `{for: {f: [16, 32], s: [1, 2]}, as: i, layers: [...]}` (zipped
  lists, `i` the index) and `{if: "${cond}", layers: [...]}` expand their layers once per iteration; a group
  has no name of its own, and one that expands to nothing passes its input through.
- A node's inputs default to the previous node; `from:` names nodes or model inputs, in any order (checks
  reject cycles).
- `defaults:` (of the spec, then of the model) fill in the arguments a layer's node does not give.
- `trainable: false` on a block call or repeated group reaches every node inside it.
"""

import difflib

from kspec.builder.document import MarkedDict, MarkedList, format_path, mark_at, mark_of
from kspec.builder.applications import APPLICATION_OP, unknown_application
from kspec.builder.expressions import (BUILTIN_FUNCTIONS, SHAPES, ExpressionError, Function, interpolate,
                                      is_expression)
from kspec.builder.graph import InitFrom, LayerCall, ModelGraph, ModelInput, Node, ResolvedSpec
from kspec.builder.keras_catalog import layer_names, load_table, lookup_application, lookup_layer
from kspec.builder.schema import check_resolved_value
from kspec.errors import Problem, SpecError

MAX_NODES = 10_000
MAX_BLOCK_DEPTH = 16
_GROUP_KEYS = ("repeat", "for", "if")
_GROUP_WORDS = {"repeat": "a repeated group", "for": "a `for` group", "if": "an `if` group"}
_NODE_KEYS = {"name", "from", "as", "layers", "trainable", "init_from", *_GROUP_KEYS}
MODEL_OP = "model"  # `{model: encoder}` uses another model of the spec as a layer
PREVIOUS = "previous"  # in `from:`, the node before this one
_REFERENCES = "#/$defs/references"  # the schema of `from:` and `outputs:`


class _TooLarge(Exception):
    """Stops expanding a model that passed MAX_NODES (the problem is already recorded)."""


class _Ref:
    """A reference to a node or input: either a pending node object or a qualified name."""

    __slots__ = ("target", "written", "prefix", "path")

    def __init__(self, target, written=None, prefix="", path=""):
        # An unknown target is reported at `path` (its mark is looked up then).
        self.target, self.written, self.prefix, self.path = target, written, prefix, path


class _Pending:
    __slots__ = ("name", "auto_base", "layer", "refs", "mark", "path", "context", "prefix", "trainable", "init_from")

    def __init__(self, name, auto_base, layer, refs, mark, path, context, prefix, trainable=None, init_from=None):
        self.name, self.auto_base, self.layer, self.refs = name, auto_base, layer, refs
        self.mark, self.path, self.context, self.prefix = mark, path, context, prefix
        self.trainable, self.init_from = trainable, init_from


def resolve(document, file="<spec>"):
    """Resolves a schema-valid document into a `ResolvedSpec`; raises `SpecError` listing every problem."""
    problems = []
    functions = _define_functions(document, problems)
    if problems:  # every expression may call the functions: their problems come alone
        raise SpecError(problems)
    scope = _evaluate_params(document, ("params",), functions, problems)
    params = {name: value for name, value in scope.items() if not isinstance(value, Function)}
    defaults = _resolve_defaults(document, ("defaults",), scope, problems)
    models = {}
    for model_name in document.get("models", {}):
        models[model_name] = _ModelResolver(document, model_name, scope, defaults, problems).resolve()
    sections = {}
    for section in ("training", "data"):
        if section in document:
            try:
                sections[section] = _interpolate_deep(document[section], scope)
            except ExpressionError as error:
                path = _error_path((section,), error)
                problems.append(Problem(str(error), format_path(document, path), mark_at(document, path)))
    if problems:
        raise SpecError(problems)
    return ResolvedSpec(
        file=file,
        models=models,
        params=params,
        metadata=document.get("metadata", {}) or {},
        imports=list(document.get("imports", []) or []),
        training=sections.get("training"),
        data=sections.get("data"),
        document=document,
        defaults=list(defaults.values()) + [call for model in models.values() for call in model.defaults],
    )


def _define_functions(document, problems):
    """The spec's `functions:` as `{name: Function}`; a body that is not one expression, reads a name other
    than its parameters, or calls itself (directly or through others) is a problem at its `expr`."""
    functions = {}
    for name, definition in (document.get("functions") or {}).items():
        path = ("functions", name, "expr")
        try:
            if name in BUILTIN_FUNCTIONS:
                raise ExpressionError(f"`{name}` is a built-in function; choose another name")
            function = Function(name, definition.get("args") or [], definition["expr"])
            free = function.free_names()
            if free:
                raise ExpressionError(f"function `{name}` reads `{free[0]}`, which is not one of its parameters "
                                      f"({', '.join(function.parameters) or 'none'}); a function sees only its "
                                      "arguments")
        except ExpressionError as error:
            problems.append(Problem(str(error), format_path(document, path), mark_at(document, path)))
            continue
        functions[name] = function
    for name in functions:
        cycle = _call_cycle(name, functions, [name])
        if cycle:
            path = ("functions", name, "expr")
            through = f" (through {' -> '.join(cycle)})" if len(cycle) > 2 else ""
            problems.append(Problem(f"function `{name}` calls itself{through}; functions cannot recurse",
                                    format_path(document, path), mark_at(document, path)))
    return functions


def _call_cycle(start, functions, trail):
    for called in sorted(functions[trail[-1]].calls()):
        if called == start:
            return [*trail, called]
        if called in functions and called not in trail:
            cycle = _call_cycle(start, functions, [*trail, called])
            if cycle:
                return cycle
    return None


def _evaluate_params(document, path, scope, problems):
    values = dict(scope)
    raw = _get(document, path) or {}
    for name, value in raw.items():
        try:
            values[name] = _interpolate_deep(value, values)
        except ExpressionError as error:
            where = _error_path((*path, name), error)
            problems.append(Problem(str(error), format_path(document, where), mark_at(document, where)))
    return values


def _resolve_defaults(document, path, scope, problems):
    """`defaults:` at `path` -> {layer table key: `LayerCall` of the arguments}, values interpolated in `scope`."""
    raw = _get(document, path) or {}
    table = load_table()["layers"]
    found = {}
    for layer_name, arguments in raw.items():
        entry_path = (*path, layer_name)
        entry = lookup_layer(str(layer_name))
        if entry is None:
            close = difflib.get_close_matches(str(layer_name).lower(), layer_names(), n=1, cutoff=0.6)
            hint = f" (did you mean `{close[0]}`?)" if close else "; defaults are for layers of the catalog"
            problems.append(Problem(f"unknown layer `{layer_name}` in `defaults`{hint}", format_path(document, entry_path),
                                    mark_at(document, entry_path, of_key=True)))
            continue
        key = next(k for k, v in table.items() if v is entry)
        if key in found:
            problems.append(Problem(f"`defaults` name `{entry['name']}` twice (as `{found[key].path.rsplit('.', 1)[-1]}` "
                                    f"and `{layer_name}`); merge them", format_path(document, entry_path),
                                    mark_at(document, entry_path, of_key=True)))
            continue
        try:
            values = _interpolate_deep(arguments or {}, scope)
        except ExpressionError as error:
            where = _error_path(entry_path, error)
            problems.append(Problem(str(error), format_path(document, where), mark_at(document, where)))
            continue
        marks = {name: mark_at(document, (*entry_path, name)) for name in values}
        found[key] = LayerCall(key, dict(values), mark_at(document, entry_path, of_key=True),
                               format_path(document, entry_path), marks)
    return found


def _interpolate_deep(value, scope):
    """Interpolates every string below `value`; mappings and lists keep their marks.

    Raises:
        ExpressionError: with `path`, the keys and indices from `value` down to the failing expression.
    """
    if isinstance(value, dict):
        result = MarkedDict(mark=getattr(value, "mark", None))
        for key, item in value.items():
            result.set_marked(key, _interpolate_child(item, scope, key), mark_of(value, key, of_key=True),
                              mark_of(value, key))
        return result
    if isinstance(value, list):
        result = MarkedList([_interpolate_child(v, scope, i) for i, v in enumerate(value)],
                            mark=getattr(value, "mark", None))
        result.item_marks = list(getattr(value, "item_marks", []))
        return result
    return interpolate(value, scope)


def _interpolate_child(value, scope, key):
    try:
        return _interpolate_deep(value, scope)
    except ExpressionError as error:
        error.path = (key, *getattr(error, "path", ()))
        raise


def _error_path(path, error):
    return (*path, *getattr(error, "path", ()))


def contains_expression(value):
    """Whether `value` or anything inside it is a `${...}` string."""
    if isinstance(value, dict):
        return any(contains_expression(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_expression(v) for v in value)
    return is_expression(value)


def _get(document, path):
    node = document
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


class _ModelResolver:
    def __init__(self, document, name, spec_params, spec_defaults, problems):
        self.document = document
        self.name = name
        self.base = ("models", name)
        self.problems = problems
        self.pending = []
        self.aliases = {}  # block call name -> _Ref to the block's output
        self.explicit = {}  # qualified name -> _Pending
        self.block_stack = []
        self.reported = set()  # (message, path) of the problems recorded
        self.broken = set()  # names of nodes left out for a problem already recorded
        self.incomplete = False  # a repeat or block was left out: names inside it are unknown
        self.skipped = {}  # names inside `if` groups left out -> spec path of their `if`
        self.input_shapes = {}  # model input -> its declared shape with the batch axis (for `shape()`)
        self.shape_cache = {}  # id(_Pending) -> its static shape, or why it is unknown
        self.iterations = 0
        self.table = load_table()
        self.blocks = document.get("blocks", {}) or {}
        self.separator = document.get("name_separator", ".")  # between a block call's name and its nodes'
        self.scope = _evaluate_params(document, (*self.base, "params"), spec_params, problems)
        self.own_defaults = _resolve_defaults(document, (*self.base, "defaults"), self.scope, problems)
        self.defaults = dict(spec_defaults)
        for key, own in self.own_defaults.items():  # the model's entry wins argument by argument
            outer = spec_defaults.get(key)
            self.defaults[key] = own if outer is None else LayerCall(
                key, {**outer.args, **own.args}, own.mark, own.path, {**outer.arg_marks, **own.arg_marks})
        self.frozen_scopes = []  # `trainable:` of the block calls and repeated groups being expanded

    # -- helpers -------------------------------------------------------------------------------------
    def fail(self, message, path, context="", mark=None, shown_path=None):
        # A mistake inside a block body shows once, not once per call of the block.
        if (message, tuple(path)) in self.reported:
            return
        self.reported.add((message, tuple(path)))
        suffix = f" ({context})" if context else ""
        self.problems.append(Problem(message + suffix, shown_path or format_path(self.document, path),
                                     mark or mark_at(self.document, path)))

    def value(self, raw, scope, path, context="", schema=None):
        """Interpolates `raw` (deeply); on error records a problem and returns None.

        With `schema` (a pointer into the spec's JSON Schema), a value that came from `${...}` must also fit
        the type a literal written there must have; otherwise the problem is recorded and None returned.
        """
        try:
            value = _interpolate_deep(raw, scope)
        except ExpressionError as error:
            self.fail(str(error), _error_path(path, error), context)
            return None
        if schema is not None and contains_expression(raw):
            problems = check_resolved_value(self.document, path, value, schema)
            for problem in problems:
                self.fail(problem.message, path, context, problem.mark, problem.path)
            if problems:
                return None
        return value

    # -- model ---------------------------------------------------------------------------------------
    def resolve(self):
        model = self.document["models"][self.name]
        inputs = self.resolve_inputs(model)
        self.input_shapes = {i.name: (None, *i.shape) for i in inputs}
        first = _Ref(inputs[0].name) if len(inputs) == 1 else None
        try:
            last = self.expand(model["layers"], (*self.base, "layers"), self.scope, "", {}, first, "")
        except _TooLarge:
            return self.graph(model, inputs, [], [])
        names = self.assign_names()
        input_names = {i.name for i in inputs}
        for name in names.keys() & input_names:
            self.fail(f"node name `{name}` is also the name of a model input; rename one", names[name].path)
        outputs = self.resolve_outputs(model, last, names, input_names)
        nodes = []
        for pending in self.pending:
            refs = [self.lookup(ref, names, input_names, pending.context) for ref in pending.refs]
            nodes.append(
                Node(pending.name, pending.layer, [r for r in refs if r], pending.mark,
                     format_path(self.document, pending.path), pending.context, pending.trainable, pending.init_from)
            )
        return self.graph(model, inputs, nodes, outputs)

    def graph(self, model, inputs, nodes, outputs):
        init_from = self.init_from(model["init_from"], (*self.base, "init_from"), self.scope, "") \
            if model.get("init_from") is not None else None
        graph = ModelGraph(self.name, inputs, nodes, outputs, mark_at(self.document, self.base),
                           format_path(self.document, self.base), model.get("trainable"), init_from)
        graph.defaults = list(self.own_defaults.values())
        return graph

    def resolve_inputs(self, model):
        inputs = []
        for input_name, raw in model["inputs"].items():
            path = (*self.base, "inputs", input_name)
            shape_raw, dtype = (raw["shape"], raw.get("dtype", "float32")) if isinstance(raw, dict) else (raw, "float32")
            shape_path = (*path, "shape") if isinstance(raw, dict) else path
            shape = self.value(shape_raw, self.scope, shape_path, schema="#/$defs/shape")
            inputs.append(ModelInput(input_name, tuple(shape or ()), dtype, mark_at(self.document, path),
                                     format_path(self.document, path)))
        return inputs

    def resolve_outputs(self, model, last, names, input_names):
        if "outputs" not in model:
            return [self.lookup(last, names, input_names, "")] if last else []
        path = (*self.base, "outputs")
        raw = self.value(model["outputs"], self.scope, path, schema=_REFERENCES)
        raw = [raw] if isinstance(raw, str) else (raw or [])
        refs = [_Ref(name, name, "", path) for name in raw]
        return [r for r in (self.lookup(ref, names, input_names, "") for ref in refs) if r]

    # -- expansion -----------------------------------------------------------------------------------
    def expand(self, items, path, scope, prefix, block_inputs, previous, context):
        """Expands a list of nodes; returns a `_Ref` to the last one (the default input of what follows)."""
        outer = scope
        for index, item in enumerate(items):
            item_path = (*path, index)
            scope = {**outer, SHAPES: self.shape_lookup(prefix, block_inputs, previous)}
            ops = [key for key in item if key not in _NODE_KEYS]
            if MODEL_OP in ops and len(ops) == 1:
                ops = [MODEL_OP]
            if "layers" in item or any(key in item for key in _GROUP_KEYS):
                previous = self.expand_group(item, item_path, scope, prefix, block_inputs, previous, context, ops)
                continue
            if len(ops) != 1:
                found = ", ".join(f"`{op}`" for op in ops) or "none"
                self.fail(f"expected exactly one layer or block name in a node. Received: {found}", item_path, context)
                continue
            op = ops[0]
            if not isinstance(op, str):
                self.fail(f"expected a layer or block name. Received: {op!r}", item_path, context)
                continue
            name = self.node_name(item, item_path, scope, context)
            refs = self.node_refs(item, item_path, scope, prefix, block_inputs, previous, context)
            if refs is None:
                self.broken.add(prefix + name if name else None)
                continue
            trainable = self.node_trainable(item, item_path, scope, context)
            if op in self.blocks:
                self.frozen_scopes.append(trainable)
                try:
                    output = self.expand_block(op, item, item_path, scope, prefix, name, refs, context)
                finally:
                    self.frozen_scopes.pop()
                self.incomplete = self.incomplete or output is None
                previous = output or previous
                continue
            init_from = None
            if "init_from" in item and item["init_from"] is not None:
                if op != MODEL_OP:
                    self.fail("`init_from` loads weights into a `{model: ...}` node or a whole model (`models.NAME."
                              "init_from`); this node is a layer", (*item_path, "init_from"), context)
                    continue
                init_from = self.init_from(item["init_from"], (*item_path, "init_from"), scope, context)
            if op == MODEL_OP:
                layer = self.model_call(item[op], (*item_path, op), scope, context)
            elif op == APPLICATION_OP:
                layer = self.application_call(item[op], (*item_path, op), scope, context)
            else:
                layer = self.layer_call(op, item[op], (*item_path, op), scope, context)
            if layer is None:
                self.broken.add(prefix + name if name else None)
                continue
            qualified = prefix + name if name else None
            entry = self.table["layers"].get(layer.op)
            if entry:
                auto_base = entry["name"]
            elif op in (MODEL_OP, APPLICATION_OP):
                auto_base = layer.args["model"] if op == MODEL_OP else layer.args["name"].lower()
            else:
                auto_base = op.rsplit(".", 1)[-1].lower()
            pending = _Pending(qualified, auto_base, layer, refs, mark_at(self.document, item_path), item_path,
                               context, prefix, trainable, init_from)
            if qualified:
                self.register_name(qualified, pending, item_path, context)
            self.pending.append(pending)
            if len(self.pending) > MAX_NODES:
                self.fail(f"the model has more than {MAX_NODES} layers after repetition; is a `repeat` count too large?",
                          item_path, context)
                raise _TooLarge()
            previous = _Ref(pending)
        return previous

    def expand_group(self, item, path, scope, prefix, block_inputs, previous, context, ops):
        """Expands `{repeat|for|if: ..., layers: [...]}`; returns a `_Ref` to its last node.

        A group adds no name of its own: its nodes are named as if written in its place. Its input is `from:`
        (default: the previous node); a group that expands to nothing (`if` false, `repeat: 0`, `for` over
        empty lists) passes that input through.
        """
        kinds = [key for key in _GROUP_KEYS if key in item]
        if len(kinds) != 1 or "layers" not in item:
            if not kinds:
                message = "a group of `layers` needs one of `repeat: N`, `for: {...}` or `if: ...`"
            elif len(kinds) > 1:
                message = (f"a group takes one of `repeat`, `for` and `if`. Received: "
                           f"{', '.join(f'`{k}`' for k in kinds)}; nest one group in another to combine them")
            else:
                message = f"{_GROUP_WORDS[kinds[0]]} needs `layers: [...]`"
            self.fail(message, path, context)
            return previous
        kind = kinds[0]
        extra = (ops + [key for key in ("name", "init_from") if key in item]
                 + (["as"] if kind == "if" and "as" in item else []))
        if extra:
            allowed = f"`{kind}`, " + ("" if kind == "if" else "`as`, ") + "`from`, `trainable` and `layers`"
            self.fail(f"{_GROUP_WORDS[kind]} takes only {allowed}. Received also: {', '.join(f'`{k}`' for k in extra)}",
                      path, context)
            return previous
        if "from" in item:
            refs = self.node_refs(item, path, scope, prefix, block_inputs, previous, context)
            if refs:
                previous = refs[0]
        scopes = getattr(self, f"{kind}_scopes")(item, path, scope, context)
        if scopes is None:
            self.incomplete = True
            return previous
        if not scopes and kind == "if":
            self.remember_skipped(item["layers"], prefix, format_path(self.document, (*path, "if")))
        self.frozen_scopes.append(self.node_trainable(item, path, scope, context))
        try:
            return self.expand_iterations(item, path, prefix, block_inputs, previous, context, scopes, kind)
        finally:
            self.frozen_scopes.pop()

    def expand_iterations(self, item, path, prefix, block_inputs, previous, context, scopes, kind):
        for inner_scope in scopes:
            # Nested groups of nothing (`repeat: 0` inside) add no layers but still cost time: bound them too.
            self.iterations += 1
            if self.iterations > 10 * MAX_NODES:
                self.fail(f"repetitions nest to more than {10 * MAX_NODES} iterations", (*path, kind), context)
                raise _TooLarge()
            previous = self.expand(item["layers"], (*path, "layers"), inner_scope, prefix, block_inputs, previous,
                                   context)
        return previous

    def repeat_scopes(self, item, path, scope, context):
        count = self.value(item["repeat"], scope, (*path, "repeat"), context, schema="#/$defs/node/properties/repeat")
        if count is None:
            return None
        if count > MAX_NODES:
            self.fail(f"repeat count {count} exceeds the limit of {MAX_NODES} layers", (*path, "repeat"), context)
            return None
        variable = item.get("as", "i")
        return [{**scope, variable: iteration} for iteration in range(count)]

    def if_scopes(self, item, path, scope, context):
        condition = self.value(item["if"], scope, (*path, "if"), context)
        if not isinstance(condition, bool):  # the schema words the problem (checked only then: it is slow)
            self.value(item["if"], scope, (*path, "if"), context, schema="#/$defs/node/properties/if")
            return None
        return [scope] if condition else []

    def for_scopes(self, item, path, scope, context):
        lists = {}
        for variable, raw in item["for"].items():
            value = self.value(raw, scope, (*path, "for", variable), context,
                               schema="#/$defs/node/properties/for/additionalProperties")
            if value is None:
                return None
            lists[variable] = value
        if len({len(values) for values in lists.values()}) > 1:
            lengths = ", ".join(f"`{name}` has {len(values)}" for name, values in lists.items())
            self.fail(f"`for` zips lists of equal length. Received: {lengths}", (*path, "for"), context)
            return None
        index = item.get("as", "i")
        if "as" in item and index in lists:
            self.fail(f"`as: {index}` names the index, but `{index}` is also a variable of `for`; rename one",
                      (*path, "as"), context)
            return None
        scopes = []
        for position, values in enumerate(zip(*lists.values())):
            bound = {} if index in lists else {index: position}
            scopes.append({**scope, **bound, **dict(zip(lists, values))})
        return scopes

    def remember_skipped(self, items, prefix, where):
        """Records the literal names of a group left out by `if`, to explain references to them."""
        for item in items:
            if not isinstance(item, dict):
                continue
            name = item.get("name")
            if isinstance(name, str) and not is_expression(name):
                self.skipped.setdefault(prefix + name, where)
            if isinstance(item.get("layers"), list):
                self.remember_skipped(item["layers"], prefix, where)

    def expand_block(self, block_name, item, path, scope, prefix, name, refs, context):
        block = self.blocks[block_name]
        block_path = ("blocks", block_name)
        if block_name in self.block_stack:
            self.fail(f"block `{block_name}` calls itself (through {' -> '.join(self.block_stack)})", path, context)
            return None
        if len(self.block_stack) >= MAX_BLOCK_DEPTH:
            self.fail(f"blocks nest deeper than {MAX_BLOCK_DEPTH} calls", path, context)
            return None
        args = self.block_args(block_name, block, item, path, scope, context)
        if args is None:
            return None
        input_names = block.get("inputs") or ["input"]
        if len(refs) != len(input_names):
            self.fail(
                f"block `{block_name}` takes {len(input_names)} input(s) ({', '.join(input_names)}). "
                f"Received: {len(refs)} in `from`",
                (*path, "from") if "from" in item else path,
                context,
            )
            return None
        qualified = prefix + (name or self.auto_block_name(prefix, block_name))
        if qualified in self.aliases or qualified in self.explicit:
            # Before expanding: the block's own nodes would all be duplicates too, each reported.
            self.fail(f"duplicate name `{qualified}`", path, context)
            return None
        inner_context = f"in block `{block_name}` called as `{qualified}` at {format_path(self.document, path)}"
        self.block_stack.append(block_name)
        last = self.expand(block["layers"], (*block_path, "layers"), {**scope, **args}, qualified + self.separator,
                           dict(zip(input_names, refs)), refs[0], inner_context)
        self.block_stack.pop()
        if "output" in block:
            output = self.value(block["output"], {**scope, **args}, (*block_path, "output"), inner_context,
                                schema="#/$defs/block/properties/output")
            if output is None:
                return None
            last = _Ref(qualified + self.separator + str(output), str(output), qualified + self.separator,
                        (*block_path, "output"))
        self.aliases[qualified] = last
        return _Ref(qualified, qualified, "", path)

    def block_args(self, block_name, block, item, path, scope, context):
        declared = block.get("params") or {}
        given = item[block_name] or {}
        args, ok = {}, True
        misspelled = set()
        for arg_name in given:
            if arg_name not in declared:
                close = difflib.get_close_matches(str(arg_name), list(declared), n=1)
                misspelled.update(close)
                hint = f" (did you mean `{close[0]}`?)" if close else (
                    f"; it takes: {', '.join(declared)}" if declared else "; it takes no arguments")
                self.fail(f"block `{block_name}` has no argument `{arg_name}`{hint}", (*path, block_name, arg_name), context)
                ok = False
        for arg_name, default in declared.items():
            if arg_name in given:
                value = self.value(given[arg_name], scope, (*path, block_name, arg_name), context)
            elif default is None:
                if arg_name not in misspelled:
                    self.fail(f"block `{block_name}` needs argument `{arg_name}`", (*path, block_name), context)
                ok = False
                continue
            else:
                value = self.value(default, {**scope, **args}, ("blocks", block_name, "params", arg_name), context)
            args[arg_name] = value
        return args if ok else None

    def auto_block_name(self, prefix, block_name):
        taken = set(self.aliases) | set(self.explicit)
        candidate, counter = block_name, 0
        while prefix + candidate in taken:
            counter += 1
            candidate = f"{block_name}_{counter}"
        return candidate

    # -- nodes ---------------------------------------------------------------------------------------
    def node_name(self, item, path, scope, context):
        if "name" not in item:
            return None
        name = self.value(item["name"], scope, (*path, "name"), context)
        if name is None:  # the expression failed (reported) or gave null: the node is named automatically
            return None
        if (not isinstance(name, str) or not name or "/" in name or "." in name or name == PREVIOUS
                or not name.isprintable() or any(c.isspace() for c in name)):
            self.fail(f"expected a node name without `/`, `.`, spaces or control characters, other than "
                      f"`{PREVIOUS}`. Received: name={name!r}", (*path, "name"), context)
            return None
        return name

    def node_trainable(self, item, path, scope, context):
        """A node's `trainable:`, else that of the innermost enclosing block call or group that sets one."""
        if "trainable" in item:
            value = self.value(item["trainable"], scope, (*path, "trainable"), context,
                               schema="#/$defs/node/properties/trainable")
            if value is not None:
                return value
        return next((value for value in reversed(self.frozen_scopes) if value is not None), None)

    def init_from(self, raw, path, scope, context):
        """`init_from:` as an `InitFrom`: a string is a run directory or, ending in .keras / .h5, a weights file."""
        value = self.value(raw, scope, path, context, schema="#/$defs/init_from")
        if value is None:
            return None
        mark, shown = mark_at(self.document, path), format_path(self.document, path)
        if isinstance(value, str):
            value = {"file" if value.endswith((".keras", ".h5")) else "run": value}
        if ("run" in value) == ("file" in value):
            self.fail("`init_from` takes one of `run: RUN_DIR` and `file: PATH`. Received: "
                      + (" and ".join(f"`{k}`" for k in ("run", "file") if k in value) or "neither"), path, context)
            return None
        if "file" in value and not str(value["file"]).endswith((".keras", ".h5")):
            self.fail(f"expected a .keras or .weights.h5 file. Received: file={value['file']!r}", (*path, "file"),
                      context)
            return None
        if "file" in value and "checkpoint" in value:
            self.fail("`checkpoint` picks the checkpoint of a run; with `file:` remove it", (*path, "checkpoint"),
                      context)
            return None
        return InitFrom(run=value.get("run"), file=value.get("file"), model=value.get("model"),
                        checkpoint=value.get("checkpoint", "best"), strict=value.get("strict", True),
                        exclude=tuple(value.get("exclude") or ()), path=shown, mark=mark)

    def application_call(self, raw, path, scope, context):
        """`application: {name: MobileNetV2, ...}` -> a `LayerCall` whose op is `application`."""
        args = self.value(raw, scope, path, context, schema="#/$defs/node/properties/application")
        if args is None:
            return None
        if lookup_application(args["name"]) is None:
            self.fail(unknown_application(args["name"]), (*path, "name"), context)
            return None
        args["name"] = lookup_application(args["name"])["name"]
        return self.make_call(APPLICATION_OP, dict(args), path)

    def node_refs(self, item, path, scope, prefix, block_inputs, previous, context):
        if "from" not in item:
            if previous is None:
                self.fail("the first layer of a model with several inputs needs `from:` naming its input(s)", path, context)
                return None
            return [previous]
        raw = self.value(item["from"], scope, (*path, "from"), context, schema=_REFERENCES)
        if raw is None:
            return None
        names = [raw] if isinstance(raw, str) else raw
        refs = []
        for position, written in enumerate(names):
            ref_path = (*path, "from") if isinstance(raw, str) else (*path, "from", position)
            if not isinstance(written, str):
                self.fail(f"expected a node name. Received: {written!r}", ref_path, context)
                return None
            if written == PREVIOUS:
                if previous is None:
                    self.fail("`previous` has no node before it here; name the input", ref_path, context)
                    return None
                refs.append(previous)
            elif written in block_inputs:
                refs.append(block_inputs[written])
            else:
                refs.append(_Ref(prefix + written, written, prefix, ref_path))
        return refs

    def register_name(self, qualified, pending, path, context):
        if qualified in self.explicit or qualified in self.aliases:
            first = self.explicit.get(qualified)
            where = f" (first at line {first.mark.line})" if first is not None and first.mark else ""
            hint = ""
            if first is not None and first.path == path:
                hint = "; inside `repeat`, put the counter in the name, like `name: conv${i}`"
            self.fail(f"duplicate node name `{qualified}`{where}{hint}", path, context)
            return
        self.explicit[qualified] = pending

    def model_call(self, raw, path, scope, context):
        name = self.value(raw, scope, path, context, schema="#/$defs/node/properties/model")
        if name is None:
            return None
        models = self.document.get("models", {})
        if name == self.name or name not in models:
            others = [m for m in models if m != self.name]
            close = difflib.get_close_matches(str(name), others, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else (f"; models: {', '.join(others)}" if others else "")
            reason = "a model cannot contain itself" if name == self.name else f"unknown model '{name}'{hint}"
            self.fail(reason, path, context)
            return None
        return LayerCall(MODEL_OP, {"model": name}, mark_at(self.document, path[:-1]), format_path(self.document, path))

    def layer_call(self, op, raw_args, path, scope, context):
        entry = lookup_layer(op)
        if entry is None and "." in op:
            module = op.rsplit(".", 1)[0]
            if module not in (self.document.get("imports") or []):
                self.fail(f"`{op}` names a user layer from module `{module}`, which is not listed in `imports:`",
                          path[:-1], context)
                return None
            args = self.value(raw_args or {}, scope, path, context)
            return None if args is None else self.make_call(op, args, path)
        if entry is None:
            candidates = layer_names() + list(self.blocks)
            close = difflib.get_close_matches(op.lower(), candidates, n=2, cutoff=0.6)
            hint = " (did you mean " + " or ".join(f"`{c}`" for c in close) + "?)" if close else ""
            self.fail(f"unknown layer or block `{op}`{hint}", path[:-1], context)
            return None
        key = next(k for k, v in self.table["layers"].items() if v is entry)
        if raw_args is not None and not isinstance(raw_args, dict):
            self.fail(f"expected a mapping of arguments. Received: {raw_args!r}", path, context)
            return None
        defaults = self.defaults.get(key)
        # A node's own argument wins over a default; an argument the layer does not take is reported once, at
        # the `defaults:` entry, so it is not passed on here.
        inherited = {name: value for name, value in (defaults.args if defaults else {}).items()
                     if name not in (raw_args or {}) and name in entry["arguments"]}
        args = {}
        for arg_name, raw in (raw_args or {}).items():
            spec = entry["arguments"].get(arg_name, {})
            if spec.get("type") in ("layer", "layer_or_null") and isinstance(raw, dict):
                nested = [k for k in raw]
                if len(nested) != 1:
                    self.fail(f"expected one layer such as `{{lstm: {{units: 32}}}}`. Received: {arg_name}={raw!r}",
                              (*path, arg_name), context)
                    return None
                inner = self.layer_call(nested[0], raw[nested[0]], (*path, arg_name, nested[0]), scope, context)
                if inner is None:
                    return None
                args[arg_name] = inner
                continue
            value = self.value(raw, scope, (*path, arg_name), context)
            if value is None and raw is not None:
                return None
            args[arg_name] = value
        call = self.make_call(key, {**inherited, **args}, path)
        if inherited:
            call.arg_marks.update({name: defaults.arg_marks.get(name, defaults.mark) for name in inherited})
            call.defaulted = frozenset(inherited)
        return call

    def make_call(self, op, args, path):
        arg_marks = {name: mark_at(self.document, (*path, name)) for name in args}
        return LayerCall(op, args, mark_at(self.document, path[:-1]), format_path(self.document, path), arg_marks)

    # -- static shapes in expressions ------------------------------------------------------------------
    def shape_lookup(self, prefix, block_inputs, previous):
        """The `name -> static shape` function that `shape()` and `channels()` call at one place of the spec.

        Only nodes expanded before that place have shapes: they are inferred on demand with the rules of
        `builder/shapes.py`, from the arguments as resolved (checks come later, so arguments that those rules
        cannot read make the shape unknown here, and the checks report them).
        """

        def lookup(written):
            if written == PREVIOUS and previous is not None:
                ref = previous
            elif written in block_inputs:
                ref = block_inputs[written]
            else:
                ref = _Ref(prefix + written, written, prefix)
            shape = self.static_shape(ref)
            if shape is None:
                visible = [n[len(prefix):] for n in [*self.explicit, *self.aliases, *self.input_shapes]
                           if n.startswith(prefix)] + list(block_inputs)
                close = difflib.get_close_matches(written, visible, n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                raise ExpressionError(f"unknown node `{written}`{hint}; `shape()` and `channels()` read nodes "
                                      "and inputs defined before this one")
            if isinstance(shape, str):
                raise ExpressionError(f"the shape of `{written}` is not known statically: {shape}")
            return shape

        return lookup

    def static_shape(self, ref):
        """The shape of what `ref` names: a tuple, a string saying why it is unknown, or None for no such node."""
        target = self.shape_target(ref)
        if not isinstance(target, _Pending):
            return self.input_shapes.get(target)
        # Nodes are expanded after their inputs (a `from:` naming a later node leaves it unknown here), so
        # one pass in expansion order, without recursion, infers every node up to the one asked for.
        for pending in self.pending[len(self.shape_cache):]:
            self.shape_cache[id(pending)] = self.pending_shape(pending)
        return self.shape_cache[id(target)]

    def shape_target(self, ref):
        """The `_Pending` or model input name `ref` stands for so far, following block names to their output."""
        seen = set()
        while isinstance(ref.target, str) and ref.target in self.aliases and ref.target not in seen:
            seen.add(ref.target)
            ref = self.aliases[ref.target]
        return self.explicit.get(ref.target, ref.target) if isinstance(ref.target, str) else ref.target

    def pending_shape(self, pending):
        from kspec.builder.shapes import ShapeConflict, Unchecked, layer_output

        inputs = []
        for ref in pending.refs:
            target = self.shape_target(ref)
            inputs.append(self.shape_cache.get(id(target)) if isinstance(target, _Pending)
                          else self.input_shapes.get(target))
        if pending.layer.op == MODEL_OP:
            return "it is a model used as a layer"
        if any(not isinstance(shape, tuple) for shape in inputs):
            return "an input of it has no static shape"
        try:
            shape, _ = layer_output(pending.layer, inputs)
        except (Unchecked, ShapeConflict) as reason:
            return str(reason)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return "its arguments do not fit its layer"  # reported by the checks that follow
        return "it has several outputs" if isinstance(shape, list) else shape

    # -- names and references ------------------------------------------------------------------------
    def assign_names(self):
        taken = set(self.explicit) | set(self.aliases)
        counters = {}
        names = {}
        for pending in self.pending:
            if pending.name is None:
                base = pending.prefix + pending.auto_base
                counter = counters.get(base, 0)
                candidate = base if counter == 0 else f"{base}_{counter}"
                while candidate in taken:
                    counter += 1
                    candidate = f"{base}_{counter}"
                counters[base] = counter + 1
                pending.name = candidate
                taken.add(candidate)
            names[pending.name] = pending
        return names

    def lookup(self, ref, names, input_names, context):
        seen = set()
        while isinstance(ref.target, str) and ref.target in self.aliases and ref.target not in seen:
            seen.add(ref.target)
            ref = self.aliases[ref.target]
        if isinstance(ref.target, _Pending):
            return ref.target.name
        target = ref.target
        if target in names or target in input_names:
            return target
        if target in self.broken or self.incomplete:
            return None  # the node was left out for a problem already reported
        prefix = ref.prefix
        visible = [n[len(prefix):] for n in list(names) + list(self.aliases) + list(input_names) if n.startswith(prefix)]
        written = ref.written or target
        close = difflib.get_close_matches(written, visible, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        if target in self.skipped:
            hint = f": it is in an `if` group whose condition is false ({self.skipped[target]})"
        path = ref.path or ()
        self.fail(f"unknown node '{written}'{hint}", path, context if prefix else "")
        return None

