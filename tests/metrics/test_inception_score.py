"""Inception Score on predictions whose score is known in closed form."""

import numpy as np
import pytest

from kspec.errors import SpecError
from kspec.metrics.inception_score import inception_score


def test_uniform_predictions_score_one():
    score = inception_score(np.full((100, 10), 0.1))
    assert score.value == pytest.approx(1.0, abs=1e-12)
    assert score.std == pytest.approx(0.0, abs=1e-12)
    assert (score.name, score.n) == ("inception_score", 100)


def test_identical_confident_predictions_score_one():
    assert inception_score(np.tile(np.eye(5)[2], (50, 1)), splits=5).value == pytest.approx(1.0)


def test_confident_balanced_predictions_score_the_number_of_classes():
    probs = np.eye(10)[np.arange(1000) % 10]
    assert inception_score(probs, splits=1).value == pytest.approx(10.0, rel=1e-12)


def test_confident_predictions_never_score_above_the_number_of_classes():
    # Shuffled parts are not exactly balanced, so each scores at most the number of classes.
    probs = np.eye(4)[np.arange(400) % 4]
    score = inception_score(probs, splits=10, seed=0)
    assert 3.5 < score.value <= 4.0 + 1e-12


def test_matches_the_definition_for_random_predictions():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(30, 7)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    marginal = probs.mean(axis=0)
    expected = np.exp(np.mean(np.sum(probs * (np.log(probs) - np.log(marginal)), axis=1)))
    assert inception_score(probs, splits=1).value == pytest.approx(expected, rel=1e-12)


def test_shuffle_is_seeded_and_std_is_population_std():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.full(5, 0.3), size=60)
    first, again = inception_score(probs, splits=3, seed=7), inception_score(probs, splits=3, seed=7)
    assert first == again
    shuffled = probs[np.random.default_rng(7).permutation(60)]
    parts = [inception_score(shuffled[i * 20 : (i + 1) * 20], splits=1).value for i in range(3)]
    assert first.value == pytest.approx(np.mean(parts), rel=1e-12)
    assert first.std == pytest.approx(np.std(parts), rel=1e-12)


PROBABILITIES = "`probs` must hold probabilities: non-negative rows summing to 1 (apply softmax to logits first)"


@pytest.mark.parametrize(
    "probs, splits, message",
    [
        (np.full((5, 3), 1 / 3), 6, "`splits` must be an integer between 1 and the number of samples (5). "
                                    "Received: splits=6"),
        (np.full((5, 3), 2.0), 1, PROBABILITIES),
        (np.full((5, 2), 0.75), 1, PROBABILITIES),  # rows summing to 1.5
        (np.tile([1.5, -0.5], (5, 1)), 1, PROBABILITIES),  # rows sum to 1, but one entry is negative
        (np.ones(5), 1, "`probs` must have shape (samples, classes) with classes >= 2. Received: shape=(5,)"),
        (np.ones((5, 1)), 1, "`probs` must have shape (samples, classes) with classes >= 2. Received: shape=(5, 1)"),
    ],
)
def test_invalid_inputs_are_refused(probs, splits, message):
    with pytest.raises(SpecError) as caught:
        inception_score(probs, splits=splits)
    assert str(caught.value) == message


def test_defaults_are_ten_splits_and_seed_zero():
    probs = np.random.default_rng(2).dirichlet(np.full(4, 0.5), size=50)
    assert inception_score(probs) == inception_score(probs, splits=10, seed=0, name="inception_score")
    assert inception_score(probs) != inception_score(probs, splits=11, seed=0)
    assert inception_score(probs) != inception_score(probs, splits=10, seed=1)


def test_edge_cases_that_are_allowed():
    # Two classes, as many splits as samples, and rows off 1 by rounding (renormalized, not refused).
    probs = np.random.default_rng(3).dirichlet(np.ones(2), size=6)
    assert inception_score(probs, splits=6).value == pytest.approx(1.0)  # one sample per part: p(y) = p(y|x)
    renormalized = inception_score(probs * 1.0005, splits=2).value
    assert renormalized == pytest.approx(inception_score(probs, splits=2).value, rel=1e-12)


def test_single_precision_probabilities_are_computed_in_double_precision():
    probs = np.random.default_rng(4).dirichlet(np.full(10, 0.2), size=40).astype(np.float32)
    as_double = probs.astype(np.float64)
    assert inception_score(probs, splits=2).value == inception_score(as_double, splits=2).value
