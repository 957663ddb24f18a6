"""The resolve stage's language: `if`/`for` groups, `functions:`, `shape()`/`channels()` (builder/resolver.py)."""

import pytest
from support import run_cli

from kspec import builder


def _graph(write_spec, text, model="net"):
    spec = builder.load_spec(write_spec(text))
    graph = spec.models[model]
    return [(node.name, node.layer.op, node.inputs) for node in graph.nodes], spec.shapes[model]


def _error(write_spec, text):
    path = write_spec(text)
    result = run_cli("validate", path)
    assert result.exit_code == 1
    return result.stderr.strip().replace(path, "spec.yaml")


GROUPS = """kspec: 1
params: {widths: [4, 8], strides: [1, 2], norm: true}
models:
  net:
    inputs: {x: [8, 8, 3]}
    layers:
      - for: {f: "${widths}", s: "${strides}"}
        as: k
        layers:
          - {name: "conv${k}", conv2d: {filters: "${f}", kernel_size: 3, strides: "${s}", padding: same}}
      - if: "${norm}"
        layers:
          - {name: bn, batch_normalization: {}}
      - if: "${not norm}"
        layers:
          - {name: dropped, dropout: {rate: 0.5}}
      - {name: out, flatten: {}}
"""


def test_for_zips_lists_with_an_index_and_if_keeps_or_skips_its_layers(write_spec):
    nodes, shapes = _graph(write_spec, GROUPS)
    assert nodes == [("conv0", "conv2d", ["x"]), ("conv1", "conv2d", ["conv0"]),
                     ("bn", "batchnormalization", ["conv1"]), ("out", "flatten", ["bn"])]
    assert shapes.shape("conv1") == (None, 4, 4, 8)


def test_a_skipped_if_group_passes_its_input_through_from_its_from(write_spec):
    text = """kspec: 1
params: {residual: false}
models:
  net:
    inputs: {x: [4]}
    layers:
      - {name: a, dense: {units: 4}}
      - {name: b, dense: {units: 4}}
      - if: "${residual}"
        from: a
        layers:
          - {name: sum, add: {}, from: [a, b]}
      - {name: out, concatenate: {}, from: [previous, b]}
"""
    nodes, _ = _graph(write_spec, text)
    assert nodes[-1] == ("out", "concatenate", ["a", "b"])  # the skipped group's output is its input, `a`
    nodes, _ = _graph(write_spec, text.replace("residual: false", "residual: true"))
    assert nodes[-2:] == [("sum", "add", ["a", "b"]), ("out", "concatenate", ["sum", "b"])]


def test_groups_nest_in_blocks_and_under_repeat(write_spec):
    nodes, _ = _graph(write_spec, """kspec: 1
blocks:
  stage:
    params: {widths: null, project: false}
    layers:
      - for: {w: "${widths}"}
        layers:
          - {name: "c${i}", dense: {units: "${w}"}}
      - if: "${project}"
        layers:
          - {name: proj, dense: {units: 2}}
models:
  net:
    inputs: {x: [3]}
    layers:
      - repeat: 2
        as: r
        layers:
          - {name: "s${r}", stage: {widths: [4, 5], project: "${r == 1}"}}
""")
    assert [name for name, _, _ in nodes] == ["s0.c0", "s0.c1", "s1.c0", "s1.c1", "s1.proj"]


@pytest.mark.parametrize("replace, expected", [
    (('"${norm}"', '"${widths}"'),
     "spec.yaml:11:13: models.net.layers[1].if: expected true or false. Received: if=[4, 8]"),
    (('{f: "${widths}", s: "${strides}"}', '{f: "${norm}", s: "${strides}"}'),
     "spec.yaml:7:18: models.net.layers[0].for.f: expected a list. Received: f=true"),
    (('strides: [1, 2]', 'strides: [1, 2, 2]'),
     "spec.yaml:7:14: models.net.layers[0].for: `for` zips lists of equal length. Received: `f` has 2, `s` has 3"),
    (("        as: k\n", "        as: f\n"),
     "spec.yaml:8:13: models.net.layers[0].as: `as: f` names the index, but `f` is also a variable of `for`; "
     "rename one"),
    (("{name: out, flatten: {}}", "{name: out, flatten: {}, from: dropped}"),
     "spec.yaml:17:40: models.net.layers[out].from: unknown node 'dropped': it is in an `if` group whose "
     "condition is false (models.net.layers[2].if)"),
    (('      - if: "${norm}"\n', '      - if: "${norm}"\n        repeat: 2\n'),
     "spec.yaml:11:9: models.net.layers[1]: a group takes one of `repeat`, `for` and `if`. Received: `repeat`, "
     "`if`; nest one group in another to combine them"),
    (('      - if: "${norm}"\n', '      - if: "${norm}"\n        as: j\n'),
     "spec.yaml:11:9: models.net.layers[1]: an `if` group takes only `if`, `from`, `trainable` and `layers`. Received also: `as`"),
])
def test_bad_groups_fail_with_one_line(write_spec, replace, expected):
    assert _error(write_spec, GROUPS.replace(*replace)) == expected


