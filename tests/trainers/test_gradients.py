import keras
import numpy as np

from kspec.trainers import gradients


def test_minimize_updates_only_the_given_variables():
    a, b = keras.Variable(2.0), keras.Variable(5.0)
    loss, extras = gradients.minimize(keras.optimizers.SGD(0.1), lambda: (a * a * b, "extra"), [a])
    assert float(loss) == 20.0 and extras == "extra"
    np.testing.assert_allclose(float(a), 2.0 - 0.1 * 2 * 2 * 5)  # d(a^2 b)/da = 2ab = 20
    assert float(b) == 5.0


def test_input_gradients_are_differentiable_for_penalties():
    w = keras.Variable(3.0)

    def penalty():
        x = keras.ops.convert_to_tensor([[1.0, 2.0]])
        g = gradients.input_gradients(lambda t: w * keras.ops.sum(t * t), x)  # 2 w x
        return keras.ops.sum(g), ()

    # sum(2 w x) = 6 w; its derivative with respect to w is 6.
    gradients.minimize(keras.optimizers.SGD(1.0), penalty, [w])
    np.testing.assert_allclose(float(w), 3.0 - 6.0)
