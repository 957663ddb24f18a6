"""A table of broken specs: each must give exit status 1 and exactly one line, `file:line:col: path: message`.

`kspec validate` never imports TensorFlow, so these run in-process and fast.
"""

import pytest

from support import run_cli

BASE = """kspec: 1
params:
  units: 8
models:
  net:
    inputs: {x: [4]}
    layers:
      - dense: {units: "${units}"}
      - {name: out, dense: {units: 2}}
"""

BROKEN_SPECS = [
    (
        'unknown_layer',
        BASE.replace("- dense: {units:", "- dens: {units:"),
        'spec.yaml:8:9: models.net.layers[0]: unknown layer or block `dens` (did you mean `dense`?)',
    ),
    (
        'misspelled_argument',
        BASE.replace('{units: "${units}"}', '{unit: "${units}"}'),
        "spec.yaml:8:23: models.net.layers[0].dense.unit: `dense` has no argument `unit` (did you mean 'units'?)",
    ),
    (
        'wrong_type',
        BASE.replace("{units: 2}", "{units: two}"),
        "spec.yaml:9:36: models.net.layers[out].dense.units: expected a positive integer. Received: units='two'",
    ),
    (
        'zero_filters',
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [8, 8, 1]}\n    layers:\n      - conv2d: {filters: 0, kernel_size: 3}\n",
        'spec.yaml:6:27: models.net.layers[0].conv2d.filters: expected a positive integer. Received: filters=0',
    ),
    (
        'bad_padding',
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [8, 8, 1]}\n    layers:\n      - conv2d: {filters: 4, kernel_size: 3, padding: full}\n",
        "spec.yaml:6:55: models.net.layers[0].conv2d.padding: expected one of 'valid', 'same'. Received: padding='full'",
    ),
    (
        'bad_activation',
        BASE.replace("{units: 2}", "{units: 2, activation: rleu}"),
        "spec.yaml:9:51: models.net.layers[out].dense.activation: expected an activation name such as 'relu'. Received: activation='rleu'",
    ),
    (
        'missing_required_argument',
        BASE.replace("{units: 2}", "{}"),
        'spec.yaml:9:9: models.net.layers[out].dense: `dense` needs argument `units`',
    ),
    (
        'unknown_node_reference',
        BASE.replace("{name: out, dense: {units: 2}}", "{name: out, dense: {units: 2}, from: dnse}"),
        "spec.yaml:9:46: models.net.layers[out].from: unknown node 'dnse' (did you mean 'dense'?)",
    ),
    (
        'cycle',
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n      - {name: a, add: {}, from: [x, b]}\n      - {name: b, dense: {units: 4}, from: a}\n",
        'spec.yaml:6:9: models.net.layers[a]: cycle in the graph: a -> b -> a',
    ),
    (
        'duplicate_name',
        BASE.replace("- dense: {units: \"${units}\"}", "- {name: out, dense: {units: 3}}"),
        'spec.yaml:9:9: models.net.layers[out]: duplicate node name `out` (first at line 8)',
    ),
    (
        'missing_block_argument',
        "kspec: 1\nblocks:\n  two:\n    params: {width: null}\n    layers:\n      - dense: {units: \"${width}\"}\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n      - two: {}\n",
        'spec.yaml:11:14: models.net.layers[0].two: block `two` needs argument `width`',
    ),
    (
        'unknown_block_argument',
        "kspec: 1\nblocks:\n  two:\n    params: {width: null}\n    layers:\n      - dense: {units: \"${width}\"}\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n      - two: {widht: 3}\n",
        'spec.yaml:11:22: models.net.layers[0].two.widht: block `two` has no argument `widht` (did you mean `width`?)',
    ),
    (
        'unknown_name_in_expression',
        BASE.replace("${units}", "${unit * 2}"),
        'spec.yaml:8:24: models.net.layers[0].dense.units: unknown name `unit` in expression (did you mean `units`?)',
    ),
    (
        'unbounded_expression',
        BASE.replace("${units}", "${9 ** 9 ** 9}"),
        'spec.yaml:8:24: models.net.layers[0].dense.units: exponent 387420489 is too large (at most 64)',
    ),
    (
        'code_in_expression',
        BASE.replace("${units}", "${__import__('os').system('true')}"),
        'spec.yaml:8:24: models.net.layers[0].dense.units: only these functions may be called: abs, ceil, channels, float, floor, int, len, log2, max, min, round, shape, sqrt',
    ),
    (
        'division_by_zero',
        BASE.replace("${units}", "${units // 0}"),
        'spec.yaml:8:24: models.net.layers[0].dense.units: division by zero',
    ),
    (
        'yaml_syntax_error',
        BASE.replace("{units: 2}", "{units: 2"),
        "spec.yaml:10:1: YAML syntax error: while parsing a flow mapping, expected ',' or '}', but got '<stream end>'; a `{` is not closed, or the entries inside it lack a comma",
    ),
    (
        'wrong_version',
        BASE.replace("kspec: 1", "kspec: 2"),
        'spec.yaml:1:8: kspec: expected `kspec: 1`. Received: kspec=2',
    ),
    (
        'missing_version',
        BASE.replace("kspec: 1\n", ""),
        'spec.yaml:1:1: missing required key `kspec`',
    ),
    (
        'unknown_top_level_key',
        BASE.replace("params:", "parms:"),
        'spec.yaml:2:1: parms: unknown key `parms` (did you mean `params`?)',
    ),
    (
        'unknown_model_key',
        BASE.replace("    layers:", "    layer:"),
        'spec.yaml:7:5: models.net.layer: unknown key `layer` (did you mean `layers`?)',
    ),
    (
        'two_ops_in_node',
        BASE.replace("{name: out, dense: {units: 2}}", "{name: out, dense: {units: 2}, dropout: {rate: 0.1}}"),
        'spec.yaml:9:9: models.net.layers[out]: expected exactly one layer or block name in a node. Received: `dense`, `dropout`',
    ),
    (
        'bad_input_shape',
        BASE.replace("{x: [4]}", "{x: [0]}"),
        'spec.yaml:6:18: models.net.inputs.x[0]: expected a positive integer, null (any size) or an expression `${...}`. Received: 0',
    ),
    (
        'python_tag',
        BASE.replace("units: 8", "units: !!python/object/apply:os.system ['echo hacked']"),
        'spec.yaml:3:10: YAML tag `tag:yaml.org,2002:python/object/apply:os.system` is not allowed: specs hold plain data only (mappings, lists, strings, numbers, booleans, null) and never construct Python objects',
    ),
    (
        'unknown_tag',
        BASE.replace("units: 8", "units: !custom 8"),
        'spec.yaml:3:10: YAML tag `!custom` is not allowed: specs hold plain data only (mappings, lists, strings, numbers, booleans, null) and never construct Python objects',
    ),
    (
        'negative_repeat',
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n      - repeat: -1\n        layers:\n          - dense: {units: 4}\n",
        'spec.yaml:6:17: models.net.layers[0].repeat: expected a non-negative integer or an expression `${...}`. Received: repeat=-1',
    ),
    (
        'repeat_duplicate_names',
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n      - repeat: 2\n        layers:\n          - {name: hidden, dense: {units: 4}}\n",
        'spec.yaml:8:13: models.net.layers[0].layers[hidden]: duplicate node name `hidden` (first at line 8); inside `repeat`, put the counter in the name, like `name: conv${i}`',
    ),
    (
        'dangling_node',
        BASE + "    outputs: [dense]\n",
        'spec.yaml:9:9: models.net.layers[out]: node `out` does not lead to any output of model `net`; connect it, list it in `outputs:`, or remove it',
    ),
    (
        'unused_input',
        BASE.replace("{x: [4]}", "{x: [4], y: [3]}").replace("- dense: {units:", "- {from: x, dense: {units:").replace('"${units}"}', '"${units}"}}'),
        'spec.yaml:6:25: models.net.inputs.y: model input `y` is not used by any layer',
    ),
    (
        'block_calls_itself',
        "kspec: 1\nblocks:\n  loop:\n    layers:\n      - loop: {}\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n      - loop: {}\n",
        'spec.yaml:5:9: blocks.loop.layers[0]: block `loop` calls itself (through loop) (in block `loop` called as `loop` at models.net.layers[0])',
    ),
    (
        'unknown_model_use',
        BASE.replace("- {name: out, dense: {units: 2}}", "- model: nett"),
        "spec.yaml:9:16: models.net.layers[1].model: unknown model 'nett'",
    ),
    (
        'user_layer_not_imported',
        BASE.replace("- dense: {units:", "- mylayers.Fancy: {units:"),
        'spec.yaml:8:9: models.net.layers[0]: `mylayers.Fancy` names a user layer from module `mylayers`, which is not listed in `imports:`',
    ),
    (
        'import_not_allowed',
        "imports: [mylayers]\n" + BASE.replace("- dense: {units:", "- mylayers.Fancy: {units:"),
        'spec.yaml:1:10: imports: spec imports user layers from `mylayers`; nothing is imported unless you allow it: pass --allow-import mylayers',
    ),
    (
        'bool_for_int',
        BASE.replace("{units: 2}", "{units: true}"),
        'spec.yaml:9:36: models.net.layers[out].dense.units: expected a positive integer. Received: units=true',
    ),
    (
        'dropout_rate_too_big',
        BASE.replace("{units: 2}", "{units: 2}}\n      - {dropout: {rate: 1.5}").replace("{name: out, ", "{name: out, "),
        'spec.yaml:10:26: models.net.layers[2].dropout.rate: expected a number in [0, 1]. Received: rate=1.5',
    ),
]