FUNCTIONS = """kspec: 1
functions:
  round_to: {args: [v, d], expr: "${max(d, int(v + d / 2) // d * d)}"}
  make_divisible:
    description: MobileNet's rounding of widths; never more than 10% below `v`
    args: [v, d]
    expr: "${round_to(v, d) + (d if round_to(v, d) < 0.9 * v else 0)}"
params: {alpha: 0.35, stem: "${make_divisible(32 * alpha, 8)}"}
models:
  net:
    inputs: {x: [3]}
    layers:
      - {name: out, dense: {units: "${make_divisible(stem * 6, 8)}"}}
"""


def test_functions_compute_params_and_arguments_and_call_each_other(write_spec):
    spec = builder.load_spec(write_spec(FUNCTIONS))
    assert spec.params == {"alpha": 0.35, "stem": 16}  # Keras' _make_divisible(32 * 0.35, 8)
    assert spec.models["net"].nodes[0].layer.args["units"] == 96


@pytest.mark.parametrize("replace, expected", [
    (('expr: "${max(d, int(v + d / 2) // d * d)}"', 'expr: "${round_to(v, d)}"'),
     "spec.yaml:3:34: functions.round_to.expr: function `round_to` calls itself; functions cannot recurse"),
    (('expr: "${max(d, int(v + d / 2) // d * d)}"', 'expr: "${make_divisible(v, d)}"'),
     "spec.yaml:3:34: functions.round_to.expr: function `round_to` calls itself (through round_to -> "
     "make_divisible -> round_to); functions cannot recurse\n"
     "spec.yaml:7:11: functions.make_divisible.expr: function `make_divisible` calls itself (through "
     "make_divisible -> round_to -> make_divisible); functions cannot recurse"),
    (('expr: "${max(d, int(v + d / 2) // d * d)}"', 'expr: "${max(d, alpha)}"'),
     "spec.yaml:3:34: functions.round_to.expr: function `round_to` reads `alpha`, which is not one of its "
     "parameters (v, d); a function sees only its arguments"),
    (("  round_to: {", "  max: {"),
     "spec.yaml:3:29: functions.max.expr: `max` is a built-in function; choose another name"),
    (('"${make_divisible(stem * 6, 8)}"', '"${make_divisible(stem)}"'),
     "spec.yaml:13:36: models.net.layers[out].dense.units: `make_divisible` takes 2 argument(s) (v, d). "
     "Received: 1"),
    (('"${make_divisible(stem * 6, 8)}"', '"${make_divisible(stem, 0)}"'),
     "spec.yaml:13:36: models.net.layers[out].dense.units: in function `make_divisible`: in function `round_to`: "
     "division by zero"),
    (('"${make_divisible(stem * 6, 8)}"', '"${make_divisible}"'),
     "spec.yaml:13:36: models.net.layers[out].dense.units: `make_divisible` is a function; call it like "
     "`make_divisible(...)`"),
])
def test_bad_functions_fail_with_one_line(write_spec, replace, expected):
    assert _error(write_spec, FUNCTIONS.replace(*replace)) == expected


SHAPES = """kspec: 1
blocks:
  inverted_residual:
    params: {expansion: 6, filters: null}
    layers:
      - {name: expand, conv2d: {filters: "${expansion * channels(input)}", kernel_size: 1}}
      - {name: project, conv2d: {filters: "${filters}", kernel_size: 1}}
      - if: "${filters == channels(input) and shape(input)[1] == shape(project)[1]}"
        layers:
          - {name: add, add: {}, from: [input, previous]}
models:
  net:
    inputs: {x: [8, 8, 4]}
    layers:
      - {name: b1, inverted_residual: {filters: 4}}
      - {name: b2, inverted_residual: {filters: 6, expansion: "${channels(b1) // 2}"}}
      - {name: out, dense: {units: "${shape(x)[1] + channels(previous)}"}}
"""


def test_shape_and_channels_read_earlier_nodes_block_inputs_and_model_inputs(write_spec):
    nodes, shapes = _graph(write_spec, SHAPES)
    names = [name for name, _, _ in nodes]
    assert names == ["b1.expand", "b1.project", "b1.add", "b2.expand", "b2.project", "out"]
    assert shapes.shape("b1.expand") == (None, 8, 8, 24)
    assert shapes.shape("b2.expand") == (None, 8, 8, 8)  # expansion 4 // 2 = 2 times 4 channels
    assert shapes.shape("out") == (None, 8, 8, 14)


@pytest.mark.parametrize("replace, expected", [
    (('"${shape(x)[1] + channels(previous)}"', '"${channels(b3)}"'),
     "spec.yaml:17:36: models.net.layers[out].dense.units: unknown node `b3`; `shape()` and "
     "`channels()` read nodes and inputs defined before this one"),
    (('"${shape(x)[1] + channels(previous)}"', '"${channels(out)}"'),
     "spec.yaml:17:36: models.net.layers[out].dense.units: unknown node `out`; `shape()` and `channels()` read "
     "nodes and inputs defined before this one"),
    (('"${shape(x)[1] + channels(previous)}"', '"${channels(\'x\')}"'),
     "spec.yaml:17:36: models.net.layers[out].dense.units: `channels` takes one node name, like `channels(conv1)`"),
])
def test_bad_shape_reads_fail_with_one_line(write_spec, replace, expected):
    assert _error(write_spec, SHAPES.replace(*replace)) == expected


