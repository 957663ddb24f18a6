"""Entropy, mutual information (BALD) and spread of MC samples, against closed forms."""

import numpy as np
import pytest

from kspec.inspection.uncertainty import classification_summary, entropy, regression_summary


@pytest.mark.parametrize("probabilities, nats", [
    ([1.0, 0.0, 0.0], 0.0),
    ([0.5, 0.5], np.log(2)),
    ([0.25] * 4, np.log(4)),
    ([0.9, 0.1], -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))),
])
def test_entropy_in_nats(probabilities, nats):
    assert entropy(np.array(probabilities)) == pytest.approx(nats)


def test_mutual_information_is_total_minus_expected_entropy():
    # Two passes: [0.8, 0.2] and [0.4, 0.6]; mean [0.6, 0.4].
    samples = np.array([[[0.8, 0.2], [0.4, 0.6]]])
    summary = classification_summary(samples)
    total = -(0.6 * np.log(0.6) + 0.4 * np.log(0.4))
    expected = (entropy(np.array([0.8, 0.2])) + entropy(np.array([0.4, 0.6]))) / 2
    assert summary["entropy"][0] == pytest.approx(total)
    assert summary["mutual_information"][0] == pytest.approx(total - expected)
    assert summary["predicted"].tolist() == [0]
    np.testing.assert_allclose(summary["probabilities"], [[0.6, 0.4]])


def test_bald_is_zero_for_a_model_without_dropout():
    import keras

    from kspec.inspection.mc_dropout import monte_carlo_predict

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(16, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(hidden))
    x = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    summary = classification_summary(monte_carlo_predict(model, x, 10)[0])
    np.testing.assert_allclose(summary["mutual_information"], 0.0, atol=1e-6)
    assert np.all(summary["entropy"] > 0.01)  # uncertain predictions, yet no disagreement between passes


def test_single_sigmoid_unit_is_read_as_two_classes():
    summary = classification_summary(np.array([[[0.9], [0.7]]]))
    np.testing.assert_allclose(summary["probabilities"], [[0.2, 0.8]])
    assert summary["predicted"].tolist() == [1]


def test_regression_summary_is_mean_and_population_deviation():
    summary = regression_summary(np.array([[[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]]]))
    np.testing.assert_allclose(summary["mean"], [[3.0, 10.0]])
    np.testing.assert_allclose(summary["stddev"], [[np.sqrt(8 / 3), 0.0]])
