"""Loading: safe YAML with marks, resource limits, `extends` and `--set` overrides."""

import pytest

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