def test_channels_not_known_statically_is_an_error_at_the_expression(write_spec):
    text = """kspec: 1
models:
  net:
    inputs: {x: [8, null]}
    layers:
      - {name: out, dense: {units: "${channels(x)}"}}
"""
    assert _error(write_spec, text) == (
        "spec.yaml:6:36: models.net.layers[out].dense.units: the channels (last axis) of `x` are not known "
        "statically: its shape is (None, 8, None)")


def test_shape_outside_a_model_is_an_error(write_spec):
    text = SHAPES.replace("kspec: 1\n", "kspec: 1\nparams: {n: \"${channels(x)}\"}\n")
    assert _error(write_spec, text) == (
        "spec.yaml:2:13: params.n: `channels()` works in a model's layers only, where earlier nodes have shapes")


def test_name_separator_joins_block_and_inner_names_like_keras(write_spec):
    text = """kspec: 1
name_separator: "_"
blocks:
  unit:
    layers:
      - {name: 1_conv, dense: {units: 2}}
      - {name: 2_conv, dense: {units: 2}}
models:
  net:
    inputs: {x: [3]}
    layers:
      - {name: conv2_block1, unit: {}}
      - {name: out, dense: {units: 1}, from: conv2_block1_1_conv}
"""
    nodes, _ = _graph(write_spec, text.replace("from: conv2_block1_1_conv", "from: [conv2_block1_2_conv]"))
    assert [name for name, _, _ in nodes] == ["conv2_block1_1_conv", "conv2_block1_2_conv", "out"]
    assert _error(write_spec, text.replace('"_"', '"/"')) == (
        "spec.yaml:2:17: name_separator: expected one of `.`, `_`, `-`. Received: name_separator='/'")


def test_shape_after_thousands_of_layers_needs_no_deep_recursion(write_spec):
    nodes, shapes = _graph(write_spec, """kspec: 1
models:
  net:
    inputs: {x: [3]}
    layers:
      - repeat: 3000
        layers:
          - dense: {units: 2}
      - {name: out, dense: {units: "${channels(previous) + 1}"}}
""")
    assert nodes[-1][0] == "out" and len(nodes) == 3001
    assert shapes.shape("out") == (None, 3)


INIT = """kspec: 1
models:
  enc:
    inputs: {x: [4]}
    layers:
      - {name: code, dense: {units: 2}}
  net:
    init_from: INIT
    inputs: {x: [4]}
    layers:
      - {name: inner, model: enc, init_from: NODE}
      - {name: head, dense: {units: 3}}
"""


def _init_from(write_spec, init, node="runs/enc"):
    spec = builder.load_spec(write_spec(INIT.replace("INIT", init).replace("NODE", node)))
    graph = spec.models["net"]
    fields = ("run", "file", "model", "checkpoint", "strict", "exclude")
    return ([getattr(graph.init_from, f) for f in fields], [getattr(graph.nodes[0].init_from, f) for f in fields],
            graph.init_from)


@pytest.mark.parametrize("init, fields", [
    ("runs/ae", ["runs/ae", None, None, "best", True, ()]),
    ("weights/enc.keras", [None, "weights/enc.keras", None, "best", True, ()]),
    ("weights/enc.weights.h5", [None, "weights/enc.weights.h5", None, "best", True, ()]),
    ("{run: runs/ae, model: enc, checkpoint: last, strict: false, exclude: [head, 'co*']}",
     ["runs/ae", None, "enc", "last", False, ("head", "co*")]),
    ("{file: enc.keras, exclude: []}", [None, "enc.keras", None, "best", True, ()]),
])
def test_init_from_takes_a_run_or_a_file_written_short_or_long(write_spec, init, fields):
    model_fields, node_fields, init_from = _init_from(write_spec, init)
    assert model_fields == fields
    assert node_fields == ["runs/enc", None, None, "best", True, ()]
    assert (init_from.path, init_from.mark.line) == ("models.net.init_from", 8)
    node = builder.load_spec(write_spec(INIT.replace("INIT", init).replace("NODE", "runs/enc"))).models["net"].nodes[0]
    assert (node.init_from.path, node.init_from.mark.line) == ("models.net.layers[inner].init_from", 11)


def test_init_from_on_a_layer_node_is_refused_where_it_is_written(write_spec):
    text = INIT.replace("INIT", "runs/a").replace("NODE", "runs/enc").replace(
        "{name: head, dense: {units: 3}}", "{name: head, dense: {units: 3}, init_from: runs/b, trainable: false}")
    assert _error(write_spec, text) == (
        "spec.yaml:12:52: models.net.layers[head].init_from: `init_from` loads weights into a `{model: ...}` node "
        "or a whole model (`models.NAME.init_from`); this node is a layer")
    frozen = builder.load_spec(write_spec(text.replace(" init_from: runs/b,", ""))).models["net"].nodes[1]
    assert (frozen.name, frozen.trainable) == ("head", False)


