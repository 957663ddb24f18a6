"""Loading: safe YAML with marks, resource limits, `extends` and `--set` overrides."""

import os

import pytest
from support import run_cli

from kspec.builder.loader import MAX_VALUES, load_document, parse_yaml
from kspec.errors import SpecError


def problem_text(call):
    with pytest.raises(SpecError) as caught:
        call()
    return [str(p) for p in caught.value.problems]


def test_values_keep_line_and_column():
    document = parse_yaml("kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n", "s.yaml")
    assert str(document["models"]["net"].value_marks["inputs"]) == "s.yaml:4:13"
    assert str(document["models"].key_marks["net"]) == "s.yaml:3:3"


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['echo x']",
        "!!python/object/new:subprocess.Popen [['echo', 'x']]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!binary aGVsbG8=",
        "!mytag 1",
    ],
)
def test_every_non_data_tag_is_refused_with_its_line(payload):
    lines = problem_text(lambda: parse_yaml(f"kspec: 1\nvalue: {payload}\n", "s.yaml"))
    assert len(lines) == 1
    assert lines[0].startswith("s.yaml:2:8: YAML tag `")
    assert lines[0].endswith("is not allowed: specs hold plain data only (mappings, lists, strings, numbers, booleans, null) and never construct Python objects")


def test_billion_laughs_fails_fast():
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    lines = problem_text(lambda: parse_yaml("\n".join(levels) + "\n", "bomb.yaml"))
    assert lines == [f"bomb.yaml:1:30: spec expands to more than {MAX_VALUES} values (aliases expanding exponentially?)"]


def test_recursive_alias_is_refused():
    lines = problem_text(lambda: parse_yaml("a: &a [1, *a]\n", "r.yaml"))
    assert lines == ["r.yaml:1:8: spec nests deeper than 64 levels (recursive alias?)"]


def test_duplicate_key_is_refused():
    assert problem_text(lambda: parse_yaml("a: 1\nb: 2\na: 3\n", "d.yaml")) == ["d.yaml:3:1: duplicate key `a` (first at line 1)"]


def test_extends_deep_merges_and_marks_follow_the_winner(tmp_path):
    (tmp_path / "base.yaml").write_text("kspec: 1\nparams: {a: 1, b: 2}\nmodels: {}\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nparams: {b: 3}\n")
    document = load_document(str(tmp_path / "child.yaml"))
    assert document["params"] == {"a": 1, "b": 3}
    assert "extends" not in document
    assert document["params"].value_marks["b"].file.endswith("child.yaml")
    assert document["params"].value_marks["a"].file.endswith("base.yaml")


def test_extends_cycle_is_detected(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nkspec: 1\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    lines = problem_text(lambda: load_document(str(tmp_path / "a.yaml")))
    assert lines == [f"{tmp_path / 'a.yaml'}: extends: `extends` cycle: a.yaml -> b.yaml -> a.yaml"]


def test_missing_parent_names_where_it_looked(tmp_path):
    (tmp_path / "a.yaml").write_text("kspec: 1\nextends: nowhere.yaml\n")
    lines = problem_text(lambda: load_document(str(tmp_path / "a.yaml")))
    assert lines == [f"{tmp_path / 'a.yaml'}:2:10: extends: cannot find `nowhere.yaml` (looked in {tmp_path})"]


def test_overrides_parse_yaml_values_and_select_named_items(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "kspec: 1\nmodels:\n  g:\n    params: {latent_dim: 2}\n    layers:\n      - {name: h, dense: {units: 3}}\n"
    )
    document = load_document(
        str(tmp_path / "s.yaml"),
        ["models.g.params.latent_dim=128", "models.g.layers[h].dense.units=[4]", "models.g.layers[0].dense.use_bias=false"],
    )
    assert document["models"]["g"]["params"]["latent_dim"] == 128
    assert document["models"]["g"]["layers"][0]["dense"] == {"units": [4], "use_bias": False}


@pytest.mark.parametrize(
    "override, message",
    [
        ("params", "--set: expected `--set key.path=value`. Received: 'params'"),
        ("models.g.layers[nope].x=1", "--set models.g.layers[nope].x=1: models.g.layers[nope].x: no list item named `nope`"),
        ("models.g.layers.7=1", "--set models.g.layers.7=1: models.g.layers.7: index 7 is out of range or not a list"),
        ("params.x=!!python/name:os.system", "--set params.x=!!python/name:os.system:1:1: YAML tag `tag:yaml.org,2002:python/name:os.system` is not allowed: specs hold plain data only (mappings, lists, strings, numbers, booleans, null) and never construct Python objects"),
    ],
)
def test_bad_overrides_say_what_is_wrong(tmp_path, override, message):
    (tmp_path / "s.yaml").write_text("kspec: 1\nmodels:\n  g:\n    layers:\n      - {name: h, dense: {units: 3}}\n")
    assert problem_text(lambda: load_document(str(tmp_path / "s.yaml"), [override])) == [message]


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 1_000_001 + "\nkspec: 1\n")
    assert problem_text(lambda: load_document(str(path))) == [
        f"{path}: spec file is 1000013 bytes; the limit is 1000000. Split it with `extends`."
    ]


