"""Fixtures of the `kspec tune` tests."""

import pytest

# A dense net on the 8x8 digits: a trial of 1 epoch takes about a second once TensorFlow is imported.
TUNING_SPEC = """\
kspec: 1
params: {units: 8}
models:
  net:
    inputs: {x: [8, 8, 1]}
    layers:
      - flatten:
      - {name: hidden, dense: {units: "${units}", activation: relu}}
      - {name: probabilities, dense: {units: 10, activation: softmax}}
data: {source: digits, args: {limit: 200}, validation_split: 0.25}
training:
  optimizer: {adam: {learning_rate: 0.01}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
  batch_size: 50
  epochs: 1
search:
  objective: {metric: val_accuracy, direction: maximize}
  sampler: random
  pruner: none
  trials: 3
  space:
    params.units: {int: [4, 32], step: 4}
    models.net.layers[hidden].dense.activation: {choice: [relu, tanh]}
"""



@pytest.fixture
def tuning_spec():
    """The text of a tiny spec with a `search:` section (3 trials of 1 epoch, random sampler, no pruner)."""
    return TUNING_SPEC