@pytest.mark.parametrize("init, expected", [
    ("{run: a, file: b.keras}", "spec.yaml:8:16: models.net.init_from: `init_from` takes one of `run: RUN_DIR` and "
                                "`file: PATH`. Received: `run` and `file`"),
    ("{model: enc}", "spec.yaml:8:16: models.net.init_from: `init_from` takes one of `run: RUN_DIR` and `file: PATH`. "
                     "Received: neither"),
    ("{file: enc.pt}", "spec.yaml:8:23: models.net.init_from.file: expected a .keras or .weights.h5 file. Received: "
                       "file='enc.pt'"),
    ("{file: enc.keras, checkpoint: best}", "spec.yaml:8:46: models.net.init_from.checkpoint: `checkpoint` picks the "
                                            "checkpoint of a run; with `file:` remove it"),
])
def test_bad_init_from_fails_with_one_line(write_spec, init, expected):
    assert _error(write_spec, INIT.replace("INIT", init).replace("NODE", "runs/enc")) == expected


def test_an_application_is_named_in_any_spelling_and_resolved_to_keras_name(write_spec):
    text = """kspec: 1
models:
  net:
    inputs: {x: [32, 32, 3]}
    layers:
      - {name: backbone, application: {name: mobilenet_v2, alpha: 0.35, include_top: false, pooling: avg}}
"""
    spec = builder.load_spec(write_spec(text))
    node = spec.models["net"].nodes[0]
    assert (node.layer.op, node.layer.args) == ("application", {"name": "MobileNetV2", "alpha": 0.35,
                                                                "include_top": False, "pooling": "avg"})
    assert _error(write_spec, text.replace("mobilenet_v2", "mobilenet_v9")) == (
        "spec.yaml:6:46: models.net.layers[backbone].application.name: unknown application `mobilenet_v9` (did you "
        "mean `MobileNet` or `MobileNetV2`?); `kspec layers --applications` lists them")


IN_BLOCK = """kspec: 1
params: {flag: true, widths: [4, 8]}
blocks:
  stage:
    params: {w: 4}
    layers:
      - {name: a, dense: {units: "${w}"}}
      - BODY
models:
  other:
    inputs: {x: [3]}
    layers:
      - {name: o, dense: {units: 3}}
  net:
    inputs: {x: [3]}
    layers:
      - {name: s0, stage: {w: 4}}
"""
CALLED = " (in block `stage` called as `s0` at models.net.layers[s0])"


@pytest.mark.parametrize("body, expected", [
    ('{if: "${widths}", layers: [{name: b, dense: {units: 2}}]}',
     "8:14: blocks.stage.layers[1].if: expected true or false. Received: if=[4, 8]"),
    ('{for: {f: "${widths}", g: [1]}, layers: [{name: "b${i}", dense: {units: 2}}]}',
     "8:15: blocks.stage.layers[1].for: `for` zips lists of equal length. Received: `f` has 2, `g` has 1"),
    ('{for: {f: "${widths}"}, as: f, layers: [{name: "b${f}", dense: {units: 2}}]}',
     "8:37: blocks.stage.layers[1].as: `as: f` names the index, but `f` is also a variable of `for`; rename one"),
    ('{for: {f: "${flag}"}, layers: [{name: "b${i}", dense: {units: 2}}]}',
     "8:19: blocks.stage.layers[1].for.f: expected a list. Received: f=true"),
    ('{repeat: "${flag}", layers: [{name: "b${i}", dense: {units: 2}}]}',
     "8:18: blocks.stage.layers[1].repeat: expected a non-negative integer. Received: repeat=true"),
    ("{name: a, dense: {units: 2}}", "8:9: blocks.stage.layers[a]: duplicate node name `s0.a` (first at line 7)"),
    ("{name: m, model: otherr}", "8:26: blocks.stage.layers[m].model: unknown model 'otherr' (did you mean 'other'?)"),
    ("{name: m, model: zzz}", "8:26: blocks.stage.layers[m].model: unknown model 'zzz'; models: other"),
    ("{name: m, model: net}", "8:26: blocks.stage.layers[m].model: a model cannot contain itself"),
    ("{name: b, dense: {units: 2}, from: aa}",
     "8:44: blocks.stage.layers[b].from: unknown node 'aa' (did you mean 'a'?)"),
    ('{name: b, dense: {units: "${shape(aa)[1]}"}}',
     "8:34: blocks.stage.layers[b].dense.units: unknown node `aa` (did you mean `a`?); `shape()` and `channels()` "
     "read nodes and inputs defined before this one"),
    ('{name: b, dense: {units: "${w + }"}}',
     "8:34: blocks.stage.layers[b].dense.units: invalid expression `w +`: invalid syntax"),
    ('{if: "${nope}", layers: [{name: b, dense: {units: 2}}]}',
     "8:14: blocks.stage.layers[1].if: unknown name `nope` in expression; known: flag, w, widths"),
    ('{for: {f: "${nope}"}, layers: [{name: "b${i}", dense: {units: 2}}]}',
     "8:19: blocks.stage.layers[1].for.f: unknown name `nope` in expression; known: flag, w, widths"),
    ('{name: m, model: "${nope}"}',
     "8:26: blocks.stage.layers[m].model: unknown name `nope` in expression; known: flag, w, widths"),
    ('{repeat: "${nope}", layers: [{name: "b${i}", dense: {units: 2}}]}',
     "8:18: blocks.stage.layers[1].repeat: unknown name `nope` in expression; known: flag, w, widths"),
    ('{name: "${nope}", dense: {units: 2}}',  # one problem: the name is not also called None
     "8:16: blocks.stage.layers[1].name: unknown name `nope` in expression; known: flag, w, widths"),
    ("{repeat: 2}", "8:9: blocks.stage.layers[1]: a repeated group needs `layers: [...]`"),
    ('{repeat: 2, init_from: runs/a, layers: [{name: "b${i}", dense: {units: 2}}]}',
     "8:9: blocks.stage.layers[1]: a repeated group takes only `repeat`, `as`, `from`, `trainable` and `layers`. "
     "Received also: `init_from`"),
    ('{name: "b/c", dense: {units: 2}}',
     "8:16: blocks.stage.layers[b/c].name: expected a node name without `/`, `.`, spaces or control characters, "
     "other than `previous`. Received: name='b/c'"),
])
def test_a_mistake_inside_a_block_names_the_call_that_expanded_it(write_spec, body, expected):
    assert _error(write_spec, IN_BLOCK.replace("BODY", body)) == "spec.yaml:" + expected + CALLED