def test_a_device_a_fifo_and_a_directory_are_refused_before_reading(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    for path, what in [("/dev/zero", "is not a regular file (a device, FIFO or socket)"),
                       (str(fifo), "is not a regular file (a device, FIFO or socket)"),
                       (str(tmp_path), "is a directory")]:
        result = run_cli("validate", path)
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == [f"{path}: {what}; expected a spec file (.yaml)"]


def test_a_missing_and_an_unreadable_file_get_one_line(tmp_path, monkeypatch):
    result = run_cli("validate", str(tmp_path / "nowhere.yaml"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"{tmp_path / 'nowhere.yaml'}: cannot read spec file: No such file or directory"]
    (tmp_path / "locked.yaml").write_text("kspec: 1\n")

    def refuse(path, flags, *args):  # root reads any file, so permission is taken away here instead of by chmod
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "open", refuse)
    assert problem_text(lambda: load_document(str(tmp_path / "locked.yaml"))) == [
        f"{tmp_path / 'locked.yaml'}: cannot read spec file: Permission denied"
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("kspec: 1\nmodels:\n  n\x07et: {}\n", "s.yaml:3:4: control character U+0007 is not allowed in a spec; remove it"),
        ("kspec: 1\x00\n", "s.yaml:1:9: control character U+0000 is not allowed in a spec; remove it"),
        ("kspec: 1\nmodels: {a: \x1b[31m}\n", "s.yaml:2:13: control character U+001B is not allowed in a spec; remove it"),
    ],
)
def test_control_characters_are_one_line_with_their_position(text, message):
    assert problem_text(lambda: parse_yaml(text, "s.yaml")) == [message]


def test_a_control_character_in_a_set_value_is_shown_escaped(tmp_path):
    (tmp_path / "s.yaml").write_text("kspec: 1\nparams: {n: 1}\n")
    assert problem_text(lambda: load_document(str(tmp_path / "s.yaml"), ["params.n=a\x07b"])) == [
        "--set params.n=a\\x07b:1:2: control character U+0007 is not allowed in a spec; remove it"
    ]


def test_an_escaped_control_character_reaches_messages_escaped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text('kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers:\n'
                                        '      - {name: "a\\x07\\nb", dense: {units: 2}}\n')
    result = run_cli("validate", "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "spec.yaml:6:16: models.net.layers[a\\x07\\nb].name: expected a node name without `/`, `.`, spaces or "
        "control characters, other than `previous`. Received: name='a\\x07\\nb'"
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("kspec: 1\nmodels:\n\tnet: {}\n", "s.yaml:3:1: YAML syntax error: while scanning for the next token, found character '\\t' that cannot start any token; tabs cannot indent YAML: indent with spaces"),
        ("kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n   layers: []\n", "s.yaml:5:4: YAML syntax error: while parsing a block mapping, expected <block end>, but found '<block mapping start>'; this line is indented differently from the keys above it (keys of one mapping line up), or a `key:` lacks the space after its colon"),
        ("kspec: 1\nmodels: {net: [1, 2\n", "s.yaml:3:1: YAML syntax error: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'; a `[` is not closed, or the items inside it lack a comma"),
        ('kspec: 1\nmodels: "abc\n', "s.yaml:3:1: YAML syntax error: while scanning a quoted scalar, found unexpected end of stream; a quote is not closed: end the value with the same quote it starts with"),
        ("kspec:1\nmodels: {}\n", "s.yaml:2:7: YAML syntax error: mapping values are not allowed here; a `: ` inside a value: check that the key before it has a space after its colon (`kspec: 1`, not `kspec:1`), or put the value in quotes"),
        ("kspec: 1\nmodels: *foo\n", "s.yaml:2:9: YAML syntax error: found undefined alias 'foo'; `*name` must refer to an anchor `&name` defined earlier in the same file"),
        ("kspec: 1\n---\nkspec: 1\n", "s.yaml:2:1: YAML syntax error: expected a single document in the stream, but found another document; a spec file holds one YAML document: remove the `---` line and what follows"),
        ("kspec: 1\nmodels: @x\n", "s.yaml:2:9: YAML syntax error: while scanning for the next token, found character '@' that cannot start any token; `@` and a backquote cannot start a YAML value: put the value in quotes"),
    ],
)
def test_yaml_syntax_errors_keep_the_position_and_add_a_hint(text, message):
    assert problem_text(lambda: parse_yaml(text, "s.yaml")) == [message]


