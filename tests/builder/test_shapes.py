"""Static shapes (builder/shapes.py) against Keras' own: every shipped spec, and a generated corpus.

Agreement means: where the static rules give a shape, Keras builds that node with that shape (and the same
parameter count when one is given); where they report a conflict, Keras fails at that node; where they
cannot tell, they say so. CI runs a bounded, seeded corpus; a large run is
`KSPEC_SHAPE_EXAMPLES=2000 python -m pytest tests/builder/test_shapes.py -k random -s`.
"""

import collections
import os
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import BUILD_OVERRIDES, SPEC_FILES, SPECS_DIR, run_cli

from kspec import builder
from kspec.builder.checks import check_resolved, model_order, topological_order
from kspec.builder.graph import LayerCall
from kspec.builder.loader import load_document
from kspec.builder.resolver import resolve
from kspec.builder.schema import check_schema
from kspec.builder.shapes import ShapeConflict, Unchecked, infer_shapes, layer_output
from kspec.errors import SpecError

EXAMPLES = int(os.environ.get("KSPEC_SHAPE_EXAMPLES", "80"))
GRU4 = LayerCall("gru", {"units": 4, "return_sequences": True})

# (layer, arguments, input shapes) -> (output shape, parameters), worked out by hand from Keras' formulas.
CASES = [
    ("conv2d", {"filters": 8, "kernel_size": 3, "strides": 2}, [(None, 28, 28, 1)], ((None, 13, 13, 8), 80)),
    ("conv2d", {"filters": 8, "kernel_size": 3, "strides": 2, "padding": "same"}, [(None, 28, 28, 1)],
     ((None, 14, 14, 8), 80)),
    ("conv1d", {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"}, [(None, 10, 3)],
     ((None, 10, 4), 40)),
    ("conv2d", {"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, [(None, 3, 9, 9)],
     ((None, 2, 7, 7), 56)),
    ("conv2d_transpose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, [(None, 7, 7, 4)],
     ((None, 14, 14, 2), 74)),
    ("conv2d_transpose", {"filters": 2, "kernel_size": 3, "strides": 2}, [(None, 7, 7, 4)], ((None, 15, 15, 2), 74)),
    ("conv2d_transpose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 0},
     [(None, 7, 7, 4)], ((None, 13, 13, 2), 74)),
    ("depthwise_conv2d", {"kernel_size": 3, "depth_multiplier": 2}, [(None, 8, 8, 3)], ((None, 6, 6, 6), 60)),
    ("separable_conv1d", {"filters": 5, "kernel_size": 3, "padding": "same"}, [(None, 9, 4)], ((None, 9, 5), 37)),
    ("max_pooling2d", {"pool_size": 3, "strides": 2}, [(None, 15, 15, 2)], ((None, 7, 7, 2), 0)),
    ("max_pooling2d", {"pool_size": 3, "strides": 2, "padding": "same"}, [(None, 15, 15, 2)], ((None, 8, 8, 2), 0)),
    ("global_average_pooling2d", {"keepdims": True}, [(None, 5, 5, 7)], ((None, 1, 1, 7), 0)),
    ("reshape", {"target_shape": [3, -1]}, [(None, 4, 6)], ((None, 3, 8), 0)),
    ("flatten", {}, [(None, None, 3)], ((None, None), 0)),
    ("permute", {"dims": [2, 1]}, [(None, 4, 6)], ((None, 6, 4), 0)),
    ("concatenate", {"axis": 1}, [(None, 4, 6), (None, 2, 6)], ((None, 6, 6), 0)),
    ("multiply", {}, [(None, 8, 8, 4), (None, 1, 1, 4)], ((None, 8, 8, 4), 0)),
    ("dot", {"axes": 1}, [(None, 5), (None, 5)], ((None, 1), 0)),
    ("zero_padding2d", {"padding": [[0, 1], [2, 3]]}, [(None, 5, 5, 1)], ((None, 6, 10, 1), 0)),
    ("cropping3d", {"cropping": 1}, [(None, 5, 6, 7, 2)], ((None, 3, 4, 5, 2), 0)),
    ("lstm", {"units": 4, "return_state": True}, [(None, 10, 3)], ([(None, 4), (None, 4), (None, 4)], 128)),
    ("bidirectional", {"layer": GRU4}, [(None, 10, 3)], ((None, 10, 8), 216)),
    ("bidirectional", {"layer": LayerCall("simple_rnn", {"units": 4}), "merge_mode": None}, [(None, 10, 3)],
     ([(None, 4), (None, 4)], 64)),
    ("time_distributed", {"layer": LayerCall("dense", {"units": 2})}, [(None, 10, 3)], ((None, 10, 2), 8)),
    ("embedding", {"input_dim": 100, "output_dim": 8}, [(None, 12)], ((None, 12, 8), 800)),
    ("batch_normalization", {}, [(None, 8, 8, 16)], ((None, 8, 8, 16), 64)),
    ("sampling", {}, [(None, 2), (None, 2)], ((None, 2), 0)),
]


@pytest.mark.parametrize("op, args, inputs, expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_layer_output_follows_keras_formulas(op, args, inputs, expected):
    assert layer_output(LayerCall(op, args), inputs) == expected


@pytest.mark.parametrize("op, args, inputs, kind, message", [
    ("conv2d", {"filters": 1, "kernel_size": 5}, [(None, 4, 4, 1)], ShapeConflict,
     "the kernel (5, dilation 1) is larger than axis 1 (4) with padding 'valid'"),
    ("conv2d", {"filters": 1, "kernel_size": 3}, [(None, 4, 4, None)], ShapeConflict,
     "the channel axis of the input must be defined to create the weights. Found None"),
    ("reshape", {"target_shape": [5, 5]}, [(None, 4, 6)], ShapeConflict,
     "cannot reshape (None, 4, 6) (24 values) into (5, 5) (25 values)"),
    ("add", {}, [(None, 14, 3), (None, 15, 3)], ShapeConflict,
     "needs inputs that agree on every axis (or are 1 there), but axis 1 differs"),
    ("zero_padding2d", {"padding": [1, 2, 3]}, [(None, 4, 4, 1)], ShapeConflict,
     "expected `padding` as a non-negative integer, 2 of them or 2 pairs. Received: padding=[1, 2, 3]"),
    ("multi_head_attention", {"num_heads": 2, "key_dim": 2}, [(None, 4, 4), (None, 4, 4)], Unchecked,
     "no static shape rule for `multi_head_attention`"),
])
def test_layer_output_refuses_what_keras_refuses_and_says_what_it_cannot_tell(op, args, inputs, kind, message):
    with pytest.raises(kind) as raised:
        layer_output(LayerCall(op, args), inputs)
    assert str(raised.value) == message


SKIP_MISMATCH = """\
kspec: 1
models:
  net:
    inputs: {image: [28, 28, 1]}
    layers:
      - {name: down, conv2d: {filters: 4, kernel_size: 3, strides: 2}}
      - {name: up, conv2d_transpose: {filters: 4, kernel_size: 2, strides: 2}}
      - {name: merge, add: {}, from: [up, image]}
"""


def test_validate_reports_a_shape_conflict_at_the_node_with_both_shapes(write_spec):
    spec = write_spec(SKIP_MISMATCH)
    result = run_cli("validate", spec)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"{spec}:8:9: models.net.layers[merge]: `add` needs inputs that agree on every axis (or are 1 there), but "
        "axis 1 differs: `up` (None, 26, 26, 4) vs `image` (None, 28, 28, 1); check the strides, padding or pooling "
        "upstream"
    ]


def test_validate_names_nodes_it_cannot_check_and_still_passes(write_spec):
    spec = write_spec(
        "kspec: 1\n"
        "models:\n"
        "  net:\n"
        "    inputs: {x: [16, 8]}\n"
        "    layers:\n"
        "      - {name: attention, multi_head_attention: {num_heads: 2, key_dim: 4}, from: [x, x]}\n"
        "      - dense: {units: 3}\n"
        "      - {name: out, dense: {units: 2}}\n"
    )
    result = run_cli("validate", spec)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [
        f"{spec}:6:9: models.net.layers[attention]: note: shape not checked statically: no static shape rule for "
        "`multi_head_attention`; 2 nodes after it unchecked too"
    ]


def test_model_used_as_a_layer_is_checked_against_its_declared_inputs(write_spec):
    spec = write_spec(
        "kspec: 1\n"
        "models:\n"
        "  head:\n"
        "    inputs: {features: [16]}\n"
        "    layers: [{dense: {units: 2}}]\n"
        "  net:\n"
        "    inputs: {x: [8]}\n"
        "    layers:\n"
        "      - {name: features, dense: {units: 12}}\n"
        "      - {name: scores, model: head}\n"
    )
    problems = builder.validate(spec)
    assert [str(p) for p in problems] == [
        f"{spec}:10:9: models.net.layers[scores]: `model` cannot take its input `features` (None, 12): model `head` "
        "expects (None, 16), but axis 1 differs; check the strides, padding or pooling upstream"
    ]


def test_static_shape_of_any_node_is_available_after_loading():
    spec = builder.load_spec(os.path.join(SPECS_DIR, "unet.yaml"))
    shapes = spec.shapes["unet"]
    assert shapes.shape("down1.conv2d_1") == (None, 32, 32, 32)
    assert shapes.shape("image") == (None, 64, 64, 1)
    assert shapes.parameters["up0.upsample"] == 2 * 2 * 32 * 16 + 16
    assert shapes.total_parameters == 481796


# -- a corpus of random small layer stacks -------------------------------------------------------------
# A stack starts from an input of rank 2-5 and adds layers of the families builder/shapes.py models, with
# arguments that often fit and sometimes do not (a kernel larger than its input, a merge of branches whose
# sizes drifted), so that both verdicts are compared: a shape, or a conflict.

SIZE = st.integers(1, 9)


def _int_or_list(draw, values, rank):
    if draw(st.booleans()):
        return draw(values)
    return [draw(values) for _ in range(rank)]


def _padding_amounts(draw, rank):
    kind = draw(st.sampled_from(["int", "pairs", "symmetric"] if rank > 1 else ["int", "pairs"]))
    if kind == "int":
        return draw(st.integers(0, 2))
    if kind == "symmetric":
        return [draw(st.integers(0, 2)) for _ in range(rank)]
    if rank == 1:
        return [draw(st.integers(0, 2)), draw(st.integers(0, 2))]
    return [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in range(rank)]


def _spatial_rank(draw, rank):
    """Mostly the rank that fits the input; now and then another, to provoke ndim errors."""
    fits = rank - 2
    if 1 <= fits <= 3 and draw(st.integers(0, 9)) > 0:
        return fits
    return draw(st.integers(1, 3))


def _conv(draw, rank):
    n = _spatial_rank(draw, rank)
    kind = draw(st.sampled_from(["conv", "transpose", "depthwise", "separable"] if n <= 2 else ["conv", "transpose"]))
    strided = draw(st.booleans())
    args = {"kernel_size": _int_or_list(draw, st.integers(1, 4), n)}
    if strided:
        args["strides"] = _int_or_list(draw, st.integers(1, 3), n)
    elif draw(st.booleans()):
        args["dilation_rate"] = _int_or_list(draw, st.integers(1, 2), n)
    paddings = ["valid", "same"] + (["causal"] if n == 1 and kind in ("conv",) else [])
    args["padding"] = draw(st.sampled_from(paddings))
    if kind != "depthwise":
        args["filters"] = draw(st.integers(1, 4))
    if kind in ("depthwise", "separable") and draw(st.booleans()):
        args["depth_multiplier"] = draw(st.integers(1, 2))
    if kind == "transpose" and strided and draw(st.booleans()):
        strides = args["strides"] if isinstance(args["strides"], list) else [args["strides"]] * n
        args["output_padding"] = [draw(st.integers(0, s - 1)) for s in strides]
    if kind == "conv" and draw(st.integers(0, 4)) == 0:
        args["groups"] = draw(st.integers(1, 2))
        args["filters"] = 2 * draw(st.integers(1, 2))
    if draw(st.booleans()):
        args["use_bias"] = False
    name = {"conv": f"conv{n}d", "transpose": f"conv{n}d_transpose", "depthwise": f"depthwise_conv{n}d",
            "separable": f"separable_conv{n}d"}[kind]
    return {name: args}


def _pooling(draw, rank):
    n = _spatial_rank(draw, rank)
    kind = draw(st.sampled_from(["max", "average", "global_max", "global_average"]))
    if kind.startswith("global"):
        return {f"{kind}_pooling{n}d": {"keepdims": draw(st.booleans())}}
    args = {"pool_size": _int_or_list(draw, st.integers(1, 3), n), "padding": draw(st.sampled_from(["valid", "same"]))}
    if draw(st.booleans()):
        args["strides"] = _int_or_list(draw, st.integers(1, 3), n)
    return {f"{kind}_pooling{n}d": args}


def _resize(draw, rank):
    n = _spatial_rank(draw, rank)
    kind = draw(st.sampled_from(["up_sampling", "zero_padding", "cropping"]))
    if kind == "up_sampling":
        return {f"up_sampling{n}d": {"size": _int_or_list(draw, st.integers(1, 3), n)}}
    argument = "padding" if kind == "zero_padding" else "cropping"
    return {f"{kind}{n}d": {argument: _padding_amounts(draw, n)}}


def _reshaping(draw, rank):
    kind = draw(st.sampled_from(["flatten", "reshape", "permute", "repeat_vector", "dense"]))
    if kind == "flatten":
        return {"flatten": None}
    if kind == "dense":
        return {"dense": {"units": draw(st.integers(1, 5))}}
    if kind == "repeat_vector":
        return {"repeat_vector": {"n": draw(st.integers(1, 3))}}
    if kind == "permute":
        return {"permute": {"dims": draw(st.permutations(list(range(1, rank))))}} if rank > 1 else {"flatten": None}
    target = [draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return {"reshape": {"target_shape": target}}


def _recurrent(draw, rank):
    cell = draw(st.sampled_from(["lstm", "gru", "simple_rnn"]))
    args = {"units": draw(st.integers(1, 4)), "return_sequences": draw(st.booleans())}
    if cell == "gru" and draw(st.booleans()):
        args["reset_after"] = False
    if draw(st.integers(0, 3)) == 0:
        args["use_bias"] = False
    wrap = draw(st.sampled_from(["none", "bidirectional", "time_distributed"]))
    if wrap == "bidirectional":
        mode = draw(st.sampled_from(["concat", "sum", "mul", "ave"]))
        return {"bidirectional": {"layer": {cell: args}, "merge_mode": mode}}
    if wrap == "time_distributed":
        return {"time_distributed": {"layer": {"dense": {"units": draw(st.integers(1, 4))}}}}
    return {cell: args}


def _same_shape(draw, rank):
    kind = draw(st.sampled_from([
        "batch_normalization", "layer_normalization", "group_normalization", "prelu", "activation", "dropout",
        "gaussian_noise", "spatial_dropout", "softmax", "leaky_relu", "rms_normalization", "unit_normalization",
        "normalization", "rescaling", "identity",
    ]))
    if kind == "batch_normalization":
        return {kind: {"center": draw(st.booleans()), "scale": draw(st.booleans())}}
    if kind == "layer_normalization":
        return {kind: {"rms_scaling": draw(st.booleans()), "center": draw(st.booleans())}}
    if kind == "group_normalization":
        return {kind: {"groups": draw(st.sampled_from([1, 2, 3, -1]))}}
    if kind == "prelu":
        return {kind: {"shared_axes": sorted(draw(st.sets(st.integers(1, max(rank - 1, 1)), max_size=2)))}}
    if kind == "activation":
        return {kind: {"activation": "relu"}}
    if kind in ("dropout", "gaussian_noise"):
        return {kind: {"rate" if kind == "dropout" else "stddev": 0.1}}
    if kind == "spatial_dropout":
        return {f"spatial_dropout{_spatial_rank(draw, rank)}d": {"rate": 0.1}}
    if kind == "rescaling":
        return {kind: {"scale": 0.5}}
    return {kind: None}


MERGES = ["add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _merge(draw, rank):
    kind = draw(st.sampled_from(MERGES))
    if kind == "concatenate":
        return {kind: {"axis": draw(st.integers(-rank, rank - 1)) if rank > 1 else -1}}
    if kind == "dot":
        return {kind: {"axes": draw(st.integers(1, max(rank - 1, 1)))}}
    return {kind: None}


FAMILIES = [_conv, _pooling, _resize, _reshaping, _recurrent, _same_shape]


@st.composite
def layer_stacks(draw, max_layers=4):
    """A spec document (plain data) with one model `net` of up to `max_layers` nodes, and its input rank."""
    rank = draw(st.integers(2, 5))
    dims = [draw(SIZE) * draw(st.sampled_from([1, 1, 2, 4])) for _ in range(rank - 1)]
    if draw(st.integers(0, 5)) == 0:
        dims[draw(st.integers(0, rank - 2))] = None
    layers, names, current = [], ["x"], rank
    for index in range(draw(st.integers(1, max_layers))):
        name = f"n{index}"
        if len(names) > 1 and draw(st.integers(0, 4)) == 0:
            layer = _merge(draw, current)
            other = draw(st.sampled_from(names[:-1]))
            layers.append({"name": name, **layer, "from": [names[-1], other]})
        else:
            layer = draw(st.sampled_from(FAMILIES))(draw, current)
            layers.append({"name": name, **layer})
            current = _rank_after(layer, current)
        names.append(name)
    document = {"kspec": 1, "models": {"net": {"inputs": {"x": dims}, "layers": layers}}}
    return document


def _rank_after(layer, rank):
    (op, args), = layer.items()
    args = args or {}
    if op in ("flatten",) or op.startswith("global_") and not args.get("keepdims"):
        return 2
    if op == "reshape":
        return len(args["target_shape"]) + 1
    if op == "repeat_vector":
        return 3
    if op in ("lstm", "gru", "simple_rnn"):
        return 3 if args.get("return_sequences") else 2
    if op == "bidirectional":
        return _rank_after(args["layer"], rank)
    return rank


# -- comparison with Keras ------------------------------------------------------------------------------

def keras_shape(layer):
    output = layer.output
    if isinstance(output, (list, tuple)):
        return [tuple(t.shape) for t in output]
    return tuple(output.shape)


def compare_with_keras(resolved, tally):
    """Builds every model of `resolved` with Keras and asserts agreement with the static shapes, node by node."""
    import keras

    from kspec.builder.keras_models import build_model

    static = infer_shapes(resolved)
    built = {}
    for name in model_order(resolved):
        graph, shapes = resolved.models[name], static[name]
        conflicts = [p.path for p in shapes.problems]
        try:
            model = build_model(graph, keras, built)
        except SpecError as error:
            failed = error.problems[0].path
            order = [node.where() for node in topological_order(graph)]
            if conflicts:
                first = min(conflicts, key=order.index)
                assert failed == first, f"Keras failed at {failed}, static first conflict at {first}: {error}"
                tally["conflicts agreed"] += 1
            else:
                node = next(n for n in graph.nodes if n.where() == failed)
                assert node.name in shapes.unchecked, f"Keras failed at {failed} but static gave a shape: {error}"
                tally["Keras errors at unchecked nodes"] += 1
            return
        except Exception as error:  # noqa: BLE001 (Keras' own IndexError & co., which validate now stops first)
            assert conflicts, f"Keras failed with {type(error).__name__}: {error} but static found no conflict"
            tally["conflicts agreed"] += 1
            return
        assert not conflicts, f"static conflict {shapes.problems[0]} but Keras built the model"
        built[name] = model
        for node in graph.nodes:
            if node.name in shapes.unchecked:
                tally["unchecked nodes"] += 1
                continue
            assert shapes.shapes[node.name] == keras_shape(model.get_layer(node.name)), node.name
            tally["node shapes agreed"] += 1
            counted = shapes.parameters.get(node.name)
            if counted is not None:
                assert counted == model.get_layer(node.name).count_params(), node.name
                tally["parameter counts agreed"] += 1
        if shapes.total_parameters is not None:
            assert shapes.total_parameters == model.count_params()


def resolve_text(document):
    """Loads a spec document (plain data) through schema, resolution and checks, stopping before shapes."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as stream:
        yaml.safe_dump(document, stream)
    try:
        loaded = load_document(stream.name)
        assert not check_schema(loaded)
        resolved = resolve(loaded, stream.name)
        problems = check_resolved(resolved)
    finally:
        os.unlink(stream.name)
    return resolved, problems


@pytest.fixture(scope="module")
def tally():
    counts = collections.Counter()
    yield counts
    print("\nshape agreement:", dict(counts))


@pytest.mark.parametrize("spec_file", SPEC_FILES)
def test_static_shapes_of_shipped_specs_equal_keras(spec_file, tally):
    import keras

    keras.backend.clear_session()
    spec = builder.load_spec(os.path.join(SPECS_DIR, spec_file), BUILD_OVERRIDES.get(spec_file, []))
    assert all(not shapes.unchecked for shapes in spec.shapes.values()), "every shipped spec is fully checked"
    compare_with_keras(spec, tally)


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(document=layer_stacks())
def test_static_shapes_of_random_layer_stacks_equal_keras(document, tally):
    import keras

    resolved, problems = resolve_text(document)
    if problems:  # an argument the catalog refuses (both sides agree there is nothing to build)
        tally["refused by argument checks"] += 1
        return
    keras.backend.clear_session()
    tally["stacks"] += 1
    compare_with_keras(resolved, tally)