def test_model_nodes_auto_names_and_references_into_skipped_nested_groups(write_spec):
    text = """kspec: 1
params: {flag: false}
blocks:
  stage:
    layers:
      - {name: a, dense: {units: 3}}
models:
  other:
    inputs: {x: [3]}
    layers:
      - {name: o, dense: {units: 3}}
  net:
    inputs: {x: [3]}
    layers:
      - {name: stage, dense: {units: 3}}
      - stage: {}
      - {name: m, model: "${'oth' + 'er'}"}
      - if: "${flag}"
        layers:
          - repeat: 2
            layers:
              - {name: deep, dense: {units: 3}}
      - {name: out, dense: {units: 2}, from: m}
"""
    spec = builder.load_spec(write_spec(text))
    described = [(n.name, n.layer.op, n.layer.args, n.layer.mark.line, n.layer.path, n.inputs)
                 for n in spec.models["net"].nodes]
    assert described == [  # the unnamed block call takes the next free name: `stage` is a node's
        ("stage", "dense", {"units": 3}, 15, "models.net.layers[stage].dense", ["x"]),
        ("stage_1.a", "dense", {"units": 3}, 6, "blocks.stage.layers[a].dense", ["stage"]),
        ("m", "model", {"model": "other"}, 17, "models.net.layers[m].model", ["stage_1.a"]),
        ("out", "dense", {"units": 2}, 23, "models.net.layers[out].dense", ["m"])]
    assert _error(write_spec, text.replace("from: m}", "from: deep}")) == (
        "spec.yaml:23:46: models.net.layers[out].from: unknown node 'deep': it is in an `if` group whose condition "
        "is false (models.net.layers[3].if)")


def test_a_node_named_like_an_earlier_block_call_is_a_duplicate(write_spec):
    text = IN_BLOCK.replace("      - BODY\n", "").replace(
        "      - {name: s0, stage: {w: 4}}\n", "      - {name: s0, stage: {w: 4}}\n      - {name: s0, dense: {units: 2}}\n")
    assert _error(write_spec, text) == "spec.yaml:17:9: models.net.layers[s0]: duplicate node name `s0`"


UNKNOWN_SHAPES = """kspec: 1
blocks:
  pair:
    layers:
      - {name: p, dense: {units: 5}}
    output: p
models:
  other:
    inputs: {x: [3]}
    layers:
      - {name: o, dense: {units: 3}}
  net:
    inputs: {x: [3], seq: [5, 2]}
    layers:
      - {name: m, model: other, from: x}
      - {name: l, lstm: {units: 4, return_state: true}, from: seq}
      - {name: r, reshape: {target_shape: [7]}, from: x}
      - {name: after, dense: {units: 3}, from: r}
      - {name: b, pair: {}, from: x}
      - {name: c, dense: {units: "${shape(TARGET)[1]}"}, from: b}
"""


def test_shape_follows_a_block_call_to_its_output(write_spec):
    text = UNKNOWN_SHAPES.replace("TARGET", "b").replace("from: b}", "from: b}\n      - {name: out, concatenate: {}, from: [c, m, "
                                                                 "l, after]}")
    valid = text.replace("return_state: true", "return_state: false").replace("target_shape: [7]", "target_shape: [3]")
    spec = builder.load_spec(write_spec(valid))
    assert [n.layer.args for n in spec.models["net"].nodes if n.name == "c"] == [{"units": 5}]