@pytest.mark.parametrize(
    "override, message",
    [
        ("params.filtres=64", "--set params.filtres=64: params.filtres: no param `filtres` to set (did you mean `filters`?)"),
        ("params.zzz=1", "--set params.zzz=1: params.zzz: no param `zzz` to set; params here: `filters`, `depth`"),
        ("models.g.params.x=1", "--set models.g.params.x=1: models.g.params.x: no param `x` to set; there are none here"),
        ("extends=base.yaml", "--set extends=base.yaml: extends: `extends` cannot be set with --set: write `extends:` in the spec file"),
    ],
)
def test_set_refuses_what_the_spec_would_silently_ignore(tmp_path, override, message):
    (tmp_path / "s.yaml").write_text(
        "kspec: 1\nparams: {filters: 8, depth: 2}\nmodels:\n  g:\n    inputs: {x: [4]}\n    layers:\n"
        "      - {name: h, dense: {units: 3}}\n"
    )
    assert problem_text(lambda: load_document(str(tmp_path / "s.yaml"), [override])) == [message]


def test_set_of_a_key_the_schema_does_not_know_is_located_at_the_set(tmp_path):
    (tmp_path / "s.yaml").write_text("kspec: 1\nmodels:\n  g:\n    inputs: {x: [4]}\n    layers: [{dense: {units: 3}}]\n")
    result = run_cli("validate", str(tmp_path / "s.yaml"), "--set", "training.epoch=3")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "--set training.epoch=3: training.epoch: unknown key `epoch` (did you mean `epochs`?)"
    ]


BASE_WITH_TWO_MODELS = """kspec: 1
models:
  encoder: {inputs: {x: [4]}, layers: [{dense: {units: 2}}]}
  classifier: {inputs: {x: [4]}, layers: [{model: encoder}, {dense: {units: 1}}]}
metadata:
  parameters: {encoder: 10, classifier: 13}
"""


def test_extends_renames_models_with_the_nodes_and_counts_that_name_them(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE_WITH_TWO_MODELS)
    (tmp_path / "renamed.yaml").write_text("extends: base.yaml\nrename: {encoder: backbone}\n")
    document = load_document(str(tmp_path / "renamed.yaml"))
    assert list(document["models"]) == ["backbone", "classifier"]
    assert document["models"]["classifier"]["layers"][0] == {"model": "backbone"}
    assert document["metadata"]["parameters"] == {"classifier": 13, "backbone": 10}
    assert "rename" not in document
    (tmp_path / "changed.yaml").write_text("extends: base.yaml\nrename: {encoder: backbone}\n"
                                           "models:\n  backbone: {layers: [{dense: {units: 3}}]}\n")
    document = load_document(str(tmp_path / "changed.yaml"))
    assert document["models"]["backbone"]["layers"] == [{"dense": {"units": 3}}]  # the child merges over it
    assert "parameters" not in document["metadata"]  # they described the parent's models


@pytest.mark.parametrize("child, message", [
    ("extends: base.yaml\nrename: {encodr: backbone}\n",
     "child.yaml:2:10: rename.encodr: the extended spec has no model `encodr` (models: encoder, classifier)"),
    ("extends: base.yaml\nrename: {encoder: classifier}\n",
     "child.yaml:2:10: rename.encoder: cannot rename `encoder` to `classifier`: the extended spec has a model "
     "`classifier` already"),
    ("kspec: 1\nrename: {encoder: backbone}\n",
     "child.yaml:2:1: rename: `rename` renames models of the spec named in `extends`; this spec has no `extends`"),
])
def test_bad_renames_say_what_is_wrong(tmp_path, child, message):
    (tmp_path / "base.yaml").write_text(BASE_WITH_TWO_MODELS)
    (tmp_path / "child.yaml").write_text(child)
    lines = problem_text(lambda: load_document(str(tmp_path / "child.yaml")))
    assert lines == [f"{tmp_path}/{message}"]
