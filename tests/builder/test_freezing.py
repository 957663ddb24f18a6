"""Freezing by `trainable:` on nodes, block calls and models, and by `training.freeze`/`unfreeze` patterns
(inner layers of a model node included), with a one-line error for a pattern that matches nothing."""

import pytest

from kspec import builder
from kspec.builder.freezing import apply_patterns, apply_training_patterns
from kspec.errors import SpecError

SPEC = """\
kspec: 1
blocks:
  pair:
    layers:
      - {name: a, dense: {units: 4}}
      - {name: b, dense: {units: 4}}
models:
  encoder:
    inputs: {x: [3]}
    layers:
      - {name: e1, dense: {units: 4}}
      - {name: e2, dense: {units: 4}}
  net:
    inputs: {x: [3]}
    layers:
      - {name: enc, model: encoder}
      - {name: first, pair: {}, trainable: false}
      - {name: norm, batch_normalization: {}}
      - {name: head, dense: {units: 2}, trainable: true}
training:
  model: net
  loss: mse
"""


def built(tmp_path, *overrides):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    spec = builder.load_spec(str(path), overrides)
    return spec, builder.build(spec)["net"]


def training_names(model):
    return sorted({w.path.split("/")[0] for w in model.trainable_weights})


def test_trainable_false_on_a_block_call_freezes_its_layers(tmp_path):
    _, model = built(tmp_path)
    assert training_names(model) == ["e1", "e2", "head", "norm"]


def test_trainable_false_on_a_model_freezes_it(tmp_path):
    _, model = built(tmp_path, "models.net.trainable=false")
    assert model.trainable_weights == []


@pytest.mark.parametrize("freeze, unfreeze, trains", [
    (["encoder"], [], ["head", "norm"]),                      # a model used as a layer, whole
    (["encoder"], ["encoder.e2"], ["e2", "head", "norm"]),   # one of its layers released again
    (["*"], ["first.*"], ["first.a", "first.b"]),            # block layers are `call.layer`
    (["no*", "h?ad"], [], ["e1", "e2"]),
])
def test_freeze_then_unfreeze_patterns_set_what_trains(tmp_path, freeze, unfreeze, trains):
    spec, model = built(tmp_path)
    apply_patterns(model, freeze, unfreeze, "training", spec.document)
    assert training_names(model) == trains


def test_stage_patterns_apply_on_top_of_the_training_ones(tmp_path):
    spec, model = built(tmp_path, "training.freeze=[encoder, head]",
                        "training.stages=[{epochs: 1}, {epochs: 1, unfreeze: [encoder.e1]}]")
    apply_training_patterns(model, spec, 0)
    assert training_names(model) == ["norm"]
    apply_training_patterns(model, spec, 1)
    assert training_names(model) == ["e1", "norm"]


def test_a_pattern_matching_nothing_is_one_line_with_the_nodes(tmp_path):
    spec, model = built(tmp_path, "training.stages=[{epochs: 1, unfreeze: [enc.e1]}]")
    with pytest.raises(SpecError) as caught:
        apply_training_patterns(model, spec, 0)
    assert [str(p) for p in caught.value.problems] == [
        "--set training.stages=[{epochs: 1, unfreeze: [enc.e1]}]:1:25: training.stages[0].unfreeze[0]: pattern "
        "'enc.e1' matches no layer of model `net` (its nodes: encoder, first.a, first.b, head, norm; inner layers of a "
        "model node are `node.layer`)"]