@pytest.mark.parametrize("target, reason", [
    ("m", "it is a model used as a layer"),
    ("l", "it has several outputs"),
    ("r", "cannot reshape (None, 3) (3 values) into (7) (7 values)"),
    ("after", "an input of it has no static shape"),
])
def test_shape_of_a_node_it_cannot_know_says_why(write_spec, target, reason):
    assert _error(write_spec, UNKNOWN_SHAPES.replace("TARGET", target)).splitlines()[0] == (
        f"spec.yaml:20:34: models.net.layers[c].dense.units: the shape of `{target}` is not known statically: {reason}")


BLOCK_CALLS = """kspec: 1
blocks:
  two:
    inputs: [a, b]
    layers:
      - {name: s, add: {}, from: [a, b]}
  pair:
    layers:
      - {name: p, dense: {units: 3}}
    output: p
  outer:
    layers:
      - {name: i, pair: {}}
      - {name: j, model: other, init_from: runs/a}
models:
  other:
    inputs: {x: [3]}
    layers:
      - {name: o, dense: {units: 3}}
  net:
    inputs: {x: [3]}
    layers:
      - {name: t, two: {}, from: [x, x]}
      - {name: q, outer: {}}
"""
IN_OUTER = " (in block `outer` called as `q` at models.net.layers[q])"


@pytest.mark.parametrize("replace, expected", [
    (("from: [x, x]", "from: [x]"),
     "spec.yaml:23:34: models.net.layers[t].from: block `two` takes 2 input(s) (a, b). Received: 1 in `from`"),
    (("output: p", "output: zz"), "spec.yaml:10:13: blocks.pair.output: unknown node 'zz'" + IN_OUTER),
    (("output: p", 'output: "${1 + 1}"'), "spec.yaml:10:13: blocks.pair.output: expected a string. Received: "
                                          "output=2 (in block `pair` called as `q.i` at blocks.outer.layers[i])"),
    (("init_from: runs/a", 'init_from: "${1 + 2}"'),
     "spec.yaml:14:44: blocks.outer.layers[j].init_from: expected a run directory or weights file, or {run: RUN_DIR, "
     "model: NAME} / {file: PATH} with optional checkpoint, strict, exclude. Received: init_from=3" + IN_OUTER),
    (("init_from: runs/a", "init_from: {run: a, file: b.keras}"),
     "spec.yaml:14:44: blocks.outer.layers[j].init_from: `init_from` takes one of `run: RUN_DIR` and `file: PATH`. "
     "Received: `run` and `file`" + IN_OUTER),
    (("{name: j, model: other, init_from: runs/a}", "{name: i, pair: {}}"),  # one line, not one per inner node
     "spec.yaml:14:9: blocks.outer.layers[i]: duplicate name `q.i`" + IN_OUTER),
])
def test_bad_block_calls_fail_with_one_line(write_spec, replace, expected):
    assert _error(write_spec, BLOCK_CALLS.replace(*replace)) == expected


def test_block_arguments_unknown_or_failing_are_one_line(write_spec):
    valid = IN_BLOCK.replace("BODY", "{name: b, dense: {units: 2}}")
    assert _error(write_spec, valid.replace("stage: {w: 4}", "stage: {zzz: 4}")) == (
        "spec.yaml:17:33: models.net.layers[s0].stage.zzz: block `stage` has no argument `zzz`; it takes: w")
    failing_default = valid.replace('params: {w: 4}', 'params: {w: "${nope}"}').replace("stage: {w: 4}", "stage: {}")
    assert _error(write_spec, failing_default) == (
        "spec.yaml:5:17: blocks.stage.params.w: unknown name `nope` in expression; known: flag, widths")


def test_a_group_can_take_the_previous_node_explicitly(write_spec):
    text = IN_BLOCK.replace("BODY", '{if: "${flag}", from: previous, layers: [{name: b, dense: {units: 2}}]}')
    nodes, _ = _graph(write_spec, text)
    assert nodes[-1] == ("s0.b", "dense", ["s0.a"])


DEFAULTS = """kspec: 1
params: {width: 6}
defaults:
  TOP
models:
  net:
    defaults:
      OWN
    inputs: {x: [4]}
    layers:
      - {name: d, dense: {}}
"""


def _with_defaults(top, own="dense: {activation: relu}"):
    return DEFAULTS.replace("TOP", top).replace("OWN", own)


def test_defaults_take_expressions_and_merge_with_the_models_own(write_spec):
    spec = builder.load_spec(write_spec(_with_defaults('dense: {units: "${width}"}')))
    assert spec.models["net"].nodes[0].layer.args == {"units": 6, "activation": "relu"}


