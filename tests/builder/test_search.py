"""The `search:` section of `kspec tune`, checked by `kspec validate` without TensorFlow or Optuna."""

import subprocess
import sys

import pytest
from support import run_cli

from kspec.builder.search import Dimension, read_search

SPEC = """\
kspec: 1
params: {units: 16}
models:
  net:
    inputs: {x: [8, 8, 1]}
    layers:
      - flatten:
      - {name: hidden, dense: {units: "${units}", activation: relu}}
      - {name: probabilities, dense: {units: 10, activation: softmax}}
data: {source: digits, args: {limit: 300}, batch_size: 32}
training:
  optimizer: {adam: {learning_rate: 0.001}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy, {sparse_top_k_categorical_accuracy: {k: 3}}]
search:
  objective: {metric: val_accuracy, direction: maximize}
  space:
"""


def validate(write_spec, space, objective=None):
    text = SPEC + "".join(f"    {line}\n" for line in space)
    if objective is not None:
        text = text.replace("  objective: {metric: val_accuracy, direction: maximize}", f"  objective: {objective}")
    path = write_spec(text)
    result = run_cli("validate", path)
    return path, result


def test_a_valid_search_section_passes_and_reads_with_defaults(write_spec):
    path, result = validate(write_spec, ["params.units: {int: [16, 128], step: 16}",
                                         "training.optimizer.adam.learning_rate: {float: [1.0e-4, 1.0e-2], log: true}",
                                         "models.net.layers[hidden].dense.activation: {choice: [relu, gelu]}"])
    assert result.exit_code == 0, result.output
    from kspec import builder

    search = read_search(builder.load_spec(path).document)
    assert (search.metric, search.direction, search.sampler, search.pruner, search.trials) == (
        "val_accuracy", "maximize", "tpe", "median", 20)
    assert search.dimensions == (
        Dimension("params.units", "int", 16, 128, 16, False),
        Dimension("training.optimizer.adam.learning_rate", "float", 1.0e-4, 1.0e-2, None, True),
        Dimension("models.net.layers[hidden].dense.activation", "choice", choices=("relu", "gelu")),
    )
    assert search.dimensions[2].override("gelu") == 'models.net.layers[hidden].dense.activation="gelu"'


@pytest.mark.parametrize(
    "space, objective, message",
    [
        (["params.unit: {int: [16, 128]}"], None,
         "18:5: search.space[params.unit]: unknown search path: `unit` is not in params (did you mean 'units'?)"),
        (["models.net.layers[hiden].dense.units: {int: [16, 128]}"], None,
         "18:5: search.space[models.net.layers[hiden].dense.units]: no list item named `hiden` in models.net.layers "
         "(did you mean 'hidden'?)"),
        (["training.optimizer.adam: {float: [0.1, 0.2]}"], None,
         "18:5: search.space[training.optimizer.adam]: the path names a mapping; name one value inside it"),
        (["params.units: {int: [128, 16]}"], None,
         "18:5: search.space[params.units]: the range is inverted: expected low < high. Received: int=[128, 16]"),
        (["params.units: {int: [16, 16]}"], None,
         "18:5: search.space[params.units]: the range is empty: expected low < high. Received: int=[16, 16]; to fix "
         "the value, set it in the spec instead"),
        (["params.units: {choice: [16]}"], None,
         "18:5: search.space[params.units]: a choice needs at least two values to search. Received: choice=[16]"),
        (["params.units: {int: [16, 100], step: 16}"], None,
         "18:5: search.space[params.units]: high - low must be a positive multiple of step. Received: int=[16, 100], "
         "step=16"),
        (["training.optimizer.adam.learning_rate: {float: [0.0, 0.1], log: true}"], None,
         "18:5: search.space[training.optimizer.adam.learning_rate]: a log range needs low > 0. Received: "
         "float=[0.0, 0.1]"),
        (["params.units: {int: [0, 64]}"], None,
         "18:5: search.space[params.units]: with 0 (the low end) the spec is invalid: models.net.layers[hidden].dense."
         "units: expected a positive integer. Received: units=0"),
        (["models.net.layers[hidden].dense.activation: {choice: [relu, gleu]}"], None,
         "18:5: search.space[models.net.layers[hidden].dense.activation]: with \"gleu\" (a choice) the spec is "
         "invalid: models.net.layers[hidden].dense.activation: expected an activation name such as 'glu'. "
         "Received: activation='gleu'"),
        (["data.batch_size: {choice: [0, 32]}"], None,
         "18:5: search.space[data.batch_size]: with 0 (a choice) the spec is invalid: data.batch_size: "
         "expected a positive integer or an expression `${...}`. Received: batch_size=0"),
        (["training.batch_size: {choice: [16, 32]}"], None,
         "18:5: search.space[training.batch_size]: unknown search path: `batch_size` is not in training; a search "
         "changes values written in the spec: write it there first"),
        (["params.units: {int: [16, 64], float: [1, 2]}"], None,
         "18:5: search.space[params.units]: expected exactly one of `int: [low, high]`, `float: [low, high]` or "
         "`choice: [...]`. Received: int, float"),
        (["params.units: {int: [16, 64]}"], "val_acc",
         "16:14: search.objective: the runs never report `val_acc` (did you mean 'val_accuracy'?)"),
        (["params.units: {int: [16, 64]}"], "val_sparse_top_k_categorical_accuracy",
         None),
        (["params.units: {int: [16, 64]}"], "fd_digits",
         "16:14: search.objective: `fd_digits` is a generative score, but the spec computes none; add "
         "`training.evaluation` (see docs/metrics.md)"),
    ],
    ids=["unknown-path", "unknown-item", "names-a-mapping", "inverted", "empty", "one-choice", "step-misfit",
         "log-from-zero", "bound-invalid", "choice-invalid", "choice-against-schema", "default-not-written", "two-kinds", "objective-typo", "objective-class-metric",
         "objective-generative-without-evaluation"],
)
def test_bad_search_sections_get_one_line_at_the_entry(write_spec, space, objective, message):
    path, result = validate(write_spec, space, objective)
    if message is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}:{message}"]


def test_the_schema_rejects_unknown_samplers(write_spec):
    path = write_spec(SPEC.replace("  space:\n", "  sampler: bayes\n  space:\n    params.units: {int: [8, 16]}\n"))
    result = run_cli("validate", path)
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"{path}:17:12: search.sampler: expected one of tpe, random, grid. "
                                     "Received: sampler='bayes'")


def test_validate_checks_a_search_without_tensorflow_or_optuna(write_spec):
    path = write_spec(SPEC + "    params.units: {int: [8, 64], step: 8}\n")
    code = ("import sys; from kspec import builder; assert builder.validate(sys.argv[1]) == []; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'optuna') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
