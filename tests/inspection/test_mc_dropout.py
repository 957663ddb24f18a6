"""MC dropout: dropout layers active over vectorized passes, BatchNormalization and the rest in inference mode."""

import numpy as np
import pytest

from kspec.inspection.mc_dropout import (activations_per_example, dropout_layers, moments_model, monte_carlo_model,
                                         monte_carlo_predict, samples_per_call, with_dropout_active)


def batch_norm_then_dropout(rate=0.5):
    """x -> BatchNormalization with moving statistics far from any batch's -> Dropout -> identity output."""
    import keras

    inputs = keras.Input((6,), name="x")
    normalized = keras.layers.BatchNormalization(epsilon=0.0, name="bn")(inputs)
    model = keras.Model(inputs, keras.layers.Dropout(rate, name="drop")(normalized))
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.full(6, 5.0, "float32"))
    bn.moving_variance.assign(np.full(6, 4.0, "float32"))
    return model


def test_mc_passes_differ_while_batch_normalization_stays_in_inference_mode():
    model = batch_norm_then_dropout()
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    samples = monte_carlo_predict(model, x, 8, batch_size=16)[0]  # (16, 8, 6)
    assert samples.shape == (16, 8, 6)
    # Inference-mode BN gives (x - 5) / 2; dropout at rate 0.5 zeroes an entry or doubles it. Training-mode BN
    # would normalize by this batch's mean and deviation instead, and no kept entry would equal x - 5.
    kept = samples != 0
    expected = np.broadcast_to((x - 5.0)[:, None, :], samples.shape)
    np.testing.assert_allclose(samples[kept], expected[kept], rtol=1e-5)
    assert 0.3 < kept.mean() < 0.7
    assert not np.array_equal(samples[:, 0], samples[:, 1])  # the passes draw different masks
    bn = model.get_layer("bn")
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 5.0)  # the moving statistics never move
    np.testing.assert_array_equal(bn.moving_variance.numpy(), 4.0)


def test_copy_shares_weights_and_leaves_the_original_deterministic():
    model = batch_norm_then_dropout()
    active = with_dropout_active(model)
    assert {id(w) for w in active.weights} == {id(w) for w in model.weights}
    x = np.ones((4, 6), "float32")
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict_on_batch(x))
    assert np.any(active.predict_on_batch(x) == 0)


def small_classifier(dropout):
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((5,), name="x")
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    hidden = keras.layers.BatchNormalization()(hidden)
    if dropout:
        hidden = keras.layers.Dropout(0.3)(hidden)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="p")(hidden))


def test_one_pass_of_a_model_without_dropout_equals_the_plain_prediction():
    model = small_classifier(dropout=False)
    x = np.random.default_rng(2).normal(size=(10, 5)).astype("float32")
    samples = monte_carlo_predict(model, x, 1, batch_size=4)[0]
    np.testing.assert_allclose(samples[:, 0], model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("samples_that_fit, calls", [(7, 1), (2, 4)])
def test_passes_are_batched_into_as_few_calls_as_memory_allows(samples_that_fit, calls, monkeypatch):
    import keras

    model = small_classifier(dropout=True)
    x = np.random.default_rng(3).normal(size=(6, 5)).astype("float32")
    # The budget of samples_that_fit passes of the 6 rows, at 2 copies of 4-byte floats per activation.
    memory_bytes = samples_that_fit * 6 * 2 * 4 * activations_per_example(model)
    counted = []
    call = keras.Model.predict_on_batch
    monkeypatch.setattr(keras.Model, "predict_on_batch", lambda self, b: counted.append(len(b)) or call(self, b))
    samples = monte_carlo_predict(model, x, 7, batch_size=6, memory_bytes=memory_bytes)[0]
    assert samples.shape == (6, 7, 3)
    # The batch is tiled inside the graph: one call draws all 7 passes, or 4 calls draw 2 each (8, 7 kept).
    assert counted == [6] * calls
    assert len({tuple(np.round(s, 6)) for s in samples[0]}) == 7  # each of the 7 passes differs


def test_samples_per_call_follows_the_memory_budget():
    model = small_classifier(dropout=True)
    per_row = samples_per_call(model, 10**6, 1, memory_bytes=10**12)
    assert samples_per_call(model, 50, 10) == 50
    assert samples_per_call(model, 10**6, 1, memory_bytes=10**5) < per_row
    assert samples_per_call(model, 50, 10, memory_bytes=1) == 1


def test_dropout_inside_nested_models_and_recurrent_layers_is_found_and_activated():
    import keras

    inner_inputs = keras.Input((4, 3))
    inner = keras.Model(inner_inputs, keras.layers.LSTM(5, dropout=0.5, name="lstm")(inner_inputs), name="inner")
    inputs = keras.Input((4, 3))
    outer = keras.Model(inputs, keras.layers.Dense(2, name="out")(inner(inputs)))
    assert [layer.name for layer in dropout_layers(outer)] == ["lstm"]
    x = np.ones((2, 4, 3), "float32")
    samples = monte_carlo_model(outer, 6).predict_on_batch(x)
    assert samples.shape == (2, 6, 2) and not np.allclose(samples[:, 0], samples[:, 1])
    assert not dropout_layers(small_classifier(dropout=False))


def test_moments_model_returns_the_mean_and_deviation_of_its_passes():
    model = batch_norm_then_dropout(rate=0.5)
    x = np.full((3, 6), 7.0, "float32")  # BN gives 1; each pass 0 or 2: mean 1, deviation 1 in the limit
    moments = moments_model(model, 4000, ["y"]).predict_on_batch(x)
    assert sorted(moments) == ["y_mean", "y_stddev"]
    np.testing.assert_allclose(moments["y_mean"], 1.0, atol=0.1)
    np.testing.assert_allclose(moments["y_stddev"], 1.0, atol=0.05)