@pytest.mark.parametrize("top, own, expected", [
    ("zzzq: {units: 3}", "dense: {units: 2}",
     "spec.yaml:4:3: defaults.zzzq: unknown layer `zzzq` in `defaults`; defaults are for layers of the catalog"),
    ("dense: {units: 3}", "zzzq: {units: 2}",
     "spec.yaml:8:7: models.net.defaults.zzzq: unknown layer `zzzq` in `defaults`; defaults are for layers of the "
     "catalog"),
    ("dense: {units: 3}\n  Dense: {units: 4}", "dense: {units: 2}",
     "spec.yaml:5:3: defaults.Dense: `defaults` name `dense` twice (as `dense` and `Dense`); merge them"),
    ('dense: {units: "${nope}"}', "dense: {units: 2}",
     "spec.yaml:4:18: defaults.dense.units: unknown name `nope` in expression; known: width"),
])
def test_bad_defaults_fail_with_one_line(write_spec, top, own, expected):
    assert _error(write_spec, _with_defaults(top, own)) == expected


def test_a_failing_expression_in_a_list_names_its_item(write_spec):
    text = _with_defaults("dense: {units: 3}").replace(
        "{name: d, dense: {}}", '{name: r, reshape: {target_shape: [4, "${nope}"]}}')
    assert _error(write_spec, text) == (
        "spec.yaml:11:47: models.net.layers[r].reshape.target_shape[1]: unknown name `nope` in expression; known: width")


def test_an_input_written_as_a_mapping_is_float32_unless_it_says_and_its_shape_is_checked_there(write_spec):
    text = """kspec: 1
params: {n: 3}
models:
  net:
    inputs: {x: {shape: ["${n}"]}, ids: {shape: [2], dtype: int32}}
    layers:
      - {name: d, dense: {units: 2}, from: x}
      - {name: e, embedding: {input_dim: 5, output_dim: 2}, from: ids}
    outputs: [d, e]
"""
    spec = builder.load_spec(write_spec(text))
    assert [(i.name, i.shape, i.dtype) for i in spec.models["net"].inputs] == [("x", (3,), "float32"),
                                                                                ("ids", (2,), "int32")]
    assert _error(write_spec, text.replace("n: 3", "n: 0")) == (
        "spec.yaml:5:26: models.net.inputs.x.shape[0]: expected a positive integer or null (any size). Received: 0")


def _resolved(write_spec, text):
    """The resolved spec, without importing the spec's `imports:` (resolution only checks they are listed)."""
    return builder.resolve(builder.load_document(write_spec(text)), "spec.yaml")


def _resolve_error(write_spec, text):
    with pytest.raises(builder.SpecError) as error:
        _resolved(write_spec, text)
    return str(error.value).replace(write_spec(text), "spec.yaml")


NESTED = """kspec: 1
models:
  net:
    inputs: {x: [5, 3]}
    layers:
      - name: rnn
        bidirectional:
          layer: {lstm: {units: "${2 * 2}"}}
          merge_mode: sum
"""


def test_a_layer_argument_resolves_to_its_own_layer_call_with_its_arguments(write_spec):
    rnn = _resolved(write_spec, NESTED).models["net"].nodes[0].layer
    inner = rnn.args["layer"]
    assert (rnn.op, rnn.args["merge_mode"]) == ("bidirectional", "sum")
    assert (inner.op, inner.args, inner.path) == ("lstm", {"units": 4}, "models.net.layers[rnn].bidirectional.layer.lstm")
    assert (inner.mark.line, inner.arg_marks["units"].line) == (8, 8)


@pytest.mark.parametrize("replace, expected", [
    (('{lstm: {units: "${2 * 2}"}}', "{lstm: {units: 4}, gru: {units: 4}}"),
     "spec.yaml:8:18: models.net.layers[rnn].bidirectional.layer: expected one layer such as `{lstm: {units: 32}}`. "
     "Received: layer={'lstm': {'units': 4}, 'gru': {'units': 4}}"),
    (("2 * 2", "nope"),  # reported once, inside the nested layer
     "spec.yaml:8:33: models.net.layers[rnn].bidirectional.layer.lstm.units: unknown name `nope` in expression"),
])
def test_a_layer_argument_with_two_layers_or_a_failing_one_is_one_line_at_it(write_spec, replace, expected):
    assert _resolve_error(write_spec, NESTED.replace(*replace)) == expected


USER_LAYER = """kspec: 1
imports: [mypkg.layers]
blocks:
  b:
    layers:
      - {name: t, other.Thing: {}}
models:
  net:
    inputs: {x: [5]}
    layers:
      - name: mine
        mypkg.layers.Thing: {size: "${2 + 1}"}
"""


def test_a_user_layer_from_a_listed_dotted_module_resolves_with_its_arguments(write_spec):
    nodes = _resolved(write_spec, USER_LAYER.replace("other.Thing", "mypkg.layers.Thing")).models["net"].nodes
    assert [(n.name, n.layer.op, n.layer.args) for n in nodes] == [("mine", "mypkg.layers.Thing", {"size": 3})]


