"""`defaults:` sets arguments for every layer of a kind, in a spec or a model; a node's own arguments win, a
model's defaults win over the spec's; bad entries are one line at the entry."""

import pytest

from kspec import builder

SPEC = """\
kspec: 1
defaults:
  conv2d: {kernel_initializer: he_normal, padding: same}
  dense: {kernel_regularizer: {l2: {l2: 1.0e-4}}}
models:
  net:
    defaults:
      conv2d: {padding: valid}
    inputs: {image: [8, 8, 1]}
    layers:
      - {name: c1, conv2d: {filters: 4, kernel_size: 3}}
      - {name: c2, conv2d: {filters: 4, kernel_size: 3, kernel_initializer: zeros}}
      - flatten:
      - {name: out, dense: {units: 2}}
"""


def write(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return str(path)


def test_defaults_fill_arguments_a_node_does_not_give(tmp_path):
    nodes = {node.name: node.layer.args for node in builder.load_spec(write(tmp_path)).models["net"].nodes}
    assert nodes["c1"] == {"filters": 4, "kernel_size": 3, "kernel_initializer": "he_normal", "padding": "valid"}
    assert nodes["c2"]["kernel_initializer"] == "zeros"  # the node's own argument wins
    assert nodes["out"]["kernel_regularizer"] == {"l2": {"l2": 1.0e-4}}


def test_defaults_reach_the_built_layers(tmp_path):
    import keras

    model = builder.build(write(tmp_path))["net"]
    assert isinstance(model.get_layer("c1").kernel_initializer, keras.initializers.HeNormal)
    assert model.get_layer("c1").padding == "valid" and tuple(model.get_layer("c2").output.shape) == (None, 4, 4, 4)
    assert model.get_layer("out").kernel_regularizer.l2 == pytest.approx(1.0e-4)


@pytest.mark.parametrize("override, message", [
    ("defaults.conv2d.filterz=3", "defaults.conv2d.filterz: `conv2d` has no argument `filterz` (did you mean "
                                  "'filters'?)"),
    ("defaults.conv2d.padding=full", "defaults.conv2d.padding: expected one of 'valid', 'same'. Received: "
                                     "padding='full'"),
    ("defaults.dens={units: 3}", "defaults.dens: unknown layer `dens` in `defaults` (did you mean `dense`?)"),
    ("models.net.defaults.dense.kernel_initializer=he_normall",
     "models.net.defaults.dense.kernel_initializer: unknown initializer `he_normall` (did you mean 'he_normal'?)"),
])
def test_a_bad_defaults_entry_is_one_line_at_the_entry(tmp_path, override, message):
    problems = [str(p) for p in builder.validate(write(tmp_path), [override])]
    assert len(problems) == 1 and problems[0].endswith(message), problems


def test_summary_verbose_shows_resolved_arguments_and_where_defaults_applied(tmp_path):
    from support import run_cli

    result = run_cli("summary", "--verbose", write(tmp_path))
    assert result.exit_code == 0, result.output
    assert ("  c1: filters=4, kernel_size=3, kernel_initializer='he_normal' (defaults), padding='valid' (defaults)"
            in result.stdout)
