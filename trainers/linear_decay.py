"""Learning rates held constant, then lowered linearly to near zero over the last epochs (Zhu et al. 2017).

CycleGAN trains 100 epochs at 0.0002 and then lowers the rate linearly over 100 more (sec. 7.1); pix2pix's
reference implementation schedules the same way. The translation trainers take this as their
`decay_epochs` option: `fit` adds a `LinearDecay` callback over the trainer's optimizers.
"""

import keras
import numpy as np


def decay_factor(epoch, epochs, decay_epochs):
    """The multiplier of the learning rate in `epoch` (0-based) of `epochs`, decaying over the last `decay_epochs`.

    It is 1 until the decay starts and then falls by `1 / (decay_epochs + 1)` per epoch, so the last epoch
    runs at `1 / (decay_epochs + 1)` of the rate: the rule of the CycleGAN reference implementation. A run
    shorter than `decay_epochs` decays over all its epochs.

    Example:
    >>> [round(decay_factor(epoch, 6, 3), 2) for epoch in range(6)]
    [1.0, 1.0, 1.0, 0.75, 0.5, 0.25]
    >>> [round(decay_factor(epoch, 2, 10), 2) for epoch in range(2)]
    [0.67, 0.33]
    """
    decay_epochs = min(decay_epochs, epochs)
    constant = epochs - decay_epochs
    return 1.0 - max(0, epoch + 1 - constant) / float(decay_epochs + 1)


def check_decay_epochs(decay_epochs):
    """Raises a Keras-style `ValueError` unless `decay_epochs` is an integer >= 0 (0: no decay).

    Example:
    >>> check_decay_epochs(100)
    """
    if not isinstance(decay_epochs, int) or isinstance(decay_epochs, bool) or decay_epochs < 0:
        raise ValueError(f"Invalid value for argument `decay_epochs`: expected an integer >= 0. "
                         f"Received: decay_epochs={decay_epochs!r}")


def constant_learning_rates(optimizers):
    """The learning rates of `optimizers`, refusing a learning-rate schedule (the decay sets the rate itself).

    Example:
    >>> constant_learning_rates([keras.optimizers.Adam(2e-4)])
    [0.0002]
    """
    rates = []
    for optimizer in optimizers:
        if isinstance(optimizer.get_config()["learning_rate"], dict):
            raise ValueError("Invalid value for argument `decay_epochs`: the linear decay sets the learning rate "
                             "itself and needs optimizers with a constant one; drop `learning_rate_schedule` or set "
                             "`decay_epochs: 0`. Received: an optimizer with a learning-rate schedule")
        # The shortest decimal of the float32 variable: 0.0002 rather than 0.000199999995.
        rates.append(float(str(np.float32(optimizer.learning_rate))))
    return rates


class LinearDecay(keras.callbacks.Callback):
    """Sets each optimizer's learning rate to its base rate times `decay_factor` at the start of every epoch.

    The rate follows from the epoch number alone, so a resumed run (`fit(initial_epoch=k)`) continues the same
    schedule. At the end of an epoch the rate used is logged as `learning_rate` (it reaches `metrics.csv`
    when this callback comes before the checkpoint callback, as trainers place it).

    Args:
        optimizers: the optimizers to schedule.
        base_rates: their learning rates before decay, one per optimizer.
        decay_epochs: epochs at the end of `fit` over which the rates fall.

    Example:
    >>> optimizer = keras.optimizers.SGD(0.1)
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=optimizer, loss="mse")
    >>> history = model.fit(np.zeros((1, 1)), np.zeros((1, 1)), epochs=4, verbose=0,
    ...                     callbacks=[LinearDecay([optimizer], [0.1], decay_epochs=2)])
    >>> [round(rate, 4) for rate in history.history["learning_rate"]]
    [0.1, 0.1, 0.0667, 0.0333]
    """

    def __init__(self, optimizers, base_rates, decay_epochs):
        super().__init__()
        check_decay_epochs(decay_epochs)
        self.optimizers = list(optimizers)
        self.base_rates = list(base_rates)
        self.decay_epochs = decay_epochs
        self.factor = 1.0

    def on_epoch_begin(self, epoch, logs=None):
        self.factor = decay_factor(epoch, self.params["epochs"], self.decay_epochs)
        for optimizer, rate in zip(self.optimizers, self.base_rates):
            optimizer.learning_rate = rate * self.factor

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.base_rates[0] * self.factor


def with_linear_decay(trainer, callbacks):
    """`callbacks` with a `LinearDecay` over the trainer's optimizers in front when it has `decay_epochs`."""
    callbacks = list(callbacks or [])
    if trainer.decay_epochs:
        optimizers = trainer.decayed_optimizers()
        callbacks.insert(0, LinearDecay(optimizers, trainer.base_learning_rates, trainer.decay_epochs))
    return callbacks