@pytest.mark.parametrize("replace, expected", [
    (("      - name: mine\n", "      - {name: call, b: {}}\n      - name: mine\n"),
     "spec.yaml:6:9: blocks.b.layers[t]: `other.Thing` names a user layer from module `other`, which is not listed in "
     "`imports:` (in block `b` called as `call` at models.net.layers[call])"),
    (('"${2 + 1}"', '"${nope}"'),
     "spec.yaml:12:36: models.net.layers[mine].mypkg.layers.Thing.size: unknown name `nope` in expression"),
])
def test_user_layer_mistakes_are_one_line_at_them(write_spec, replace, expected):
    assert _resolve_error(write_spec, USER_LAYER.replace(*replace)) == expected


@pytest.mark.parametrize("layer, expected", [
    ("qqqzzzxx: {}", "spec.yaml:6:9: models.net.layers[a]: unknown layer or block `qqqzzzxx`"),
    ("dense: 5", "spec.yaml:6:26: models.net.layers[a].dense: expected a mapping of arguments. Received: 5"),
])
def test_an_unknown_layer_without_close_names_and_arguments_that_are_no_mapping(write_spec, layer, expected):
    text = f"kspec: 1\nmodels:\n  net:\n    inputs: {{x: [5]}}\n    layers:\n      - {{name: a, {layer}}}\n"
    assert _resolve_error(write_spec, text) == expected


PREVIOUS = """kspec: 1
models:
  net:
    inputs: {x: [5], y: [5]}
    layers:
      - name: a
        from: [x, previous]
        concatenate: {}
"""


@pytest.mark.parametrize("replace, expected", [
    (("", ""), "spec.yaml:7:19: models.net.layers[a].from[1]: `previous` has no node before it here; name the input"),
    (("        from: [x, previous]\n", ""),
     "spec.yaml:6:9: models.net.layers[a]: the first layer of a model with several inputs needs `from:` naming its "
     "input(s)"),
])
def test_previous_before_any_node_of_a_model_with_several_inputs_is_one_line_at_it(write_spec, replace, expected):
    assert _resolve_error(write_spec, PREVIOUS.replace(*replace)) == expected


def test_the_first_layer_of_a_block_follows_the_blocks_first_input(write_spec):
    text = """kspec: 1
blocks:
  b:
    inputs: [p, q]
    layers:
      - {name: a, dense: {units: 2}}
      - {name: c, concatenate: {}, from: [a, q]}
models:
  net:
    inputs: {x: [5], y: [5]}
    layers:
      - {name: call, b: {}, from: [y, x]}
"""
    nodes, _ = _graph(write_spec, text)
    assert nodes == [("call.a", "dense", ["y"]), ("call.c", "concatenate", ["call.a", "x"])]


def test_a_failing_trainable_and_a_failing_default_are_one_line_at_them(write_spec):
    text = """kspec: 1
defaults:
  dense:
    units: "${nope}"
models:
  net:
    inputs: {x: [5]}
    layers:
      - name: a
        dense: {}
        trainable: "${nope}"
"""
    assert _resolve_error(write_spec, text).splitlines() == [
        "spec.yaml:4:12: defaults.dense.units: unknown name `nope` in expression",
        "spec.yaml:11:20: models.net.layers[a].trainable: unknown name `nope` in expression"]


def test_an_unknown_metric_in_a_list_is_reported_at_its_item(write_spec):
    text = """kspec: 1
models:
  net:
    inputs: {x: [5]}
    layers:
      - {name: a, dense: {units: 2}}
training:
  loss: mse
  metrics:
    - mae
    - "${'no_such_' + 'metric'}"
"""
    assert _error(write_spec, text).startswith("spec.yaml:11:7: training.metrics[1]: unknown metric `no_such_metric`")


@pytest.mark.parametrize("text, expected", [
    ("""kspec: 1
defaults:
  dense:
    name: foo
models:
  net:
    inputs: {x: [5]}
    layers:
      - {name: a, dense: {units: 2}}
""", ["spec.yaml:3:3: defaults.dense: set the layer name with the node's `name:`, not as an argument of `dense`"]),
    ("""kspec: 1
blocks:
  b:
    layers:
      - {name: a, dense: {units: 2}}
    output: aa
models:
  net:
    inputs: {x: [5]}
    layers:
      - {name: call, b: {}}
""", ["spec.yaml:6:13: blocks.b.output: unknown node 'aa' (did you mean 'a'?)"]),
    ("""kspec: 1
models:
  net:
    inputs: {x: [5]}
    layers:
      - {name: a, dense: {units: 2}, init_from: run1}
      - {name: b, qqqzzzxx: {}}
""", ["spec.yaml:6:49: models.net.layers[a].init_from: `init_from` loads weights into a `{model: ...}` node or a whole "
      "model (`models.NAME.init_from`); this node is a layer",
      "spec.yaml:7:9: models.net.layers[b]: unknown layer or block `qqqzzzxx`"]),
])
def test_mistakes_point_at_a_defaults_entrys_key_a_blocks_output_and_the_nodes_after_a_misplaced_init_from(
        write_spec, text, expected):
    assert _error(write_spec, text).splitlines() == expected