@pytest.mark.parametrize("name, text, expected", BROKEN_SPECS, ids=[case[0] for case in BROKEN_SPECS])
def test_broken_spec_fails_with_one_line_naming_the_place(name, text, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(text)
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [expected]


def test_python_tag_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    (tmp_path / "spec.yaml").write_text(
        BASE.replace("units: 8", f"units: !!python/object/apply:os.system ['touch {marker}']")
    )
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    assert not marker.exists()


INITIALIZER_SPEC = "kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n      - dense: {units: 2, kernel_initializer: INIT}\n"


@pytest.mark.parametrize(
    "value, message",
    [
        ("random_nrmal", "spec.yaml:6:47: models.net.layers[0].dense.kernel_initializer: unknown initializer `random_nrmal` (did you mean 'random_normal'?)"),
        ("{random_normal: {stdev: 0.02}}", "spec.yaml:6:47: models.net.layers[0].dense.kernel_initializer.random_normal.stdev: `random_normal` has no argument `stdev` (did you mean 'stddev'?)"),
        ("{random_normal: {stddev: wide}}", "spec.yaml:6:47: models.net.layers[0].dense.kernel_initializer.random_normal.stddev: expected a number. Received: stddev='wide'"),
        ("{random_normal: {}, zeros: {}}", "spec.yaml:6:47: models.net.layers[0].dense.kernel_initializer: expected an initializer name, or one name with a mapping of its arguments such as `{random_normal: {stddev: 0.02}}`. Received: {'random_normal': {}, 'zeros': {}}"),
    ],
)
def test_initializers_are_checked_against_the_catalog(tmp_path, monkeypatch, value, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(INITIALIZER_SPEC.replace("INIT", value))
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [message]


def test_an_input_dtype_keras_does_not_know_is_refused_by_validate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "kspec: 1\nmodels:\n  net:\n    inputs: {x: {shape: [4], dtype: float23}}\n    layers:\n      - dense: {units: 2}\n"
    )
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "spec.yaml:4:37: models.net.inputs.x.dtype: expected a Keras dtype such as 'float32'. Received: dtype='float23'"
    ]
